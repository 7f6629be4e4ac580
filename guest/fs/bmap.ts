/**
 * The block map (fs/ext2/inode.c: ext2_get_block, ext2_truncate_blocks): file block → disk block
 * through 12 direct pointers, a single and a double indirect block. Holes are zero pointers.
 * Indirect blocks (and directory blocks) are metadata: pinned and journaled; file data blocks
 * are not — the caller writes them, before the transaction that maps them commits.
 */
import * as E from 'fp-ts/lib/Either.js';
import { allocBlock, freeBlock, validDataBlock } from './alloc.js';
import { le32, setLe32 } from './bytes.js';
import type { FsCore } from './core.js';
import type { Errno } from './errno.js';
import { blockPathInto, DIND_BLOCK, groupFirstBlock, IND_BLOCK, NDIR_BLOCKS } from './geometry.js';
import type { InodeBlockMap } from './inode.js';

export interface BmapResult {
  /** The disk block, 0 for a hole. */
  readonly block: number;
  /** Newly allocated by this call: its contents on disk are garbage until the caller writes it. */
  readonly fresh: boolean;
}

/* Paths through the block map, reused: one for lookups, one for allocations (which look up the goal). */
const LOOKUP_PATH: number[] = [0, 0, 0];
const ALLOC_PATH: number[] = [0, 0, 0];

/** The disk block of file block `n` of `inode` (0 for a hole or past the map's reach). */
export function bmapLookup(core: FsCore, inode: InodeBlockMap, n: number): E.Either<Errno, number> {
  const path = LOOKUP_PATH;
  const depth = blockPathInto(core.geo, n, path);
  if (depth === 0) return E.right(0);
  let ptr = inode.block[path[0]];
  for (let lvl = 1; lvl < depth && ptr !== 0; lvl++) {
    const buf = core.buffer(ptr);
    if (!buf || core.reserved.has(ptr)) return core.corrupt(`indirect block ${ptr} is out of range, unreadable or metadata`);
    ptr = le32(buf, path[lvl] * 4);
  }
  if (ptr !== 0 && !validDataBlock(core, ptr)) return core.corrupt(`block pointer ${ptr} is outside the file system`);
  if (ptr !== 0 && core.reserved.has(ptr)) return core.corrupt(`block pointer ${ptr} points into file-system metadata`);
  return E.right(ptr);
}

/** A goal for a new block of file block n: after the previous block, else the inode's group. */
function goalFor(core: FsCore, ino: number, inode: InodeBlockMap, n: number): number {
  if (n > 0) {
    const prev = bmapLookup(core, inode, n - 1);
    if (E.isRight(prev) && prev.right !== 0) return prev.right + 1;
  }
  return groupFirstBlock(core.geo, Math.floor((ino - 1) / core.geo.inodesPerGroup));
}

/**
 * Maps file block `n`, allocating it (and the indirect blocks on the way) if it is a hole.
 * `meta`: the new block is metadata (a directory block) and is pinned, zeroed. Updates `inode`
 * in place (pointers, i_blocks); the caller writes the inode back. `knownGoal`: the goal when
 * the caller knows what looking it up would give (file block n - 1 was just allocated).
 */
export function bmapAlloc(core: FsCore, ino: number, inode: InodeBlockMap, n: number, meta: boolean, knownGoal?: number): E.Either<Errno, BmapResult> {
  const path = ALLOC_PATH;
  const depth = blockPathInto(core.geo, n, path);
  if (depth === 0) return E.left('EFBIG');
  let goal = knownGoal ?? goalFor(core, ino, inode, n);
  let ptr = inode.block[path[0]];
  if (ptr === 0) {
    const b = allocFor(core, inode, goal, depth > 1 || meta);
    if (E.isLeft(b)) return b;
    ptr = b.right;
    goal = ptr + 1;
    inode.block[path[0]] = ptr;
    if (depth === 1) return E.right({ block: ptr, fresh: true });
  } else if (depth === 1) return E.right({ block: ptr, fresh: false });
  for (let lvl = 1; lvl < depth; lvl++) {
    const last = lvl === depth - 1;
    if (!core.buffer(ptr) || core.reserved.has(ptr)) return core.corrupt(`indirect block ${ptr} is out of range, unreadable or metadata`);
    const child = le32(core.buffer(ptr) as Uint8Array, path[lvl] * 4);
    if (child !== 0) {
      if (last) return E.right({ block: child, fresh: false });
      ptr = child;
      continue;
    }
    const b = allocFor(core, inode, goal, !last || meta);
    if (E.isLeft(b)) return b;
    goal = b.right + 1;
    setLe32(core.access(ptr, path[lvl] * 4, 4), path[lvl] * 4, b.right);
    if (last) return E.right({ block: b.right, fresh: true });
    ptr = b.right;
  }
  throw new Error('fs: bmapAlloc fell through');
}

