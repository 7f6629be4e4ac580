/**
 * Taking pages out of a mapping on its owner's behalf (mm/truncate.c):
 *
 * - `truncatePages` (truncate_inode_pages_range): every page of the range goes, dirty ones
 *   too (their data is being thrown away); locked pages and pages under writeback are
 *   waited for first.
 * - `invalidatePages2` (invalidate_inode_pages2_range, what O_DIRECT uses for coherence):
 *   clean pages go, after waiting for locks and writeback; a dirty page stays and the
 *   answer is EBUSY (the caller writes back first: writebackAndWait, then invalidates).
 * - `truncateSize` (truncate_setsize + truncate_pagecache): i_size becomes `newSize`, the
 *   pages wholly beyond it go, and the tail of a cached partial last page is zeroed and the
 *   page dirtied so the zeroes reach the disk. The owner zeroes the on-disk tail of a
 *   partial block whose page is not cached (block_truncate_page).
 * A page a reader or writer still pins leaves the mapping at once; its memory is freed
 * when they let go.
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import type { Task } from '../kernel/task.js';
import type { Mapping } from './mapping.js';
import type { CachedPage } from './page.js';
import { waitPages } from './page-io.js';
import type { PageCacheParts } from './parts.js';

const busy = (p: CachedPage): boolean => p.locked || p.writeback;

/** Remove pages [first, last] of `mapping`; `done()` as the task once none is left. */
export function truncatePages(pc: PageCacheParts, task: Task, mapping: Mapping, first: number, last: number, done: () => void): void {
  removeRange(pc, task, mapping, first, last, true, () => done());
}

/** Remove the clean pages [first, last]; `done(true)` if a dirty page had to stay (EBUSY). */
export function invalidatePages2(pc: PageCacheParts, task: Task, mapping: Mapping, first: number, last: number, done: (busyDirty: boolean) => void): void {
  removeRange(pc, task, mapping, first, last, false, done);
}

function removeRange(pc: PageCacheParts, task: Task, mapping: Mapping, first: number, last: number, dropDirty: boolean, done: (keptDirty: boolean) => void): void {
  const core = pc.core;
  const pass = (): void => {
    const waitOn: CachedPage[] = [];
    let keptDirty = false;
    let removed = 0;
    for (const p of mapping.pagesInRange(first, last)) {
      core.charge('guest.pagecache.lookup');
      if (busy(p)) waitOn.push(p);
      else if (p.dirty && !dropDirty) keptDirty = true;
      else {
        core.remove(p);
        removed++;
      }
    }
    if (removed > 0) core.progress.wakeAll();
    if (waitOn.length > 0) {
      waitPages(task, 'truncate: wait on page', waitOn, busy, pass);
      return;
    }
    done(keptDirty);
  };
  pass();
}

/** truncate_setsize + truncate_pagecache to `newSize` bytes; `done()` as the task. */
export function truncateSize(pc: PageCacheParts, task: Task, mapping: Mapping, newSize: number, done: () => void): void {
  const core = pc.core;
  mapping.size = newSize;
  const partial = newSize % PAGE_SIZE;
  truncatePages(pc, task, mapping, Math.ceil(newSize / PAGE_SIZE), Infinity, () => {
    const zeroTail = (): void => {
      const page = partial ? mapping.pages.get(Math.floor(newSize / PAGE_SIZE)) : undefined;
      if (!page) return done();
      if (page.locked) {
        waitPages(task, 'truncate: lock partial page', [page], (p) => p.locked, zeroTail);
        return;
      }
      if (page.uptodate) {
        core.mem.fill(page.addr + partial, PAGE_SIZE - partial, 0);
        core.markDirty(page);
      }
      done();
    };
    zeroTail();
  });
}
