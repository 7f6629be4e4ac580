/**
 * The ext2/ext3 superblock (struct ext2_super_block, linux/fs/ext4/ext4.h; the byte offsets are
 * in LAYOUT.md). It lives at byte 1024 of the device; backups sit at the start of groups 1 and
 * the powers of 3, 5 and 7 (sparse_super). Only the fields this file system uses are decoded;
 * encoding writes exactly those fields into a given 1024-byte area and leaves the rest alone.
 */
import { le16, le32, setLe16, setLe32, hex } from './bytes.js';

export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT2_SUPER_MAGIC = 0xef53;

/** s_state */
export const EXT2_VALID_FS = 0x0001; // cleanly unmounted
export const EXT2_ERROR_FS = 0x0002;

/** s_feature_compat / incompat / ro_compat, the ones this file system knows. */
export const COMPAT_HAS_JOURNAL = 0x0004;
export const INCOMPAT_FILETYPE = 0x0002;
export const INCOMPAT_RECOVER = 0x0004; // needs_recovery: mounted with a journal, maybe not replayed
export const RO_COMPAT_SPARSE_SUPER = 0x0001;
export const RO_COMPAT_LARGE_FILE = 0x0002;
export const INCOMPAT_SUPPORTED = INCOMPAT_FILETYPE | INCOMPAT_RECOVER;
export const RO_COMPAT_SUPPORTED = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;
/** s_jnl_backup_type: s_jnl_blocks holds a copy of the journal inode's i_block and size. */
export const EXT3_JNL_BACKUP_BLOCKS = 1;

export interface Superblock {
  inodesCount: number;
  blocksCount: number;
  rBlocksCount: number;
  freeBlocksCount: number;
  freeInodesCount: number;
  firstDataBlock: number;
  logBlockSize: number;
  logClusterSize: number;
  blocksPerGroup: number;
  clustersPerGroup: number;
  inodesPerGroup: number;
  /** Last mount / write time, seconds of virtual time. */
  mtime: number;
  wtime: number;
  mntCount: number;
  maxMntCount: number;
  magic: number;
  state: number;
  errors: number;
  minorRevLevel: number;
  lastcheck: number;
  checkinterval: number;
  creatorOs: number;
  revLevel: number;
  defResuid: number;
  defResgid: number;
  firstIno: number;
  inodeSize: number;
  blockGroupNr: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  uuid: Uint8Array; // 16 bytes
  volumeName: Uint8Array; // 16 bytes
  journalInum: number;
  lastOrphan: number;
  defHashVersion: number;
  jnlBackupType: number;
  descSize: number;
  mkfsTime: number;
  /** Backup of the journal inode: i_block[0..14], i_size_high, i_size. */
  jnlBlocks: number[]; // 17
  minExtraIsize: number;
  wantExtraIsize: number;
}

/** [offset, width] of each u16/u32 field; the byte arrays are handled apart. */
const FIELDS: ReadonlyArray<readonly [keyof Superblock, number, 2 | 4]> = [
  ['inodesCount', 0x00, 4],
  ['blocksCount', 0x04, 4],
  ['rBlocksCount', 0x08, 4],
  ['freeBlocksCount', 0x0c, 4],
  ['freeInodesCount', 0x10, 4],
  ['firstDataBlock', 0x14, 4],
  ['logBlockSize', 0x18, 4],
  ['logClusterSize', 0x1c, 4],
  ['blocksPerGroup', 0x20, 4],
  ['clustersPerGroup', 0x24, 4],
  ['inodesPerGroup', 0x28, 4],
  ['mtime', 0x2c, 4],
  ['wtime', 0x30, 4],
  ['mntCount', 0x34, 2],
  ['maxMntCount', 0x36, 2],
  ['magic', 0x38, 2],
  ['state', 0x3a, 2],
  ['errors', 0x3c, 2],
  ['minorRevLevel', 0x3e, 2],
  ['lastcheck', 0x40, 4],
  ['checkinterval', 0x44, 4],
  ['creatorOs', 0x48, 4],
  ['revLevel', 0x4c, 4],
  ['defResuid', 0x50, 2],
  ['defResgid', 0x52, 2],
  ['firstIno', 0x54, 4],
  ['inodeSize', 0x58, 2],
  ['blockGroupNr', 0x5a, 2],
  ['featureCompat', 0x5c, 4],
  ['featureIncompat', 0x60, 4],
  ['featureRoCompat', 0x64, 4],
  ['journalInum', 0xe0, 4],
  ['lastOrphan', 0xe8, 4],
  ['descSize', 0xfe, 2],
  ['mkfsTime', 0x108, 4],
  ['minExtraIsize', 0x15c, 2],
  ['wantExtraIsize', 0x15e, 2],
];
const UUID_OFF = 0x68;
const VOLNAME_OFF = 0x78;
const DEF_HASH_OFF = 0xfc;
const JNL_BACKUP_TYPE_OFF = 0xfd;
const JNL_BLOCKS_OFF = 0x10c;

