/**
 * fsck pass 1 (e2fsck pass1.c): every inode the bitmap says is in use — its type, links, dtime,
 * and a walk of its block map claiming each block once: pointers must stay inside the file
 * system and out of the metadata areas; i_blocks and i_size must agree with what is mapped.
 */
import { testBit } from './bitmap.js';
import { le32 } from './bytes.js';
import { finding, type FsckFinding } from './fsck-report.js';
import { DIND_BLOCK, IND_BLOCK, JOURNAL_INO, NDIR_BLOCKS, ROOT_INO, TIND_BLOCK, type Geometry } from './geometry.js';
import type { GroupDesc } from './group-desc.js';
import { decodeInode, isDir, isReg, type Inode } from './inode.js';

export interface Pass1 {
  /** Inodes in use per the bitmap, decoded. */
  readonly inUse: Map<number, Inode>;
  /** Block → the inode that claimed it first. */
  readonly owner: Map<number, number>;
  /** Each directory's blocks in file order (holes as 0). */
  readonly dirBlocks: Map<number, number[]>;
}

export interface FsckImage {
  readonly geo: Geometry;
  readonly gds: GroupDesc[];
  block(b: number): Uint8Array;
  /** Blocks of superblocks, descriptor tables, bitmaps and inode tables. */
  readonly metadata: Set<number>;
}

export function inodeOf(img: FsckImage, ino: number): Inode {
  const { geo } = img;
  const g = Math.floor((ino - 1) / geo.inodesPerGroup);
  const idx = (ino - 1) % geo.inodesPerGroup;
  const b = img.block(img.gds[g].inodeTable + Math.floor(idx / geo.inodesPerBlock));
  return decodeInode(b, (idx % geo.inodesPerBlock) * geo.inodeSize, geo.inodeSize);
}

export function inodeBitSet(img: FsckImage, ino: number): boolean {
  const g = Math.floor((ino - 1) / img.geo.inodesPerGroup);
  return testBit(img.block(img.gds[g].inodeBitmap), (ino - 1) % img.geo.inodesPerGroup);
}

export function pass1(img: FsckImage, out: FsckFinding[]): Pass1 {
  const { geo } = img;
  const inUse = new Map<number, Inode>();
  const owner = new Map<number, number>();
  const dirBlocks = new Map<number, number[]>();
  for (let ino = 1; ino <= geo.inodesCount; ino++) {
    const i = inodeOf(img, ino);
    const checked = ino === ROOT_INO || ino === JOURNAL_INO || ino >= geo.firstIno;
    if (!inodeBitSet(img, ino)) {
      if (checked && i.linksCount > 0)
        out.push(finding('INODE_BITMAP', `inode ${ino} has ${i.linksCount} links but is marked free in the inode bitmap`, { ino }));
      continue;
    }
    if (!checked) continue;
    inUse.set(ino, i);
    if (i.linksCount === 0) out.push(finding('INODE_BITMAP', `inode ${ino} is marked in use but has no links`, { ino }));
    if (i.dtime !== 0) out.push(finding('INODE_DTIME', `inode ${ino} is in use but has dtime set`, { ino }));
    const dir = isDir(i);
    if (!dir && !isReg(i)) {
      out.push(finding('INODE_MODE', `inode ${ino} has unsupported mode 0${i.mode.toString(8)}`, { ino }));
      continue;
    }
    if (ino === ROOT_INO && !dir) out.push(finding('INODE_MODE', 'root inode is not a directory', { ino }));
    if (ino === JOURNAL_INO && !isReg(i)) out.push(finding('INODE_MODE', 'journal inode is not a regular file', { ino }));
    walkInode(img, ino, i, dir, owner, dirBlocks, out);
  }
  return { inUse, owner, dirBlocks };
}

function walkInode(
  img: FsckImage,
  ino: number,
  i: Inode,
  dir: boolean,
  owner: Map<number, number>,
  dirBlocks: Map<number, number[]>,
  out: FsckFinding[],
): void {
  const { geo } = img;
  const bs = geo.blockSize;
  const p = geo.ptrsPerBlock;
  let count = 0;
  let lastMapped = -1;
  const data: number[] = [];
  const claim = (b: number): boolean => {
    if (b < geo.firstDataBlock || b >= geo.blocksCount) {
      out.push(finding('BAD_BLOCK', `inode ${ino} points to block ${b}, outside the file system`, { ino, block: b }));
      return false;
    }
    if (img.metadata.has(b)) {
      out.push(finding('BLOCK_IN_METADATA', `inode ${ino} points to block ${b}, which holds file-system metadata`, { ino, block: b }));
      return false;
    }
    const prev = owner.get(b);
    if (prev !== undefined) {
      out.push(finding('DUP_BLOCK', `block ${b} is claimed by inode ${prev} and inode ${ino}`, { ino, block: b }));
      return false;
    }
    owner.set(b, ino);
    count++;
    return true;
  };
  const visit = (b: number, depth: number, first: number): void => {
    if (b === 0 || !claim(b)) return;
    if (depth === 0) {
      lastMapped = Math.max(lastMapped, first);
      if (dir) data[first] = b;
      return;
    }
    const buf = img.block(b);
    const span = p ** (depth - 1);
    for (let k = 0; k < p; k++) visit(le32(buf, 4 * k), depth - 1, first + k * span);
  };
  for (let k = 0; k < NDIR_BLOCKS; k++) visit(i.block[k], 0, k);
  visit(i.block[IND_BLOCK], 1, NDIR_BLOCKS);
  visit(i.block[DIND_BLOCK], 2, NDIR_BLOCKS + p);
  if (i.block[TIND_BLOCK] !== 0)
    out.push(finding('TRIPLE_INDIRECT', `inode ${ino} has a triple indirect block ${i.block[TIND_BLOCK]}, which this file system never uses`, { ino }));
  if (i.blocks !== (count * bs) / 512)
    out.push(finding('I_BLOCKS', `inode ${ino} has i_blocks ${i.blocks}, should be ${(count * bs) / 512}`, { ino }));
  const sizeBlocks = Math.ceil(i.size / bs);
  if (dir) {
    if (i.size === 0 || i.size % bs !== 0)
      out.push(finding('I_SIZE', `directory inode ${ino} has size ${i.size}, not a positive multiple of ${bs}`, { ino }));
    const list: number[] = [];
    for (let k = 0; k < sizeBlocks && k < geo.maxFileBlocks; k++) {
      list.push(data[k] ?? 0);
      if (!data[k]) out.push(finding('DIR_HOLE', `directory inode ${ino} has a hole at block ${k}`, { ino }));
    }
    dirBlocks.set(ino, list);
  }
  if (i.size > geo.maxFileBlocks * bs)
    out.push(finding('I_SIZE', `inode ${ino} has size ${i.size}, more than the block map can reach`, { ino }));
  if (lastMapped >= sizeBlocks)
    out.push(finding('I_SIZE', `inode ${ino} has a block mapped at file block ${lastMapped}, past its size ${i.size}`, { ino }));
}
