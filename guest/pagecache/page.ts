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

/* The page's flags, bits of one number (page->flags): a cache of hundreds of thousands of pages is that many fewer fields to allocate and for the collector to trace. */
const PG_UPTODATE = 1;
const PG_DIRTY = 2;
const PG_WRITEBACK = 4;
const PG_LOCKED = 8;
const PG_REFERENCED = 16;
const PG_ACTIVE = 32;
const PG_READAHEAD = 64;
const PG_REMOVED = 128;

export class CachedPage implements Page {
  private flags = 0;
  dirtiedAt = 0;
  /** References held by readers and writers working on the page (get_page / put_page). */
  pins = 0;
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

  private flag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }

  get uptodate(): boolean {
    return (this.flags & PG_UPTODATE) !== 0;
  }
  set uptodate(on: boolean) {
    this.flag(PG_UPTODATE, on);
  }
  get dirty(): boolean {
    return (this.flags & PG_DIRTY) !== 0;
  }
  set dirty(on: boolean) {
    this.flag(PG_DIRTY, on);
  }
  get writeback(): boolean {
    return (this.flags & PG_WRITEBACK) !== 0;
  }
  set writeback(on: boolean) {
    this.flag(PG_WRITEBACK, on);
  }
  get locked(): boolean {
    return (this.flags & PG_LOCKED) !== 0;
  }
  set locked(on: boolean) {
    this.flag(PG_LOCKED, on);
  }
  get referenced(): boolean {
    return (this.flags & PG_REFERENCED) !== 0;
  }
  set referenced(on: boolean) {
    this.flag(PG_REFERENCED, on);
  }
  get active(): boolean {
    return (this.flags & PG_ACTIVE) !== 0;
  }
  set active(on: boolean) {
    this.flag(PG_ACTIVE, on);
  }
  get readahead(): boolean {
    return (this.flags & PG_READAHEAD) !== 0;
  }
  set readahead(on: boolean) {
    this.flag(PG_READAHEAD, on);
  }
  /** Removed from its mapping (reclaimed, truncated, invalidated); memory is freed at the last unpin. */
  get removed(): boolean {
    return (this.flags & PG_REMOVED) !== 0;
  }
  set removed(on: boolean) {
    this.flag(PG_REMOVED, on);
  }

  /** True when reclaim may free the page now. */
  get reclaimable(): boolean {
    return (this.flags & (PG_DIRTY | PG_WRITEBACK | PG_LOCKED)) === 0 && this.pins === 0;
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
