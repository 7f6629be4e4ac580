/**
 * The host memory behind guest pages: 4 KiB pages carved from slabs (one ArrayBuffer
 * each), as a kernel's page allocator takes pages from larger blocks.
 *
 * Without preallocation the first slab holds FIRST_SLAB_PAGES and each next one twice its
 * predecessor, up to MAX_SLAB_PAGES (64 MiB): a guest that touches a few pages costs little,
 * and one whose page cache fills hundreds of megabytes allocates a handful of buffers, not
 * thousands — every new ArrayBuffer counts towards V8's young-generation backing-store
 * limit, past which each one allocated forces a scavenge. The host commits a slab's memory
 * only as its pages are first written, and on a virtual machine that first write is a page
 * fault costing several times the copy that caused it.
 *
 * Preallocation is QEMU's `-mem-prealloc` (the `prealloc` property of the RAM backend):
 * host memory for all of guest RAM is allocated and every page of it touched before the
 * guest starts (qemu_prealloc_mem touches one byte per page), so the guest never waits for
 * the host to find a page. Here that is slabs of up to PREALLOC_SLAB_BYTES covering RAM,
 * each page written once; their pages are handed out before any new slab is made.
 */
import { Buffer } from 'node:buffer';
import { PAGE_SIZE } from './page.js';

const FIRST_SLAB_PAGES = 64;
const MAX_SLAB_PAGES = 16384;
/** The largest single slab of a preallocation (an ArrayBuffer well under Node's limit). */
const PREALLOC_SLAB_BYTES = 2 ** 30;

export class PageSlabs {
  /** The slab new pages are carved from, its size in pages, and how many are handed out. */
  private slab: ArrayBuffer | undefined;
  private slabPages = FIRST_SLAB_PAGES / 2;
  private slabUsed = 0;
  /** Whether the current slab's pages not yet handed out are known to hold zeroes. */
  private slabZeroed = false;
  /** Preallocated slabs not yet carved from, in order. */
  private readonly reserved: ArrayBuffer[] = [];
  /** Pages given back, reused before new slab pages. */
  private readonly free: Uint8Array[] = [];
  /** Bytes allocated and touched by preallocate(). */
  preallocatedBytes = 0;

  /**
   * Allocate `bytes` (rounded up to whole pages) of host memory now and touch every page of
   * it, so that handing those pages out later costs no host page fault.
   */
  preallocate(bytes: number): void {
    let left = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    while (left > 0) {
      const n = Math.min(left, PREALLOC_SLAB_BYTES);
      // A new ArrayBuffer reads as zeroes; writing one byte of each page makes the host commit it.
      const b = new ArrayBuffer(n);
      const u8 = new Uint8Array(b);
      for (let at = 0; at < n; at += PAGE_SIZE) u8[at] = 0;
      this.reserved.push(b);
      this.preallocatedBytes += n;
      left -= n;
    }
  }

  /**
   * A page: a given-back one, else the next of the current slab. Zeroed unless
   * `uninitialized` (the caller overwrites all of it before anything reads it).
   */
  take(uninitialized: boolean): Uint8Array {
    const free = this.free.pop();
    if (free !== undefined) return uninitialized ? free : free.fill(0);
    if (this.slab === undefined || this.slabUsed === this.slabPages) this.nextSlab();
    const p = new Uint8Array(this.slab!, PAGE_SIZE * this.slabUsed++, PAGE_SIZE);
    return uninitialized || this.slabZeroed ? p : p.fill(0);
  }

  /** Take `p` back for reuse (its owner no longer needs its content, and nobody else holds it). */
  giveBack(p: Uint8Array): void {
    this.free.push(p);
  }

  private nextSlab(): void {
    const reserved = this.reserved.shift();
    if (reserved !== undefined) {
      this.slab = reserved;
      this.slabPages = reserved.byteLength / PAGE_SIZE;
      this.slabZeroed = true;
    } else {
      this.slabPages = Math.min(this.slabPages * 2, MAX_SLAB_PAGES);
      // Not cleared as a whole: a page is zeroed when it is handed out for anything but a whole overwrite.
      this.slab = Buffer.allocUnsafeSlow(this.slabPages * PAGE_SIZE).buffer;
      this.slabZeroed = false;
    }
    this.slabUsed = 0;
  }
}
