/**
 * Where the page cache meets its owner's ops: submitting reads (read_pages) and writes
 * (do_writepages) and finishing them (the end_io side: SetPageUptodate + unlock_page,
 * end_page_writeback + mapping_set_error), plus the small helpers every path uses to wait
 * on pages and to present a kernel operation as an Observable.
 */
import { Observable } from 'rxjs';
import type { Task } from '../kernel/task.js';
import type { PageCacheCore } from './core.js';
import type { Mapping } from './mapping.js';
import type { CachedPage } from './page.js';
import { pageIoErrno, type PageIoStatus, type SyncMode, type WbReason } from './types.js';

/** Most pages handed to one writePages call (MIN_WRITEBACK_PAGES: 4 MiB of 4 KiB pages). */
export const MAX_WRITEBACK_PAGES = 1024;

/**
 * Subscribe to an ops Observable and call `fn` with its one status. An ops Observable that
 * errors or completes without a status broke its contract; the pages are failed with
 * `ioerr` so nothing waits for ever.
 */
export function onceStatus(obs: Observable<PageIoStatus>, fn: (s: PageIoStatus) => void): void {
  let done = false;
  const finish = (s: PageIoStatus): void => {
    if (done) return;
    done = true;
    fn(s);
  };
  obs.subscribe({ next: finish, error: () => finish('ioerr'), complete: () => finish('ioerr') });
}

/**
 * Read `pages` (consecutive, ascending, locked, not uptodate) through the ops. When they
 * complete: uptodate on success, unlocked either way, waiters woken.
 */
export function submitRead(core: PageCacheCore, task: Task, mapping: Mapping, pages: CachedPage[], async: boolean): void {
  onceStatus(mapping.ops.readPages(mapping, pages, { task, async }), (status) => {
    for (const p of pages) {
      if (status === 'ok') p.uptodate = true;
      core.unlock(p);
    }
    core.progress.wakeAll();
  });
}

/**
 * Start writeback of `pages` (dirty, not under writeback) of one mapping: ascending, in
 * calls of at most MAX_WRITEBACK_PAGES. When a call completes its pages end writeback; an
 * error is recorded on the mapping (the pages stay clean: the write is lost, as in Linux).
 */
export function submitWrite(core: PageCacheCore, task: Task, mapping: Mapping, pages: CachedPage[], reason: WbReason, syncMode: SyncMode): void {
  if (pages.length === 0) return;
  const sorted = [...pages].sort((a, b) => a.index - b.index);
  core.charge('guest.pagecache.lookup', sorted.length);
  for (let i = 0; i < sorted.length; i += MAX_WRITEBACK_PAGES) {
    const chunk = sorted.slice(i, i + MAX_WRITEBACK_PAGES);
    for (const p of chunk) core.startWriteback(p);
    core.emitRuns('writeback', chunk, reason);
    onceStatus(mapping.ops.writePages(mapping, chunk, { task, syncMode, reason }), (status) => {
      const err = pageIoErrno(status);
      if (err) mapping.setError(err);
      for (const p of chunk) core.endWriteback(p);
      core.progress.wakeAll();
    });
  }
}

/** Start writeback of dirty pages of any mappings, mapping by mapping in creation order. */
export function submitWriteAny(core: PageCacheCore, task: Task, pages: readonly CachedPage[], reason: WbReason): number {
  const byMapping = new Map<Mapping, CachedPage[]>();
  for (const p of pages) {
    let l = byMapping.get(p.mapping);
    if (!l) byMapping.set(p.mapping, (l = []));
    l.push(p);
  }
  const mappings = [...byMapping.keys()].sort((a, b) => a.id - b.id);
  for (const m of mappings) submitWrite(core, task, m, byMapping.get(m)!, reason, 'WB_SYNC_NONE');
  return pages.length;
}

/**
 * Wait, as `task`, until `busy(p)` is false for every page of `pages`, then run `cont` on
 * the task. Runs `cont` at once (inline) when nothing is busy.
 */
export function waitPages(task: Task, what: string, pages: readonly CachedPage[], busy: (p: CachedPage) => boolean, cont: () => void): void {
  let left = 0;
  const settle = (): void => {
    if (--left === 0) task.run(what, cont);
  };
  const watch = (p: CachedPage): void => {
    if (busy(p)) p.wait(() => watch(p));
    else settle();
  };
  const waiting = pages.filter(busy);
  if (waiting.length === 0) {
    cont();
    return;
  }
  left = waiting.length;
  task.sleep();
  for (const p of waiting) p.wait(() => watch(p));
}

/**
 * A kernel operation as an Observable: on subscription `start` runs as `task` (on its
 * CPU) and calls `done` once, when the operation finishes; the Observable then emits that
 * value and completes. Unsubscribing early stops the emission, not the I/O.
 */
export function kernelCall<T>(task: Task, what: string, start: (done: (v: T) => void) => void): Observable<T> {
  return new Observable<T>((sub) => {
    let closed = false;
    task.run(what, () =>
      start((v) => {
        if (closed) return;
        closed = true;
        sub.next(v);
        sub.complete();
      }),
    );
    return () => {
      closed = true;
    };
  });
}