/** A block for `inode` near `goal`, counted in its i_blocks; pinned (zeroed metadata) when `pinIt`. */
function allocFor(core: FsCore, inode: InodeBlockMap, goal: number, pinIt: boolean): E.Either<Errno, number> {
  const b = allocBlock(core, goal);
  if (E.isRight(b)) {
    inode.blocks += core.geo.blockSize / 512;
    if (pinIt) core.pin(b.right);
  }
  return b;
}

/**
 * Frees every block of `inode` at file block `from` or beyond, and the indirect blocks whose
 * whole range lies beyond it. Updates `inode` in place.
 */
export function truncateBlocks(core: FsCore, inode: InodeBlockMap, from: number): E.Either<Errno, void> {
  const sectors = core.geo.blockSize / 512;
  const p = core.geo.ptrsPerBlock;
  const release = (b: number): E.Either<Errno, void> => {
    inode.blocks = Math.max(0, inode.blocks - sectors);
    return freeBlock(core, b);
  };
  // Frees the entries of indirect block `ptr` (covering file blocks from `base`, `span` per entry)
  // at or past `from`; returns whether `ptr` itself was freed.
  const tree = (ptr: number, depth: number, base: number): E.Either<Errno, boolean> => {
    const span = p ** (depth - 1);
    const buf = core.buffer(ptr);
    if (!buf || core.reserved.has(ptr)) return core.corrupt(`indirect block ${ptr} is out of range, unreadable or metadata`);
    for (let i = 0; i < p; i++) {
      const childBase = base + i * span;
      if (childBase + span <= from) continue;
      const child = le32(buf, i * 4);
      if (child === 0) continue;
      let gone: E.Either<Errno, boolean>;
      if (depth === 1) {
        const r = release(child);
        gone = E.isLeft(r) ? r : E.right(true);
      } else gone = tree(child, depth - 1, childBase);
      if (E.isLeft(gone)) return gone;
      if (gone.right && base < from) setLe32(core.access(ptr, i * 4, 4), i * 4, 0);
    }
    if (base < from) return E.right(false);
    const r = release(ptr);
    return E.isLeft(r) ? r : E.right(true);
  };
  for (let i = Math.max(0, from); i < NDIR_BLOCKS; i++) {
    if (inode.block[i] === 0) continue;
    const r = release(inode.block[i]);
    if (E.isLeft(r)) return r;
    inode.block[i] = 0;
  }
  const tops: [number, number, number][] = [
    [IND_BLOCK, 1, NDIR_BLOCKS],
    [DIND_BLOCK, 2, NDIR_BLOCKS + p],
  ];
  for (const [slot, depth, base] of tops) {
    if (inode.block[slot] === 0 || base + p ** depth <= from) continue;
    const r = tree(inode.block[slot], depth, base);
    if (E.isLeft(r)) return r;
    if (r.right) inode.block[slot] = 0;
  }
  return E.right(undefined);
}

/** Every data block of a file in file order, holes skipped: [file block, disk block]. */
export function mappedBlocks(core: FsCore, inode: InodeBlockMap, limit: number): E.Either<Errno, [number, number][]> {
  const out: [number, number][] = [];
  for (let n = 0; n < limit; n++) {
    const b = bmapLookup(core, inode, n);
    if (E.isLeft(b)) return b;
    if (b.right !== 0) out.push([n, b.right]);
  }
  return E.right(out);
}
