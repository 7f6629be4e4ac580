/**
 * Block and inode allocation (fs/ext2/balloc.c, ialloc.c, much simplified): bitmaps, group
 * descriptor counts and superblock counts change together. A block freed by a transaction that
 * is not yet durable is not handed out again (ext4 releases freed blocks only from the commit
 * callback): reusing it for file data could overwrite what the old, still-committed state needs.
 */
import * as E from 'fp-ts/lib/Either.js';
import { clearBit, findClear, setBit, testBit } from './bitmap.js';
import type { FsCore } from './core.js';
import type { Errno } from './errno.js';
import { groupBlocks, groupFirstBlock, groupOfBlock } from './geometry.js';

/** Allocates one block, searching from `goal` onwards, group by group. */
export function allocBlock(core: FsCore, goal: number): E.Either<Errno, number> {
  const geo = core.geo;
  const g0 = goal >= geo.firstDataBlock && goal < geo.blocksCount ? groupOfBlock(geo, goal) : 0;
  for (let k = 0; k <= geo.groups; k++) {
    const g = (g0 + k) % geo.groups;
    const free = core.freeBlocksOf(g);
    if (free === 0) continue;
    const first = groupFirstBlock(geo, g);
    const n = groupBlocks(geo, g);
    const bitmap = core.blockBitmapOf(g);
    const bm = core.buffer(bitmap);
    if (!bm) return core.corrupt(`block bitmap of group ${g} is not loaded`);
    const from = k === 0 ? Math.max(0, goal - first) : 0;
    let i = findClearFor(core, bm, first, Math.min(from, n), n);
    if (i < 0 && from > 0) i = findClearFor(core, bm, first, 0, Math.min(from, n));
    if (i < 0) continue;
    setBit(core.access(bitmap, i >> 3, 1), i);
    core.setFreeBlocksOf(g, free - 1);
    core.adjustFree(-1, 0);
    return E.right(first + i);
  }
  return E.left('ENOSPC');
}

/**
 * The first block of [from, to) of the group starting at block `first` that is free in its
 * bitmap `bm` and may be handed out: not freed by a transaction that is not durable yet, not
 * metadata (a block bitmap that says otherwise is wrong). -1 when there is none.
 */
function findClearFor(core: FsCore, bm: Uint8Array, first: number, from: number, to: number): number {
  for (let i = findClear(bm, from, to); i >= 0; i = findClear(bm, i + 1, to)) {
    if (!core.pendingFree.has(first + i) && !core.reserved.has(first + i)) return i;
  }
  return -1;
}

export const validDataBlock = (core: FsCore, b: number): boolean =>
  Number.isInteger(b) && b >= core.geo.firstDataBlock && b < core.geo.blocksCount;

/** Frees one block (and unpins it if it was metadata). */
export function freeBlock(core: FsCore, b: number): E.Either<Errno, void> {
  if (!validDataBlock(core, b)) return core.corrupt(`freeing block ${b}, outside the file system`);
  if (core.reserved.has(b)) return core.corrupt(`freeing block ${b}, which holds file-system metadata`);
  const g = groupOfBlock(core.geo, b);
  const gd = core.gd(g);
  const i = b - groupFirstBlock(core.geo, g);
  const bm = core.buffer(gd.blockBitmap);
  if (!bm) return core.corrupt(`block bitmap of group ${g} is not loaded`);
  if (!testBit(bm, i)) return core.corrupt(`freeing block ${b}, which is already free`);
  clearBit(core.access(gd.blockBitmap, i >> 3, 1), i);
  core.putGd(g, { ...gd, freeBlocksCount: gd.freeBlocksCount + 1 });
  core.adjustFree(1, 0);
  core.deferFree(b);
  core.unpin(b);
  return E.right(undefined);
}

/**
 * Allocates an inode: a directory goes to the group with the most free inodes (spreading the
 * tree), anything else near its parent (find_group_other).
 */
export function allocInode(core: FsCore, parent: number, dir: boolean): E.Either<Errno, number> {
  const geo = core.geo;
  let g0 = Math.floor((parent - 1) / geo.inodesPerGroup);
  if (dir) {
    let best = -1;
    for (let g = 0; g < geo.groups; g++) {
      const f = core.gd(g).freeInodesCount;
      if (f > best) [best, g0] = [f, g];
    }
  }
  for (let k = 0; k < geo.groups; k++) {
    const g = (g0 + k) % geo.groups;
    const gd = core.gd(g);
    if (gd.freeInodesCount === 0) continue;
    const bm = core.buffer(gd.inodeBitmap);
    if (!bm) return core.corrupt(`inode bitmap of group ${g} is not loaded`);
    const i = findClear(bm, g === 0 ? geo.firstIno - 1 : 0, geo.inodesPerGroup);
    if (i < 0) continue;
    setBit(core.access(gd.inodeBitmap, i >> 3, 1), i);
    core.putGd(g, { ...gd, freeInodesCount: gd.freeInodesCount - 1, usedDirsCount: gd.usedDirsCount + (dir ? 1 : 0) });
    core.adjustFree(0, -1);
    return E.right(g * geo.inodesPerGroup + i + 1);
  }
  return E.left('ENOSPC');
}

export function freeInodeBit(core: FsCore, ino: number, dir: boolean): E.Either<Errno, void> {
  const g = Math.floor((ino - 1) / core.geo.inodesPerGroup);
  const i = (ino - 1) % core.geo.inodesPerGroup;
  const gd = core.gd(g);
  const bm = core.buffer(gd.inodeBitmap);
  if (!bm) return core.corrupt(`inode bitmap of group ${g} is not loaded`);
  if (!testBit(bm, i)) return core.corrupt(`freeing inode ${ino}, which is already free`);
  clearBit(core.access(gd.inodeBitmap, i >> 3, 1), i);
  core.putGd(g, { ...gd, freeInodesCount: gd.freeInodesCount + 1, usedDirsCount: Math.max(0, gd.usedDirsCount - (dir ? 1 : 0)) });
  core.adjustFree(0, 1);
  return E.right(undefined);
}
