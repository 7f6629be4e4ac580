/**
 * Operations on an inode rather than a name: stat, the block map the page cache uses (bmap
 * with create = ext2_get_block), i_size updates after a write, truncate, statfs.
 */
import * as E from 'fp-ts/lib/Either.js';
import { testBit } from './bitmap.js';
import { bmapAlloc, bmapLookup, truncateBlocks, type BmapResult } from './bmap.js';
import type { FsCore } from './core.js';
import type { Errno } from './errno.js';
import { NAME_MAX } from './geometry.js';
import { inodeLinksCount, inodeMode, isDir, isReg, nsToTime, S_IFMT, S_IFDIR, S_IFREG, timeToNs, type Inode, type InodeBlockMap } from './inode.js';

type R<T> = E.Either<Errno, T>;

export type FileKind = 'file' | 'dir' | 'other';

export interface Stat {
  readonly ino: number;
  readonly kind: FileKind;
  readonly mode: number;
  readonly nlink: number;
  readonly size: number;
  /** 512-byte sectors allocated (data and indirect blocks). */
  readonly blocks: number;
  readonly blksize: number;
  /** Virtual nanoseconds. */
  readonly atime: number;
  readonly mtime: number;
  readonly ctime: number;
}

export interface StatFs {
  readonly blockSize: number;
  readonly blocks: number;
  readonly freeBlocks: number;
  readonly availBlocks: number;
  readonly files: number;
  readonly freeFiles: number;
  readonly nameMax: number;
}

/** The inode if `ino` names one in use; ESTALE otherwise. */
export function liveInode(core: FsCore, ino: number): R<Inode> {
  const dead = notLive(core, ino);
  return dead === undefined ? E.right(core.inode(ino)) : E.left(dead);
}

/** liveInode's checks without decoding the inode: undefined when `ino` names one in use, else the errno. */
function notLive(core: FsCore, ino: number): Errno | undefined {
  if (!core.mounted) return 'EIO';
  if (!core.validIno(ino)) return 'ESTALE';
  const g = Math.floor((ino - 1) / core.geo.inodesPerGroup);
  const bm = core.buffer(core.inodeBitmapOf(g));
  if (!bm || !testBit(bm, (ino - 1) % core.geo.inodesPerGroup) || inodeLinksCount(core.inodeBytes(ino), core.inodeOffsetOf(ino)) === 0) return 'ESTALE';
  return undefined;
}

export function statInode(core: FsCore, ino: number): R<Stat> {
  const r = liveInode(core, ino);
  if (E.isLeft(r)) return r;
  const i = r.right;
  const fmt = i.mode & S_IFMT;
  return E.right({
    ino,
    kind: fmt === S_IFREG ? 'file' : fmt === S_IFDIR ? 'dir' : 'other',
    mode: i.mode,
    nlink: i.linksCount,
    size: i.size,
    blocks: i.blocks,
    blksize: core.geo.blockSize,
    atime: timeToNs(i.atime, i.atimeExtra),
    mtime: timeToNs(i.mtime, i.mtimeExtra),
    ctime: timeToNs(i.ctime, i.ctimeExtra),
  });
}

/** Looks up (and with `create`, allocates) file block `n` of a regular file. Run in a handle when creating. */
export function bmapFile(core: FsCore, ino: number, n: number, create: boolean): R<BmapResult> {
  // Called for every block the page cache reads or writes: only the fields it needs are
  // read (mode, links, the block map), and only the block map is written back.
  const dead = notLive(core, ino);
  if (dead !== undefined) return E.left(dead);
  const bytes = core.inodeBytes(ino);
  const off = core.inodeOffsetOf(ino);
  const fmt = inodeMode(bytes, off) & S_IFMT;
  if (fmt === S_IFDIR) return E.left('EISDIR');
  if (fmt !== S_IFREG) return E.left('EINVAL');
  if (!Number.isInteger(n) || n < 0) return E.left('EINVAL');
  if (n >= core.geo.maxFileBlocks) return E.left('EFBIG');
  const m = core.blockMapOf(bytes, off);
  if (!create) {
    const b = bmapLookup(core, m, n);
    return E.isLeft(b) ? b : E.right({ block: b.right, fresh: false });
  }
  const b = bmapAlloc(core, ino, m, n, false);
  if (E.isLeft(b)) return b;
  if (b.right.fresh) {
    core.putBlockMap(ino, m);
    core.orderedData(ino);
  }
  return b;
}

/** What `bmapRun` did: how many blocks it mapped, whether any was newly allocated, and the error that stopped it. */
export interface BmapRunResult {
  readonly mapped: number;
  readonly fresh: boolean;
  readonly error?: Errno;
}

