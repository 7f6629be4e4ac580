/**
 * Where things are: the geometry of a file system, derived from a superblock that passed
 * checkSuperblock, and the block-map arithmetic of ext2 (12 direct pointers, one single and one
 * double indirect block; the triple indirect slot is kept on disk but never used).
 */
import { blockSizeOf, RO_COMPAT_SPARSE_SUPER, type Superblock } from './superblock.js';

export const GROUP_DESC_SIZE = 32;
export const NDIR_BLOCKS = 12;
export const IND_BLOCK = 12;
export const DIND_BLOCK = 13;
export const TIND_BLOCK = 14;
export const N_BLOCKS = 15;

export const ROOT_INO = 2;
export const JOURNAL_INO = 8;
export const LOST_FOUND_INO = 11;
export const FIRST_INO = 11;
/** ext2's EXT2_LINK_MAX. */
export const LINK_MAX = 32000;
export const NAME_MAX = 255;
export const PATH_MAX = 4096;

export interface Geometry {
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly inodesCount: number;
  readonly firstDataBlock: number;
  readonly blocksPerGroup: number;
  readonly inodesPerGroup: number;
  readonly groups: number;
  readonly inodeSize: number;
  readonly inodesPerBlock: number;
  /** Blocks of inode table in each group. */
  readonly itableBlocks: number;
  readonly gdtBlocks: number;
  readonly ptrsPerBlock: number;
  readonly firstIno: number;
  readonly sparseSuper: boolean;
  /** File blocks reachable through direct, single and double indirect pointers. */
  readonly maxFileBlocks: number;
}

export function geometryOf(sb: Superblock): Geometry {
  const blockSize = blockSizeOf(sb);
  const groups = Math.ceil((sb.blocksCount - sb.firstDataBlock) / sb.blocksPerGroup);
  const ptrs = blockSize / 4;
  return {
    blockSize,
    blocksCount: sb.blocksCount,
    inodesCount: sb.inodesCount,
    firstDataBlock: sb.firstDataBlock,
    blocksPerGroup: sb.blocksPerGroup,
    inodesPerGroup: sb.inodesPerGroup,
    groups,
    inodeSize: sb.inodeSize,
    inodesPerBlock: blockSize / sb.inodeSize,
    itableBlocks: Math.ceil((sb.inodesPerGroup * sb.inodeSize) / blockSize),
    gdtBlocks: Math.ceil((groups * GROUP_DESC_SIZE) / blockSize),
    ptrsPerBlock: ptrs,
    firstIno: sb.firstIno,
    sparseSuper: (sb.featureRoCompat & RO_COMPAT_SPARSE_SUPER) !== 0,
    maxFileBlocks: NDIR_BLOCKS + ptrs + ptrs * ptrs,
  };
}

const isPowerOf = (n: number, base: number): boolean => {
  let x = base;
  while (x < n) x *= base;
  return x === n;
};

/** Whether group g holds a backup superblock and descriptor table (ext2_bg_has_super). */
export function groupHasSuper(geo: Pick<Geometry, 'sparseSuper'>, g: number): boolean {
  if (g <= 1 || !geo.sparseSuper) return true;
  return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

export const groupFirstBlock = (geo: Geometry, g: number): number => geo.firstDataBlock + g * geo.blocksPerGroup;
/** Number of blocks in group g (the last group may be short). */
export const groupBlocks = (geo: Geometry, g: number): number =>
  Math.min(geo.blocksPerGroup, geo.blocksCount - groupFirstBlock(geo, g));
export const groupOfBlock = (geo: Geometry, block: number): number =>
  Math.floor((block - geo.firstDataBlock) / geo.blocksPerGroup);
export const groupOfInode = (geo: Geometry, ino: number): number => Math.floor((ino - 1) / geo.inodesPerGroup);

/** Blocks holding the superblock (or its backup) and the descriptor table in group g; empty if none. */
export function superAndGdtBlocks(geo: Geometry, g: number): number[] {
  if (!groupHasSuper(geo, g)) return [];
  const first = g === 0 ? (geo.blockSize === 1024 ? 1 : 0) : groupFirstBlock(geo, g);
  return Array.from({ length: 1 + geo.gdtBlocks }, (_, i) => first + i);
}

/** The block that holds the primary superblock (which sits at byte 1024). */
export const superblockBlock = (blockSize: number): number => (blockSize === 1024 ? 1 : 0);
/** Byte offset of the primary superblock inside its block. */
export const superblockOffsetInBlock = (blockSize: number): number => (blockSize === 1024 ? 0 : 1024);
/** First block of the primary group descriptor table. */
export const gdtFirstBlock = (blockSize: number): number => superblockBlock(blockSize) + 1;

/**
 * The path through the block map to file block `n`: the i_block slot, then the index in each
 * indirect block on the way. undefined past double indirect (EFBIG).
 */
export function blockPath(geo: Pick<Geometry, 'ptrsPerBlock'>, n: number): number[] | undefined {
  const p = geo.ptrsPerBlock;
  if (n < 0 || !Number.isInteger(n)) return undefined;
  if (n < NDIR_BLOCKS) return [n];
  n -= NDIR_BLOCKS;
  if (n < p) return [IND_BLOCK, n];
  n -= p;
  if (n < p * p) return [DIND_BLOCK, Math.floor(n / p), n % p];
  return undefined;
}

/**
 * `blockPath` written into `out` (no array made per call): its length, 0 past double
 * indirect. For the block map's lookups, run for every block the page cache maps.
 */
export function blockPathInto(geo: Pick<Geometry, 'ptrsPerBlock'>, n: number, out: number[]): number {
  const p = geo.ptrsPerBlock;
  if (n < 0 || !Number.isInteger(n)) return 0;
  if (n < NDIR_BLOCKS) {
    out[0] = n;
    return 1;
  }
  n -= NDIR_BLOCKS;
  if (n < p) {
    out[0] = IND_BLOCK;
    out[1] = n;
    return 2;
  }
  n -= p;
  if (n < p * p) {
    out[0] = DIND_BLOCK;
    out[1] = Math.floor(n / p);
    out[2] = n % p;
    return 3;
  }
  return 0;
}

/** The first file block covered by i_block slot `slot` (12 → single, 13 → double). */
export function slotFirstFileBlock(geo: Pick<Geometry, 'ptrsPerBlock'>, slot: number): number {
  if (slot < NDIR_BLOCKS) return slot;
  if (slot === IND_BLOCK) return NDIR_BLOCKS;
  return NDIR_BLOCKS + geo.ptrsPerBlock;
}

/** Number of file blocks an indirect tree of `depth` levels covers (depth 0: one data block). */
export const spanOfDepth = (ptrs: number, depth: number): number => ptrs ** depth;
