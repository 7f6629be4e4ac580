/**
 * The file LRU lists (mm/swap.c, mm/vmscan.c): active and inactive. A new page goes to the
 * inactive list; a second access while it has PG_referenced moves it to the active list
 * (mark_page_accessed). When the inactive list gets short, pages move from the tail of the
 * active list to the inactive list (shrink_active_list); reclaim takes from the tail of the
 * inactive list. A PageList is the list: iteration starts at the tail (the oldest), `add`
 * puts a page at the head.
 */
import type { CachedPage } from './page.js';
import { PageList } from './page-list.js';

export class Lru {
  readonly active = new PageList<CachedPage>('activePrev', 'activeNext');
  readonly inactive = new PageList<CachedPage>('inactivePrev', 'inactiveNext');

  get size(): number {
    return this.active.size + this.inactive.size;
  }

  /** lru_cache_add of a new page: head of the inactive list. */
  add(page: CachedPage): void {
    page.active = false;
    this.inactive.add(page);
  }

  remove(page: CachedPage): void {
    (page.active ? this.active : this.inactive).delete(page);
  }

  /** mark_page_accessed: referenced once → remember; referenced again on the inactive list → activate. */
  markAccessed(page: CachedPage): void {
    if (!page.active && page.referenced) {
      this.inactive.delete(page);
      page.active = true;
      page.referenced = false;
      this.active.add(page);
    } else if (!page.referenced) {
      page.referenced = true;
    }
  }

  /** Put a page reclaim could not take back at the head of its list. */
  rotate(page: CachedPage): void {
    const list = page.active ? this.active : this.inactive;
    list.delete(page);
    list.add(page);
  }

  /**
   * inactive_list_is_low / shrink_active_list: while the inactive list is shorter than the
   * active one divided by `ratio`, move up to `batch` pages from the active tail to the
   * inactive head. Returns how many moved.
   */
  balance(ratio: number, batch: number): number {
    let moved = 0;
    while (moved < batch && this.active.size > 0 && this.inactive.size * ratio < this.active.size) moved += this.deactivate(1);
    return moved;
  }

  /** Move up to `n` pages from the tail of the active list to the head of the inactive list. */
  deactivate(n: number): number {
    let moved = 0;
    for (let page = this.active.oldest(); page !== undefined && moved < n; page = this.active.oldest()) {
      this.active.delete(page);
      page.active = false;
      this.inactive.add(page);
      moved++;
    }
    return moved;
  }
}

/** The inactive:active target ratio for file pages: int_sqrt(10 × GiB of memory), 1 below 1 GiB. */
export function inactiveRatio(totalBytes: number): number {
  const gb = Math.floor(totalBytes / 2 ** 30);
  return gb ? Math.floor(Math.sqrt(10 * gb)) : 1;
}