/**
 * `bmapFile(core, ino, n, true)` in a journal handle of its own for each file block n of
 * `blocks`, in order, until one fails — the same allocations, journal and errors as that many
 * calls (writeback maps runs of blocks). What cannot change from one block to the next is
 * done once: the inode's checks and the reading of its block map; and the goal of a block
 * right after one just allocated is that block + 1, what looking it up would give. `out[i]`
 * gets the disk block of blocks[i].
 */
export function bmapRun(core: FsCore, ino: number, blocks: readonly number[], out: number[]): BmapRunResult {
  let m: InodeBlockMap | undefined;
  let n = 0;
  /** The disk block of file block n - 1 when this run just allocated it, else -1. */
  let prevFresh = -1;
  const one = (): R<BmapResult> => {
    if (m === undefined) {
      const first = bmapFile(core, ino, n, true); // every check, as the first of the calls
      if (E.isRight(first)) m = core.blockMapOf(core.inodeBytes(ino), core.inodeOffsetOf(ino), { block: [], blocks: 0 });
      return first;
    }
    if (!Number.isInteger(n) || n < 0) return E.left('EINVAL');
    if (n >= core.geo.maxFileBlocks) return E.left('EFBIG');
    const b = bmapAlloc(core, ino, m, n, false, prevFresh >= 0 ? prevFresh + 1 : undefined);
    if (E.isLeft(b)) return b;
    if (b.right.fresh) {
      core.putBlockMap(ino, m);
      core.orderedData(ino);
    }
    return b;
  };
  let fresh = false;
  for (let i = 0; i < blocks.length; i++) {
    if (i > 0 && blocks[i] !== n + 1) prevFresh = -1;
    n = blocks[i];
    const r = core.handle(core.credits.alloc, one);
    if (E.isLeft(r)) return { mapped: i, fresh, error: r.left };
    out[i] = r.right.block;
    fresh ||= r.right.fresh;
    prevFresh = r.right.fresh ? r.right.block : -1;
  }
  return { mapped: blocks.length, fresh };
}

function checkSize(core: FsCore, size: number): R<void> {
  if (!Number.isInteger(size) || size < 0) return E.left('EINVAL');
  if (size > core.geo.maxFileBlocks * core.geo.blockSize) return E.left('EFBIG');
  return E.right(undefined);
}

function regular(core: FsCore, ino: number): R<Inode> {
  const r = liveInode(core, ino);
  if (E.isLeft(r)) return r;
  if (isDir(r.right)) return E.left('EISDIR');
  if (!isReg(r.right)) return E.left('EINVAL');
  return r;
}

/** i_size after a write that extended the file (never shrinks: that is truncate). */
export function setSize(core: FsCore, ino: number, size: number): R<void> {
  const r = regular(core, ino);
  if (E.isLeft(r)) return r;
  const c = checkSize(core, size);
  if (E.isLeft(c)) return c;
  const i = r.right;
  if (size < i.size) return E.left('EINVAL');
  const [sec, extra] = nsToTime(core.now());
  [i.mtime, i.mtimeExtra, i.ctime, i.ctimeExtra] = [sec, extra, sec, extra];
  i.size = size;
  core.putInode(ino, i);
  return E.right(undefined);
}

/** Sets i_size and frees every block past the new end (growing leaves a hole). */
export function truncate(core: FsCore, ino: number, size: number): R<void> {
  const r = regular(core, ino);
  if (E.isLeft(r)) return r;
  const c = checkSize(core, size);
  if (E.isLeft(c)) return c;
  const i = r.right;
  // Like ext2_setsize: blocks past the new size go whichever way the size moves (a failed
  // write's blocks past i_size too).
  const t = truncateBlocks(core, i, Math.ceil(size / core.geo.blockSize));
  if (E.isLeft(t)) return t;
  const [sec, extra] = nsToTime(core.now());
  [i.mtime, i.mtimeExtra, i.ctime, i.ctimeExtra] = [sec, extra, sec, extra];
  i.size = size;
  core.putInode(ino, i);
  return E.right(undefined);
}

export function statfs(core: FsCore): StatFs {
  const sb = core.superblock();
  return {
    blockSize: core.geo.blockSize,
    blocks: sb.blocksCount,
    freeBlocks: sb.freeBlocksCount,
    availBlocks: Math.max(0, sb.freeBlocksCount - sb.rBlocksCount),
    files: sb.inodesCount,
    freeFiles: sb.freeInodesCount,
    nameMax: NAME_MAX,
  };
}
