/**
 * The page cache's shared state and the page lifecycle every path goes through:
 * insertion (add_to_page_cache_lru), lock and unlock, pins (page references), dirtying
 * (account_page_dirtied), writeback start and end, removal (__delete_from_page_cache),
 * the global counters (NR_FILE_PAGES, NR_FILE_DIRTY, NR_WRITEBACK), the dirty thresholds
 * (global_dirty_limits), and the trace events. The paths (read, write, writeback,
 * reclaim, invalidate) are in their own files and share this.
 */
import { PAGE_SIZE, type GuestMemory } from '../../hw/memory.js';
import type { CostModel, CostName } from '../../sim/costs.js';
import type { Clock } from '../../sim/clock.js';
import type { Simulator } from '../../sim/simulator.js';
import type { PageCacheReason, PageCacheWhat, Trace } from '../../sim/trace.js';
import type { PageAllocator } from '../kernel/page-alloc.js';
import { Lru, inactiveRatio } from './lru.js';
import type { Mapping } from './mapping.js';
import { CachedPage, WaitQueue } from './page.js';
import { PageList } from './page-list.js';
import type { VmSysctl } from './sysctl.js';

/** Dirty thresholds in pages, from the memory available now. */
export interface DirtyThresholds {
  /** global_dirtyable_memory: free pages + page-cache pages. */
  dirtyable: number;
  /** Above this many dirty pages the flusher writes in the background. */
  background: number;
  /** Above this many dirty + writeback pages a writer is throttled. */
  limit: number;
}

export class PageCacheCore {
  readonly lru = new Lru();
  /** Dirty pages in the order they became dirty, oldest first (across mappings). */
  readonly dirtyList = new PageList<CachedPage>('dirtyPrev', 'dirtyNext');
  /** Every mapping with pages or owners, in creation order. */
  readonly mappings = new Set<Mapping>();
  /** Woken when pages finish I/O or are freed: allocators and throttled writers wait here. */
  readonly progress = new WaitQueue();
  /** wb->dirty_exceeded: a writer found the dirty limit exceeded and it is not yet back under. */
  dirtyExceeded = false;
  /** Called when a page goes from clean to dirty (the flusher arms its timer). */
  onDirtied: () => void = () => {};
  nrPages = 0;
  nrDirty = 0;
  nrWriteback = 0;
  nrLocked = 0;
  /** Pages with at least one pin. */
  nrPinned = 0;
  readonly inactiveRatio: number;

  constructor(
    readonly sim: Simulator,
    readonly trace: Trace,
    readonly costs: CostModel,
    readonly mem: GuestMemory,
    readonly pages: PageAllocator,
    public sysctl: VmSysctl,
    /** The guest's time (it stops with the VM): dirty ages and writeback deadlines. */
    readonly clock: Clock = sim,
  ) {
    this.inactiveRatio = inactiveRatio(pages.totalPages * PAGE_SIZE);
  }

  /** Charge `n` occurrences of a named cost to the work running now. */
  charge(name: CostName, n = 1): void {
    if (n > 0) this.sim.advance(this.costs.ns(name) * n);
  }

  chargeCopy(bytes: number): void {
    this.sim.advance(this.costs.bytes('copy.byte', bytes));
  }

  emit(what: PageCacheWhat, mapping: Mapping, index: number, pages: number, reason?: PageCacheReason): void {
    if (!this.trace.active || pages <= 0) return;
    this.trace.emit(reason === undefined ? { kind: 'pagecache', t: this.sim.now, mapping: mapping.name, what, index, pages } : { kind: 'pagecache', t: this.sim.now, mapping: mapping.name, what, index, pages, reason });
  }

  /** Emit one event per run of consecutive indexes of each mapping (`pages` in any order). */
  emitRuns(what: PageCacheWhat, pages: readonly CachedPage[], reason?: PageCacheReason): void {
    if (!this.trace.active || pages.length === 0) return;
    const sorted = [...pages].sort((a, b) => a.mapping.id - b.mapping.id || a.index - b.index);
    let first = sorted[0];
    let n = 1;
    for (let i = 1; i <= sorted.length; i++) {
      const p = sorted[i];
      if (p && p.mapping === first.mapping && p.index === first.index + n) {
        n++;
        continue;
      }
      this.emit(what, first.mapping, first.index, n, reason);
      if (p) {
        first = p;
        n = 1;
      }
    }
  }

  /** add_to_page_cache_lru: a new page at `index` of `mapping`, locked and not uptodate, on the inactive list. */
  insert(mapping: Mapping, index: number, addr: number): CachedPage {
    if (mapping.pages.has(index)) throw new Error(`pagecache: ${mapping.name} already has page ${index}`);
    const page = new CachedPage(mapping, index, addr);
    page.locked = true;
    this.nrLocked++;
    mapping.pages.set(index, page);
    this.lru.add(page);
    this.nrPages++;
    return page;
  }

