/**
 * A page-cache page as the cache itself holds it (struct page / folio): the flags the ops
 * see read-only, plus what only the cache touches — the pin count (page references that
 * keep the memory from being freed while a reader or writer works on it), whether it was
 * removed from its mapping, and the tasks waiting for it (wait_on_page_locked,
 * wait_on_page_writeback share one queue; a woken waiter re-checks what it waits for).
 */
import type { Mapping } from './mapping.js';
import type { Page } from './types.js';

/** Callbacks to run when something changes; each is run once, then forgotten. */
export class WaitQueue {
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.waiters.length;
  }

  add(fn: () => void): void {
    this.waiters.push(fn);
  }

  /** Wake everyone waiting now (a waiter that re-registers waits for the next wakeup). */
  wakeAll(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

export class CachedPage implements Page {
  uptodate = false;
  dirty = false;
  writeback = false;
  locked = false;
  referenced = false;
  active = false;
  readahead = false;
  dirtiedAt = 0;
  /** References held by readers and writers working on the page (get_page / put_page). */
  pins = 0;
  /** Removed from its mapping (reclaimed, truncated, invalidated); memory is freed at the last unpin. */
  removed = false;
  private waitq: WaitQueue | undefined;
  /*
   * Links of the lists the page is on (page-list.ts), a pair per list: the active and the
   * inactive LRU list, the cache's dirty list, its mapping's dirty and writeback pages.
   */
  activePrev: CachedPage | undefined;
  activeNext: CachedPage | undefined;
  inactivePrev: CachedPage | undefined;
  inactiveNext: CachedPage | undefined;
  dirtyPrev: CachedPage | undefined;
  dirtyNext: CachedPage | undefined;
  mappingDirtyPrev: CachedPage | undefined;
  mappingDirtyNext: CachedPage | undefined;
  writebackPrev: CachedPage | undefined;
  writebackNext: CachedPage | undefined;

  constructor(
    readonly mapping: Mapping,
    readonly index: number,
    readonly addr: number,
  ) {}

  /** True when reclaim may free the page now. */
  get reclaimable(): boolean {
    return !this.dirty && !this.writeback && !this.locked && this.pins === 0;
  }

  /** Run `fn` at the next change of this page's lock or writeback state. */
  wait(fn: () => void): void {
    (this.waitq ??= new WaitQueue()).add(fn);
  }

  /** Wake this page's waiters (unlock_page, end_page_writeback). */
  wake(): void {
    this.waitq?.wakeAll();
  }
}
