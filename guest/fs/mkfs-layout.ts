/**
 * mkfs's decisions (mke2fs, much simplified): groups of 8·blocksize blocks; in each group the
 * superblock and descriptor-table backup (groups 0, 1 and powers of 3, 5, 7), the block bitmap,
 * the inode bitmap and the inode table, then data. The journal is one contiguous run of blocks in
 * the first group with room, followed by its indirect blocks.
 */
import * as E from 'fp-ts/lib/Either.js';
import { FsCore } from './core.js';
import { fsError, type FsError } from './errno.js';
import {
  GROUP_DESC_SIZE,
  NDIR_BLOCKS,
  groupHasSuper,
  superAndGdtBlocks,
  type Geometry,
} from './geometry.js';
import { Journal } from './journal.js';

export interface MkfsOptions {
  /** File-system size in blocks (at most the device's size). */
  readonly sizeBlocks: number;
  /** 1024, 2048 or 4096 (default 4096). */
  readonly blockSize?: number;
  /** Inodes wanted (rounded up to fill inode-table blocks); default one per 16 KiB. */
  readonly inodes?: number;
  /** Journal size in blocks; default 1/16 of the file system (at least what one operation needs). */
  readonly journalBlocks?: number;
  /** 256 (default: nanosecond timestamps) or 128. */
  readonly inodeSize?: number;
  readonly uuid?: Uint8Array;
  readonly volumeName?: string;
  /** Virtual time of creation, in ns. */
  readonly now?: number;
}

export interface GroupLayout {
  readonly first: number;
  readonly blocks: number;
  readonly superAndGdt: number[];
  readonly blockBitmap: number;
  readonly inodeBitmap: number;
  readonly inodeTable: number;
  readonly dataStart: number;
}

export interface MkfsLayout {
  readonly geo: Geometry;
  readonly groups: GroupLayout[];
  readonly journalStart: number;
  readonly journalBlocks: number;
  /** Indirect blocks of the journal inode, right after the journal. */
  readonly journalIndirect: number[];
}

/** Indirect blocks an inode of `n` contiguous blocks needs. */
export function indirectBlocksFor(n: number, ptrs: number): number {
  if (n <= NDIR_BLOCKS) return 0;
  if (n <= NDIR_BLOCKS + ptrs) return 1;
  return 2 + Math.ceil((n - NDIR_BLOCKS - ptrs) / ptrs);
}

export function planLayout(o: MkfsOptions, deviceBytes: number): E.Either<FsError, MkfsLayout> {
  const bs = o.blockSize ?? 4096;
  if (bs !== 1024 && bs !== 2048 && bs !== 4096) return E.left(fsError('EINVAL', `mkfs: invalid block size ${bs} (1024, 2048 or 4096)`));
  const isz = o.inodeSize ?? 256;
  if (isz !== 128 && isz !== 256) return E.left(fsError('EINVAL', `mkfs: invalid inode size ${isz} (128 or 256)`));
  let size = o.sizeBlocks;
  if (!Number.isInteger(size) || size <= 0) return E.left(fsError('EINVAL', `mkfs: invalid size ${size} blocks`));
  if (size * bs > deviceBytes)
    return E.left(fsError('EINVAL', `mkfs: ${size} blocks of ${bs} bytes exceed the device (${Math.floor(deviceBytes / bs)} blocks)`));
  const fdb = bs === 1024 ? 1 : 0;
  const bpg = 8 * bs;
  const ipb = bs / isz;
  let groups = Math.ceil((size - fdb) / bpg);
  const wanted = o.inodes ?? Math.max(32, Math.floor((size * bs) / 16384));
  // A multiple of the inodes per block and of 8 (e2fsprogs reads inode bitmaps in whole bytes).
  const unit = Math.max(ipb, 8);
  const ipg = Math.min(8 * bs, Math.max(16, Math.ceil(Math.ceil(wanted / groups) / unit) * unit));
  const itb = (ipg * isz) / bs;
  const gdtBlocks = Math.ceil((groups * GROUP_DESC_SIZE) / bs);
  const overhead = (g: number): number => (groupHasSuper({ sparseSuper: true }, g) ? 1 + gdtBlocks : 0) + 2 + itb;
  const lastSize = size - fdb - (groups - 1) * bpg;
  if (groups > 1 && lastSize < overhead(groups - 1) + 50) {
    groups--;
    size = fdb + groups * bpg;
  }
  if (size - fdb < overhead(0) + 16) return E.left(fsError('EINVAL', `mkfs: ${size} blocks is too small for a file system`));
  const ptrs = bs / 4;
  const geo: Geometry = {
    blockSize: bs,
    blocksCount: size,
    inodesCount: ipg * groups,
    firstDataBlock: fdb,
    blocksPerGroup: bpg,
    inodesPerGroup: ipg,
    groups,
    inodeSize: isz,
    inodesPerBlock: ipb,
    itableBlocks: itb,
    gdtBlocks: Math.ceil((groups * GROUP_DESC_SIZE) / bs),
    ptrsPerBlock: ptrs,
    firstIno: 11,
    sparseSuper: true,
    maxFileBlocks: NDIR_BLOCKS + ptrs + ptrs * ptrs,
  };
  const layouts: GroupLayout[] = [];
  for (let g = 0; g < groups; g++) {
    const first = fdb + g * bpg;
    const sg = superAndGdtBlocks(geo, g);
    const bb = sg.length > 0 ? sg[sg.length - 1] + 1 : first;
    layouts.push({
      first,
      blocks: Math.min(bpg, size - first),
      superAndGdt: sg,
      blockBitmap: bb,
      inodeBitmap: bb + 1,
      inodeTable: bb + 2,
      dataStart: bb + 2 + itb,
    });
  }
  const minJournal = Journal.minLogBlocks(FsCore.creditsFor(geo).free, bs) + 1;
  const j = o.journalBlocks ?? Math.max(minJournal, Math.min(32768, size < 32768 ? Math.floor(size / 16) : Math.max(1024, Math.floor(size / 64))));
  if (!Number.isInteger(j) || j < minJournal)
    return E.left(fsError('EINVAL', `mkfs: journal of ${j} blocks is too small (at least ${minJournal})`));
  if (j > geo.maxFileBlocks) return E.left(fsError('EINVAL', `mkfs: journal of ${j} blocks is too large`));
  const nInd = indirectBlocksFor(j, ptrs);
  // Room for the journal, its indirect blocks, and the root and lost+found directory blocks.
  const home = layouts.find((l) => l.first + l.blocks - l.dataStart >= j + nInd + 2);
  if (!home) return E.left(fsError('EINVAL', `mkfs: no block group has room for a journal of ${j} blocks`));
  const journalIndirect = Array.from({ length: nInd }, (_, i) => home.dataStart + j + i);
  return E.right({ geo, groups: layouts, journalStart: home.dataStart, journalBlocks: j, journalIndirect });
}
