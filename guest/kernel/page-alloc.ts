/**
 * The guest kernel's page allocator (alloc_pages / __free_pages at order 0): whole 4 KiB
 * pages of guest RAM from a fixed range, the memory left after the kernel's own
 * reservations (its DMA area, user buffers). A bump pointer hands out pages never used;
 * freed pages go on a LIFO free list and are handed out first, so a long run touches a
 * bounded set of guest pages, and the order pages are handed out in is deterministic.
 *
 * The allocator never blocks and never reclaims: when it is empty `allocPage` answers
 * `undefined`, and the caller (the page cache) reclaims or waits, as the slow path of
 * Linux's allocator does.
 */
import { PAGE_SIZE, type GuestMemory } from '../../hw/memory.js';

export class PageAllocator {
  private next: number;
  private readonly free: number[] = [];
  /** The same pages as `free`, to catch a double free. */
  private readonly freeSet = new Set<number>();
  private used = 0;
  /** Pages in the range. */
  readonly totalPages: number;

  /**
   * Hand out pages of guest-physical [start, end) (both page-aligned). When `mem` is
   * given, a freed page's contents are dropped from the host's copy of guest RAM.
   */
  constructor(
    readonly start: number,
    readonly end: number,
    private readonly mem?: GuestMemory,
  ) {
    if (start % PAGE_SIZE !== 0 || end % PAGE_SIZE !== 0 || end < start) {
      throw new Error(`page allocator: bad range [0x${start.toString(16)}, 0x${end.toString(16)})`);
    }
    if (mem && end > mem.size) throw new Error(`page allocator: range ends at 0x${end.toString(16)}, beyond RAM (0x${mem.size.toString(16)})`);
    this.next = start;
    this.totalPages = (end - start) / PAGE_SIZE;
  }

  /** Pages handed out and not yet freed. */
  get usedPages(): number {
    return this.used;
  }

  /** Pages that can be handed out now (NR_FREE_PAGES). */
  get freePages(): number {
    return this.totalPages - this.used;
  }

  /** One page (its guest-physical address), or `undefined` when none is free. */
  allocPage(): number | undefined {
    let addr = this.free.pop();
    if (addr !== undefined) this.freeSet.delete(addr);
    else {
      if (this.next >= this.end) return undefined;
      addr = this.next;
      this.next += PAGE_SIZE;
    }
    this.used++;
    return addr;
  }

  /** Give back a page from `allocPage`. Freeing a page twice or a foreign page is a simulator bug. */
  freePage(addr: number): void {
    if (addr % PAGE_SIZE !== 0 || addr < this.start || addr >= this.next) {
      throw new Error(`page allocator: freeing 0x${addr.toString(16)}, which it never handed out`);
    }
    if (this.freeSet.has(addr)) throw new Error(`page allocator: page 0x${addr.toString(16)} freed twice`);
    this.used--;
    this.free.push(addr);
    this.freeSet.add(addr);
    this.mem?.discardPage(addr / PAGE_SIZE);
  }
}
