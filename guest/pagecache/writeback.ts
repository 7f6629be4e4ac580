/**
 * Writeback of a range of one mapping on behalf of a caller (mm/filemap.c):
 *
 * - WB_SYNC_NONE (filemap_fdatawrite_range with sync_mode NONE, sync_file_range's
 *   WRITE): start writeback of the dirty pages not already under writeback; do not wait.
 * - WB_SYNC_ALL (filemap_fdatawrite_range + filemap_fdatawait_range, i.e.
 *   file_write_and_wait_range): start writeback of every dirty page, first waiting for a
 *   page that is dirty again while still under writeback, then wait for every page of the
 *   range that was under writeback once the pass was done.
 *
 * Errors are not returned here: they are on the mapping (errseq for fsync,
 * filemap_check_errors for writebackAndWait), as in Linux.
 */
import type { Task } from '../kernel/task.js';
import type { Mapping } from './mapping.js';
import type { CachedPage } from './page.js';
import { submitWrite, waitPages } from './page-io.js';
import type { PageCacheParts } from './parts.js';
import type { SyncMode, WbReason } from './types.js';

/** Write back pages [first, last] of `mapping` as `task`; `done(submitted)` when finished (as the task). */
export function writebackRange(pc: PageCacheParts, task: Task, mapping: Mapping, first: number, last: number, mode: SyncMode, reason: WbReason, done: (submitted: number) => void): void {
  const core = pc.core;
  let submitted = 0;
  const pass = (): void => {
    const ready: CachedPage[] = [];
    let redirtied: CachedPage | undefined;
    for (const p of mapping.pagesInRange(first, last, mapping.dirtyPages)) {
      if (!p.writeback) ready.push(p);
      else redirtied ??= p;
    }
    submitWrite(core, task, mapping, ready, reason, mode);
    submitted += ready.length;
    if (mode === 'WB_SYNC_NONE') return done(submitted);
    if (redirtied) {
      // write_cache_pages in WB_SYNC_ALL: wait for the old writeback, then write it again.
      waitPages(task, 'writeback: wait on page writeback', [redirtied], (p) => p.writeback, pass);
      return;
    }
    waitPages(task, 'filemap_fdatawait', mapping.pagesInRange(first, last, mapping.writebackPages), (p) => p.writeback, () => done(submitted));
  };
  pass();
}

/** sync(): WB_SYNC_ALL writeback of every mapping, all at once; `done()` when all are on the disk. */
export function syncAll(pc: PageCacheParts, task: Task, done: () => void): void {
  const mappings = [...pc.core.mappings].filter((m) => m.nrDirty > 0 || m.nrWriteback > 0);
  let left = mappings.length + 1;
  const settle = (): void => {
    if (--left === 0) done();
  };
  for (const m of mappings) writebackRange(pc, task, m, 0, Infinity, 'WB_SYNC_ALL', 'sync', settle);
  settle();
}