  /**
   * Remove an unlocked page not under writeback from its mapping and the LRU, cancelling
   * its dirty state (truncate). Its memory goes back to the allocator now, or at the last
   * unpin if a reader or writer still holds it.
   */
  remove(page: CachedPage): void {
    if (page.removed) return;
    if (page.locked || page.writeback) throw new Error(`pagecache: removing busy page ${page.index} of ${page.mapping.name}`);
    if (page.dirty) this.clearDirty(page);
    page.mapping.pages.delete(page.index);
    this.lru.remove(page);
    page.removed = true;
    page.readahead = false;
    this.nrPages--;
    if (page.pins === 0) this.pages.freePage(page.addr);
  }

  lock(page: CachedPage): void {
    if (page.locked) throw new Error(`pagecache: page ${page.index} of ${page.mapping.name} locked twice`);
    page.locked = true;
    this.nrLocked++;
  }

  /** unlock_page: wake whoever waits on the page. */
  unlock(page: CachedPage): void {
    if (!page.locked) throw new Error(`pagecache: unlocking unlocked page ${page.index} of ${page.mapping.name}`);
    page.locked = false;
    this.nrLocked--;
    page.wake();
  }

  pin(page: CachedPage): void {
    if (page.pins++ === 0) this.nrPinned++;
  }

  unpin(page: CachedPage): void {
    if (page.pins <= 0) throw new Error(`pagecache: unpinning unpinned page ${page.index} of ${page.mapping.name}`);
    if (--page.pins === 0) {
      this.nrPinned--;
      if (page.removed) this.pages.freePage(page.addr);
    }
  }

  /** set_page_dirty: returns true when the page was clean (now dirty since `now`). */
  markDirty(page: CachedPage): boolean {
    if (page.removed) throw new Error(`pagecache: dirtying removed page ${page.index} of ${page.mapping.name}`);
    if (page.dirty) return false;
    page.dirty = true;
    page.dirtiedAt = this.clock.now;
    page.mapping.dirtyPages.add(page);
    this.dirtyList.add(page);
    this.nrDirty++;
    this.onDirtied();
    return true;
  }

  private clearDirty(page: CachedPage): void {
    page.dirty = false;
    page.mapping.dirtyPages.delete(page);
    this.dirtyList.delete(page);
    this.nrDirty--;
  }

  /** clear_page_dirty_for_io + set_page_writeback. */
  startWriteback(page: CachedPage): void {
    if (!page.dirty || page.writeback) throw new Error(`pagecache: page ${page.index} of ${page.mapping.name} is not ready for writeback`);
    this.clearDirty(page);
    page.writeback = true;
    page.mapping.writebackPages.add(page);
    this.nrWriteback++;
  }

  /** end_page_writeback: clean-but-busy becomes clean; waiters wake. */
  endWriteback(page: CachedPage): void {
    page.writeback = false;
    page.mapping.writebackPages.delete(page);
    this.nrWriteback--;
    page.wake();
  }

  /** global_dirty_limits over global_dirtyable_memory (free + file LRU pages). */
  thresholds(): DirtyThresholds {
    const s = this.sysctl;
    const dirtyable = this.pages.freePages + this.nrPages;
    const limit = s.dirty_bytes ? Math.ceil(s.dirty_bytes / PAGE_SIZE) : Math.floor((s.dirty_ratio * dirtyable) / 100);
    let background = s.dirty_background_bytes ? Math.ceil(s.dirty_background_bytes / PAGE_SIZE) : Math.floor((s.dirty_background_ratio * dirtyable) / 100);
    if (background >= limit) background = Math.floor(limit / 2);
    return { dirtyable, background, limit };
  }
}

/**
 * Collects per-page hits, misses or dirtyings of one operation into runs of consecutive
 * pages, one trace event per run, stamped when its first page was seen.
 */
export class RunEmitter {
  /* The run being collected (none while `pages` is 0), in fields rather than an object per run. */
  private what: PageCacheWhat = 'hit';
  private mapping: Mapping | undefined;
  private index = 0;
  private pages = 0;
  private t = 0;

  constructor(private readonly core: PageCacheCore) {}

  add(what: PageCacheWhat, mapping: Mapping, index: number): void {
    if (this.pages > 0 && this.what === what && this.mapping === mapping && this.index + this.pages === index) {
      this.pages++;
      return;
    }
    this.flush();
    this.what = what;
    this.mapping = mapping;
    this.index = index;
    this.pages = 1;
    this.t = this.core.sim.now;
  }

  flush(): void {
    const pages = this.pages;
    const mapping = this.mapping;
    this.pages = 0;
    this.mapping = undefined;
    if (pages > 0 && mapping !== undefined && this.core.trace.active) this.core.trace.emit({ kind: 'pagecache', t: this.t, mapping: mapping.name, what: this.what, index: this.index, pages });
  }
}
