/**
 * Page reclaim for the page cache (mm/vmscan.c, much simplified) and the allocation slow
 * path that uses it.
 *
 * - `tryAlloc`: a free page, else one reclaim pass of up to SWAP_CLUSTER_MAX pages and a
 *   second try. Readahead allocates this way and gives up when it fails (__GFP_NORETRY).
 * - `waitForMemory`: when even that fails, kick the flusher to write dirty pages
 *   (WB_REASON_VMSCAN) and make the allocating task wait until pages finish I/O; report
 *   out-of-memory only when nothing will ever come back (no dirty, writeback, locked or
 *   pinned page in the cache).
 * - `shrink`: keep the inactive list at least 1/ratio of the active one, then scan the
 *   inactive list from its tail; only clean, unlocked, not-under-writeback, unpinned pages
 *   are freed, the others go back to the head. If the inactive list yields nothing, the
 *   active list is deactivated once more and scanned again.
 * - `dropCaches` (echo 1 > /proc/sys/vm/drop_caches): every clean unused page goes.
 */
import type { Task } from '../kernel/task.js';
import type { PageCacheCore } from './core.js';
import type { Flusher } from './flusher.js';
import type { CachedPage } from './page.js';

/** Pages reclaimed per pass (SWAP_CLUSTER_MAX). */
export const SWAP_CLUSTER_MAX = 32;

export class Reclaimer {
  constructor(
    private readonly core: PageCacheCore,
    private readonly flusher: Flusher,
  ) {}

  /** A page of memory without waiting, or undefined. */
  tryAlloc(): number | undefined {
    const core = this.core;
    let addr = core.pages.allocPage();
    if (addr === undefined && this.shrink(SWAP_CLUSTER_MAX) > 0) addr = core.pages.allocPage();
    if (addr !== undefined) core.charge('guest.pagecache.alloc');
    return addr;
  }

  /**
   * No page could be had: start writeback and call `retry(true)` as `task` once pages come
   * back; `retry(false)` at once when none ever will (ENOMEM).
   */
  waitForMemory(task: Task, retry: (ok: boolean) => void): void {
    const core = this.core;
    if (core.nrDirty > 0) this.flusher.kickVmscan();
    if (core.nrDirty === 0 && core.nrWriteback === 0 && core.nrLocked === 0 && core.nrPinned === 0) {
      retry(false);
      return;
    }
    task.sleep();
    core.progress.add(() => task.run('page alloc: retry after reclaim', () => retry(true)));
  }

  /** Free up to `nr` clean pages from the LRU tail. Returns how many were freed. */
  shrink(nr: number): number {
    const core = this.core;
    const lru = core.lru;
    lru.balance(core.inactiveRatio, SWAP_CLUSTER_MAX);
    let freed = this.scanInactive(nr);
    if (freed === 0 && lru.active.size > 0) {
      lru.deactivate(Math.max(nr, SWAP_CLUSTER_MAX));
      freed = this.scanInactive(nr);
    }
    if (freed > 0) core.progress.wakeAll();
    return freed;
  }

  private scanInactive(nr: number): number {
    const core = this.core;
    const list = core.lru.inactive;
    const limit = list.size;
    const freed: CachedPage[] = [];
    const skipped: CachedPage[] = [];
    let scanned = 0;
    for (const p of list) {
      if (scanned >= limit || freed.length >= nr) break;
      scanned++;
      if (p.reclaimable) freed.push(p);
      else skipped.push(p);
    }
    for (const p of freed) core.remove(p);
    for (const p of skipped) core.lru.rotate(p);
    core.charge('guest.pagecache.reclaim-scan', scanned);
    core.emitRuns('reclaim', freed, 'vmscan');
    return freed.length;
  }

  /** drop_caches = 1: free every clean, unlocked, unused page. Returns how many. */
  dropCaches(): number {
    const core = this.core;
    const dropped: CachedPage[] = [];
    let scanned = 0;
    for (const list of [core.lru.inactive, core.lru.active]) {
      for (const p of list) {
        scanned++;
        if (p.reclaimable) dropped.push(p);
      }
    }
    for (const p of dropped) core.remove(p);
    core.charge('guest.pagecache.reclaim-scan', scanned);
    core.emitRuns('reclaim', dropped, 'drop');
    if (dropped.length > 0) core.progress.wakeAll();
    return dropped.length;
  }
}
