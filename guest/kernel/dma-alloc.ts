/**
 * The guest kernel's allocator of DMA-able memory: rings, request headers, status
 * bytes, indirect tables, I/O buffers. Whole pages come from a bump pointer over guest
 * RAM; small objects come from per-size free lists (a slab in spirit). Freed memory is
 * reused, so a long run touches a bounded set of guest pages.
 */
import { PAGE_SIZE } from '../../hw/memory.js';

export class DmaAllocator {
  private next: number;
  private readonly freeLists = new Map<number, number[]>();

  /** Allocate from guest-physical [start, end). */
  constructor(
    start: number,
    private readonly end: number,
  ) {
    this.next = start;
  }

  /** `bytes` of memory aligned to `align` (a power of two). Throws when RAM is exhausted (a sizing bug). */
  alloc(bytes: number, align = 8): number {
    const size = sizeClass(bytes, align);
    const list = this.freeLists.get(size);
    if (list && list.length > 0) {
      // Blocks are naturally aligned (pages to a page): a larger alignment must be searched for.
      const natural = size >= PAGE_SIZE ? PAGE_SIZE : size;
      if (align <= natural) return list.pop()!;
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i] % align === 0) return list.splice(i, 1)[0];
      }
    }
    // Natural alignment: a block of a size class is aligned to its size (pages to a page).
    const a = Math.max(align, size >= PAGE_SIZE ? PAGE_SIZE : size);
    const addr = Math.ceil(this.next / a) * a;
    if (addr + size > this.end) throw new Error(`guest dma allocator: out of memory allocating ${bytes} bytes`);
    this.next = addr + size;
    return addr;
  }

  free(addr: number, bytes: number, align = 8): void {
    const size = sizeClass(bytes, align);
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(addr);
  }
}

function sizeClass(bytes: number, align: number): number {
  const n = Math.max(bytes, align, 8);
  // Small sizes round up to a power of two (32 - clz32(n - 1) is ceil(log2 n)).
  return n >= PAGE_SIZE ? Math.ceil(n / PAGE_SIZE) * PAGE_SIZE : 1 << (32 - Math.clz32(n - 1));
}
