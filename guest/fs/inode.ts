/**
 * The on-disk inode (struct ext2_inode plus ext4's extra fields; LAYOUT.md). Inodes are
 * s_inode_size bytes (128 or 256) in each group's inode table. With 256-byte inodes the extra
 * fields carry nanoseconds, so a time is seconds + nanoseconds of virtual time: a timestamp of
 * `t` virtual ns is stored as seconds ⌊t/1e9⌋ and extra (t mod 1e9) << 2 (epoch bits 0).
 */
import { le16, le32, setLe16, setLe32, hi32, lo32 } from './bytes.js';
import { N_BLOCKS } from './geometry.js';

export const S_IFMT = 0xf000;
export const S_IFSOCK = 0xc000;
export const S_IFLNK = 0xa000;
export const S_IFREG = 0x8000;
export const S_IFBLK = 0x6000;
export const S_IFDIR = 0x4000;
export const S_IFCHR = 0x2000;
export const S_IFIFO = 0x1000;

/** ext2_dir_entry_2.file_type values (EXT2_FT_*). */
export const FT_UNKNOWN = 0;
export const FT_REG_FILE = 1;
export const FT_DIR = 2;
export const FT_CHRDEV = 3;
export const FT_BLKDEV = 4;
export const FT_FIFO = 5;
export const FT_SOCK = 6;
export const FT_SYMLINK = 7;

export const EXTRA_ISIZE = 32;

export interface Inode {
  mode: number;
  uid: number;
  /** i_size_lo + i_size_high · 2^32 (exact below 2^53). */
  size: number;
  atime: number;
  ctime: number;
  mtime: number;
  dtime: number;
  gid: number;
  linksCount: number;
  /** i_blocks: 512-byte sectors of data and indirect blocks (lo + high · 2^32). */
  blocks: number;
  flags: number;
  osd1: number;
  block: number[]; // 15 pointers
  generation: number;
  fileAcl: number;
  faddr: number;
  uidHigh: number;
  gidHigh: number;
  /** i_extra_isize (0 in a 128-byte inode). */
  extraIsize: number;
  ctimeExtra: number;
  mtimeExtra: number;
  atimeExtra: number;
  crtime: number;
  crtimeExtra: number;
}

export function emptyInode(): Inode {
  return {
    mode: 0, uid: 0, size: 0, atime: 0, ctime: 0, mtime: 0, dtime: 0, gid: 0, linksCount: 0, blocks: 0,
    flags: 0, osd1: 0, block: new Array<number>(N_BLOCKS).fill(0), generation: 0, fileAcl: 0, faddr: 0,
    uidHigh: 0, gidHigh: 0, extraIsize: 0, ctimeExtra: 0, mtimeExtra: 0, atimeExtra: 0, crtime: 0, crtimeExtra: 0,
  };
}

/** Whether the extra field at `fieldOff` (≥ 0x80) is inside i_extra_isize. */
const hasExtra = (inodeSize: number, extra: number, fieldOff: number): boolean =>
  inodeSize > 128 && 0x80 + extra >= fieldOff + 4 && 0x80 + extra <= inodeSize;

/** Decodes the inodeSize bytes at `off`. Total: any bytes give an inode (fsck judges it). */
export function decodeInode(b: Uint8Array, off: number, inodeSize: number): Inode {
  const extra = inodeSize > 128 ? le16(b, off + 0x80) : 0;
  const x = (o: number): number => (hasExtra(inodeSize, extra, o) ? le32(b, off + o) : 0);
  const block = new Array<number>(N_BLOCKS);
  for (let i = 0; i < N_BLOCKS; i++) block[i] = le32(b, off + 0x28 + 4 * i);
  return {
    mode: le16(b, off + 0x00),
    uid: le16(b, off + 0x02),
    size: le32(b, off + 0x04) + le32(b, off + 0x6c) * 2 ** 32,
    atime: le32(b, off + 0x08),
    ctime: le32(b, off + 0x0c),
    mtime: le32(b, off + 0x10),
    dtime: le32(b, off + 0x14),
    gid: le16(b, off + 0x18),
    linksCount: le16(b, off + 0x1a),
    blocks: le32(b, off + 0x1c) + le16(b, off + 0x74) * 2 ** 32,
    flags: le32(b, off + 0x20),
    osd1: le32(b, off + 0x24),
    block,
    generation: le32(b, off + 0x64),
    fileAcl: le32(b, off + 0x68),
    faddr: le32(b, off + 0x70),
    uidHigh: le16(b, off + 0x78),
    gidHigh: le16(b, off + 0x7a),
    extraIsize: extra,
    ctimeExtra: x(0x84),
    mtimeExtra: x(0x88),
    atimeExtra: x(0x8c),
    crtime: x(0x90),
    crtimeExtra: x(0x94),
  };
}

