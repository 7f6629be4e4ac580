/**
 * guest/fs — an ext3-format file system (ext2 layout + JBD2 journal, data=ordered) for the
 * guest: mkfs, mount (with journal replay), synchronous metadata operations over pinned
 * metadata, commit/checkpoint write plans with barriers, and fsck. See LAYOUT.md for the bytes
 * and docs/design/guest-storage-stack.md for where it sits.
 */
export type { Barrier, BlockWrite, FsBlockIo, StepKind, WritePlan, WriteStep } from './block-io.js';
export { planWrites } from './block-io.js';
export type { BmapResult } from './bmap.js';
export type { DirEntry } from './dir.js';
export { ERRNO, STRERROR, fsError, type Errno, type FsError } from './errno.js';
export type { FileKind, Stat, StatFs } from './file-ops.js';
export { Fs, issuePlan, type CommitPlan, type MountInfo } from './fs.js';
export { fsck, fsckImage, type FsckCode, type FsckFinding, type FsckReport } from './fsck.js';
export { JOURNAL_INO, LINK_MAX, LOST_FOUND_INO, NAME_MAX, ROOT_INO, type Geometry } from './geometry.js';
export { mkfs, mkfsImage, mkfsWrites, type MkfsOptions, type MkfsResult } from './mkfs.js';
export { mount, mountImage, type MountOptions } from './mount.js';
