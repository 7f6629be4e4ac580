/**
 * guest/vfs — the guest's system calls on files (syscalls-api.ts is the contract): the
 * mount table, fd tables, the page cache for file data, ext3 (guest/fs) for metadata and
 * its journal thread, O_DIRECT bios. See vfs.ts for the map of the folder.
 */
export * from './syscalls-api.js';
export { Vfs } from './vfs.js';
export { GuestOs } from './guest-os.js';
export { ProcessTable, Process, FdTable, NR_OPEN_DEFAULT } from './process.js';
export { REALTIME_BASE_NS, DEFAULT_COMMIT_INTERVAL_MS, type VfsOptions } from './context.js';
export { ERRNO, STRERROR, blkErrno } from './errno.js';
export { defaultJournalBlocks } from './mount-ops.js';
