/**
 * The page cache's contract with the layers around it (Linux's `struct address_space`,
 * `struct address_space_operations`, `struct writeback_control`): what a page looks like
 * to a file system or the block device, and the two operations they provide to move pages
 * to and from the disk. The page cache never knows disk sectors; the ops never change a
 * page's flags.
 */
import type { Observable } from 'rxjs';
import type { SgElem } from '../../hw/memory.js';
import type { BlkStatus } from '../blockdev/request.js';
import type { Task } from '../kernel/task.js';
import type { Mapping } from './mapping.js';

export { PAGE_SIZE } from '../../hw/memory.js';

/** A page of the cache as its owner sees it: one 4 KiB page of guest RAM holding `index` of `mapping`. */
export interface Page {
  readonly mapping: Mapping;
  /** Page index in the mapping (byte offset / PAGE_SIZE): pgoff_t. */
  readonly index: number;
  /** Guest-physical address of the page (page-aligned): what a bio's segment points at. */
  readonly addr: number;
  /** PG_uptodate: the page holds the file's data. */
  readonly uptodate: boolean;
  /** PG_dirty: newer than the disk. A page under writeback may be dirty again. */
  readonly dirty: boolean;
  /** PG_writeback: being written; clean-but-busy until the ops complete. */
  readonly writeback: boolean;
  /** PG_locked: being read in (or otherwise owned for I/O). */
  readonly locked: boolean;
  /** PG_referenced: accessed since it was last put on its LRU list. */
  readonly referenced: boolean;
  /** PG_active: on the active LRU list. */
  readonly active: boolean;
  /** PG_readahead: the asynchronous readahead marker. */
  readonly readahead: boolean;
  /** Virtual time (ns) the page last went from clean to dirty. */
  readonly dirtiedAt: number;
}

/**
 * What a read or write of pages ended with: the block layer's status, plus `nospc` for a
 * file system that found no room (block allocation at writeback time).
 */
export type PageIoStatus = BlkStatus | 'nospc';

/** The errno values the page cache reports; the vfs passes them on. */
export type Errno = 'EIO' | 'ENOSPC' | 'ENOMEM' | 'EBUSY' | 'EFAULT' | 'EINVAL';

/** The one place an I/O status becomes an errno (mapping_set_error keeps EIO or ENOSPC). */
export function pageIoErrno(status: PageIoStatus): Errno | undefined {
  switch (status) {
    case 'ok':
      return undefined;
    case 'nospc':
      return 'ENOSPC';
    case 'ioerr':
    case 'notsupp':
    case 'resource':
    case 'timeout':
    case 'transport':
    case 'medium':
    case 'target':
    case 'nexus':
    case 'protection':
      return 'EIO';
  }
}

/** Why pages are being written (enum wb_reason). */
export type WbReason = 'periodic' | 'background' | 'sync' | 'vmscan';

/** WB_SYNC_NONE: start what is not busy, do not wait. WB_SYNC_ALL: data integrity — wait for pages under writeback. */
export type SyncMode = 'WB_SYNC_NONE' | 'WB_SYNC_ALL';

/** struct readahead_control, as far as the ops need it. */
export interface ReadaheadControl {
  /** The task on whose behalf the pages are read (it submits the bios and may plug). */
  readonly task: Task;
  /** True for asynchronous readahead (nobody waits for these pages yet). */
  readonly async: boolean;
}

/** struct writeback_control. */
export interface WritebackControl {
  /** The task submitting the writes: a writer, fsync's caller, or the flusher thread. */
  readonly task: Task;
  readonly syncMode: SyncMode;
  readonly reason: WbReason;
}

/**
 * What a file system (or the block device) provides for a mapping.
 *
 * Guarantees the page cache gives the ops:
 * - `readPages` gets pages of consecutive indexes, ascending, each locked, not uptodate, in
 *   the mapping; the ops fill each page's memory (a page beyond the end of the file or in a
 *   hole is filled with zeroes) and emit one status when all are done. The page cache then
 *   marks them uptodate (on `ok`) and unlocks them.
 * - `writePages` gets pages in ascending index order (not necessarily consecutive), at most
 *   MAX_WRITEBACK_PAGES, each under writeback and no longer dirty; the ops write each page's
 *   memory as it is when they read it, and emit one status when all are on the disk (or
 *   failed). The page cache then ends writeback; a failure is recorded on the mapping
 *   (errseq) and the pages stay clean, as Linux does.
 * - Both are called from work running on `task`'s CPU; the Observables are subscribed at
 *   once, must emit exactly one status, and may complete at any later virtual time.
 */
export interface AddressSpaceOps {
  /** ->readahead / ->read_folio: fill `pages` from the disk. */
  readPages(mapping: Mapping, pages: readonly Page[], rac: ReadaheadControl): Observable<PageIoStatus>;
  /** ->writepages: write `pages` to the disk. */
  writePages(mapping: Mapping, pages: readonly Page[], wbc: WritebackControl): Observable<PageIoStatus>;
  /**
   * ->write_begin's block mapping (get_block with create): called once per write() before
   * any byte is copied, for page indexes [first, last]. A non-`ok` status fails the write
   * with nothing copied (ENOSPC for `nospc`). Default: nothing to do (blocks are allocated
   * at writeback time).
   */
  prepareWrite?(mapping: Mapping, first: number, last: number, task: Task): Observable<PageIoStatus>;
  /** A buffered write extended i_size (the owner marks its inode dirty). Default: nothing. */
  sizeChanged?(mapping: Mapping, oldSize: number, newSize: number): void;
}

/** A user buffer: a contiguous guest-physical address, or a scatter-gather list. */
export type UserBuf = number | readonly SgElem[];

/** A byte range of a mapping, [start, end); `end` defaults to the whole mapping. */
export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}