/** Writes `ino` into the inodeSize bytes at `off`; bytes of fields it does not know stay as they are. */
export function encodeInode(ino: Inode, b: Uint8Array, off: number, inodeSize: number): void {
  setLe16(b, off + 0x00, ino.mode);
  setLe16(b, off + 0x02, ino.uid);
  setLe32(b, off + 0x04, lo32(ino.size));
  setLe32(b, off + 0x6c, hi32(ino.size));
  setLe32(b, off + 0x08, ino.atime);
  setLe32(b, off + 0x0c, ino.ctime);
  setLe32(b, off + 0x10, ino.mtime);
  setLe32(b, off + 0x14, ino.dtime);
  setLe16(b, off + 0x18, ino.gid);
  setLe16(b, off + 0x1a, ino.linksCount);
  setLe32(b, off + 0x1c, lo32(ino.blocks));
  setLe16(b, off + 0x74, hi32(ino.blocks) & 0xffff);
  setLe32(b, off + 0x20, ino.flags);
  setLe32(b, off + 0x24, ino.osd1);
  for (let i = 0; i < N_BLOCKS; i++) setLe32(b, off + 0x28 + 4 * i, ino.block[i] ?? 0);
  setLe32(b, off + 0x64, ino.generation);
  setLe32(b, off + 0x68, ino.fileAcl);
  setLe32(b, off + 0x70, ino.faddr);
  setLe16(b, off + 0x78, ino.uidHigh);
  setLe16(b, off + 0x7a, ino.gidHigh);
  if (inodeSize <= 128) return;
  setLe16(b, off + 0x80, ino.extraIsize);
  const x = (o: number, v: number): void => {
    if (hasExtra(inodeSize, ino.extraIsize, o)) setLe32(b, off + o, v);
  };
  x(0x84, ino.ctimeExtra);
  x(0x88, ino.mtimeExtra);
  x(0x8c, ino.atimeExtra);
  x(0x90, ino.crtime);
  x(0x94, ino.crtimeExtra);
}

/** A virtual-ns timestamp as [seconds, extra] (extra = nanoseconds << 2). */
export function nsToTime(ns: number): [number, number] {
  const t = Math.max(0, Math.floor(ns));
  const sec = Math.min(Math.floor(t / 1e9), 0xffffffff);
  return [sec, ((t - sec * 1e9) % 1e9) * 4];
}
/** [seconds, extra] back to virtual ns. */
export const timeToNs = (sec: number, extra: number): number => sec * 1e9 + (extra >>> 2);

/** What the block map reads and changes of an inode: its pointers and i_blocks. */
export type InodeBlockMap = Pick<Inode, 'block' | 'blocks'>;

/** i_mode and i_links_count of the inode at `off`, without decoding the rest. */
export const inodeMode = (b: Uint8Array, off: number): number => le16(b, off + 0x00);
export const inodeLinksCount = (b: Uint8Array, off: number): number => le16(b, off + 0x1a);

/** Reads the block pointers and i_blocks of the inode at `off` into `into` (as decodeInode reads them). */
export function decodeBlockMap(b: Uint8Array, off: number, into: InodeBlockMap): void {
  for (let i = 0; i < N_BLOCKS; i++) into.block[i] = le32(b, off + 0x28 + 4 * i);
  into.blocks = le32(b, off + 0x1c) + le16(b, off + 0x74) * 2 ** 32;
}

/** Writes the block pointers and i_blocks of `m` into the inode at `off` (as encodeInode writes them); nothing else. */
export function encodeBlockMap(m: InodeBlockMap, b: Uint8Array, off: number): void {
  setLe32(b, off + 0x1c, lo32(m.blocks));
  setLe16(b, off + 0x74, hi32(m.blocks) & 0xffff);
  for (let i = 0; i < N_BLOCKS; i++) setLe32(b, off + 0x28 + 4 * i, m.block[i] ?? 0);
}

/**
 * encodeBlockMap, field by field, of only the fields whose bytes differ from `m`: `write(at,
 * len)` gives write access to the `len` bytes at `at` (from the buffer's start) and returns
 * the buffer. The result is encodeBlockMap's; what is not changed is not touched. Returns
 * how many fields were written.
 */
export function encodeBlockMapChanges(m: InodeBlockMap, b: Uint8Array, off: number, write: (at: number, len: number) => Uint8Array): number {
  let n = 0;
  const lo = lo32(m.blocks);
  if (le32(b, off + 0x1c) !== lo) setLe32(write(off + 0x1c, 4), off + 0x1c, lo), n++;
  const hi = hi32(m.blocks) & 0xffff;
  if (le16(b, off + 0x74) !== hi) setLe16(write(off + 0x74, 2), off + 0x74, hi), n++;
  for (let i = 0; i < N_BLOCKS; i++) {
    const at = off + 0x28 + 4 * i;
    const v = m.block[i] ?? 0;
    if (le32(b, at) !== v) setLe32(write(at, 4), at, v), n++;
  }
  return n;
}

export const isDir = (i: Pick<Inode, 'mode'>): boolean => (i.mode & S_IFMT) === S_IFDIR;
export const isReg = (i: Pick<Inode, 'mode'>): boolean => (i.mode & S_IFMT) === S_IFREG;

/** The directory-entry file type for an inode mode. */
export function fileTypeOfMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return FT_REG_FILE;
    case S_IFDIR: return FT_DIR;
    case S_IFCHR: return FT_CHRDEV;
    case S_IFBLK: return FT_BLKDEV;
    case S_IFIFO: return FT_FIFO;
    case S_IFSOCK: return FT_SOCK;
    case S_IFLNK: return FT_SYMLINK;
    default: return FT_UNKNOWN;
  }
}
