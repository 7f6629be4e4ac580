/**
 * Errors the system calls return (tier 1 of DESIGN.md: values, never throws): Linux's
 * errno names, shared with guest/fs. The block layer's status and the page cache's
 * errnos become these in one place each.
 */
import type { BlkStatus } from '../blockdev/request.js';
import type { Errno } from '../fs/errno.js';
import type { PageIoStatus } from '../pagecache/types.js';

export type { Errno };
export { ERRNO, STRERROR } from '../fs/errno.js';

/** A bio's status as a file system reports it: any failure is EIO. */
export function blkErrno(status: BlkStatus): Errno | undefined {
  return status === 'ok' ? undefined : 'EIO';
}

/** A file-system errno from mapping blocks, as a page I/O status. */
export function pageStatusOf(err: Errno): PageIoStatus {
  return err === 'ENOSPC' ? 'nospc' : 'ioerr';
}

/** read/write move at most MAX_RW_COUNT bytes per call (INT_MAX rounded down to a page). */
export const MAX_RW_COUNT = 0x7ffff000;