/** Decodes the 1024 bytes at `off`; total: any bytes give a value (checkSuperblock judges it). */
export function decodeSuperblock(b: Uint8Array, off = SUPERBLOCK_OFFSET): Superblock {
  const sb = {} as Record<string, unknown>;
  for (const [k, o, w] of FIELDS) sb[k] = w === 2 ? le16(b, off + o) : le32(b, off + o);
  sb.uuid = b.slice(off + UUID_OFF, off + UUID_OFF + 16);
  sb.volumeName = b.slice(off + VOLNAME_OFF, off + VOLNAME_OFF + 16);
  sb.defHashVersion = b[off + DEF_HASH_OFF];
  sb.jnlBackupType = b[off + JNL_BACKUP_TYPE_OFF];
  sb.jnlBlocks = Array.from({ length: 17 }, (_, i) => le32(b, off + JNL_BLOCKS_OFF + 4 * i));
  return sb as unknown as Superblock;
}

/** Writes the known fields of `sb` into the 1024 bytes at `off` of `b`. */
export function encodeSuperblock(sb: Superblock, b: Uint8Array, off = SUPERBLOCK_OFFSET): void {
  for (const [k, o, w] of FIELDS) (w === 2 ? setLe16 : setLe32)(b, off + o, sb[k] as number);
  b.set(sb.uuid.subarray(0, 16), off + UUID_OFF);
  b.set(sb.volumeName.subarray(0, 16), off + VOLNAME_OFF);
  b[off + DEF_HASH_OFF] = sb.defHashVersion;
  b[off + JNL_BACKUP_TYPE_OFF] = sb.jnlBackupType;
  for (let i = 0; i < 17; i++) setLe32(b, off + JNL_BLOCKS_OFF + 4 * i, sb.jnlBlocks[i] ?? 0);
}

export const blockSizeOf = (sb: Superblock): number => 1024 << Math.min(sb.logBlockSize, 16);

/**
 * Why this superblock cannot be mounted, in the kernel's words (fs/ext4/super.c); empty when it
 * can. `deviceBytes` is the size of the device it was read from.
 */
export function checkSuperblock(sb: Superblock, deviceBytes: number, readOnly = false): string[] {
  if (sb.magic !== EXT2_SUPER_MAGIC)
    return [`VFS: Can't find ext3 filesystem: bad magic number ${hex(sb.magic)} (expected 0xef53)`];
  const p: string[] = [];
  if (sb.logBlockSize > 2) return [`Unsupported filesystem blocksize ${2 ** Math.min(sb.logBlockSize + 10, 52)} (1024, 2048 or 4096)`];
  const bs = blockSizeOf(sb);
  if (sb.revLevel !== 1) p.push(`unsupported revision level ${sb.revLevel} (only 1, EXT2_DYNAMIC_REV)`);
  const isz = sb.inodeSize;
  if (isz < 128 || isz > bs || (isz & (isz - 1)) !== 0) p.push(`unsupported inode size: ${isz}`);
  if (sb.firstDataBlock !== (bs === 1024 ? 1 : 0))
    p.push(`bad geometry: first data block ${sb.firstDataBlock} is not ${bs === 1024 ? 1 : 0} for block size ${bs}`);
  if (sb.blocksPerGroup === 0 || sb.blocksPerGroup > 8 * bs || sb.blocksPerGroup % 8 !== 0)
    p.push(`#blocks per group too big or invalid: ${sb.blocksPerGroup}`);
  const ipb = isz >= 128 && isz <= bs ? bs / isz : 1;
  if (sb.inodesPerGroup === 0 || sb.inodesPerGroup > 8 * bs || sb.inodesPerGroup % ipb !== 0)
    p.push(`invalid inodes per group: ${sb.inodesPerGroup}`);
  if (sb.blocksCount <= sb.firstDataBlock) p.push(`bad geometry: block count ${sb.blocksCount} is too small`);
  if (sb.blocksCount * bs > deviceBytes)
    p.push(`bad geometry: block count ${sb.blocksCount} exceeds size of device (${Math.floor(deviceBytes / bs)} blocks)`);
  if (p.length > 0) return p;
  const groups = Math.ceil((sb.blocksCount - sb.firstDataBlock) / sb.blocksPerGroup);
  if (sb.inodesCount !== groups * sb.inodesPerGroup)
    p.push(`inodes count not valid: ${sb.inodesCount} vs computed ${groups * sb.inodesPerGroup}`);
  if (sb.firstIno < 11 || sb.firstIno >= sb.inodesCount) p.push(`invalid first ino: ${sb.firstIno}`);
  const unknownIncompat = sb.featureIncompat & ~INCOMPAT_SUPPORTED;
  if (unknownIncompat !== 0)
    p.push(`Couldn't mount because of unsupported optional features (${hex(unknownIncompat)})`);
  if ((sb.featureIncompat & INCOMPAT_FILETYPE) === 0) p.push('filesystem lacks the filetype feature (directory entries without file types are not supported)');
  const unknownRo = sb.featureRoCompat & ~RO_COMPAT_SUPPORTED;
  if (unknownRo !== 0 && !readOnly)
    p.push(`Couldn't mount RDWR because of unsupported optional features (${hex(unknownRo)})`);
  if ((sb.featureCompat & COMPAT_HAS_JOURNAL) === 0) p.push('filesystem has no journal (has_journal is required)');
  else if (sb.journalInum === 0 || sb.journalInum >= sb.firstIno || sb.journalInum === 2)
    p.push(`invalid journal inode number ${sb.journalInum}`);
  return p;
}
