/**
 * Guest physical memory: sparse, bounds-checked, little-endian.
 *
 * RAM occupies guest-physical addresses [0, size). Pages (4 KiB) are allocated on first
 * write; a page never written reads as zeroes and costs nothing, so a guest with 1 TiB of
 * RAM costs host memory only for the pages it touched.
 *
 * Memory is passed to every driver and device call, never owned by them (rust-vmm's
 * rule). Addresses a guest controls must be checked with `contains()` before use: an
 * access outside RAM is a simulator bug and throws `GuestMemoryFault`.
 */

import { freeze, isFrozen } from './frozen.js';
import { PAGE_SIZE } from './page.js';
import { PageSlabs } from './page-slabs.js';
import { SparseIndex } from '../sim/sparse-index.js';

export { PAGE_SIZE };
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
const TLB_SIZE = 64;
const TLB_MASK = TLB_SIZE - 1;

export class GuestMemoryFault extends Error {
  constructor(
    readonly addr: number,
    readonly len: number,
    readonly size: number,
  ) {
    super(`guest memory: access of ${len} bytes at 0x${addr.toString(16)} is outside RAM [0, 0x${size.toString(16)})`);
  }
}

/** A scatter-gather element: `len` bytes at guest-physical `addr`. */
export interface SgElem {
  addr: number;
  len: number;
}

export class GuestMemory {
  /** Pages that exist, by frame number. */
  private readonly pages = new SparseIndex<Uint8Array>();
  /** A small direct-mapped cache of pfn → page (only pages that exist), so ring and buffer pages do not evict each other. */
  private readonly tlbPfn = new Float64Array(TLB_SIZE).fill(-1);
  private readonly tlbPage: (Uint8Array | undefined)[] = new Array(TLB_SIZE).fill(undefined);
  /** The same for writing: only pages that may be written in place (never a frozen one: see lendPage). */
  private readonly wtlbPfn = new Float64Array(TLB_SIZE).fill(-1);
  private readonly wtlbPage: (Uint8Array | undefined)[] = new Array(TLB_SIZE).fill(undefined);
  /** The host memory pages are taken from (hw/page-slabs.ts). */
  private readonly slabs = new PageSlabs();

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`guest memory: bad RAM size ${size}`);
  }

  /** Pages that hold data (the host memory this guest costs). */
  get pagesTouched(): number {
    return this.pages.size;
  }

  /** True when [addr, addr+len) lies inside RAM (len may be 0). */
  contains(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.size;
  }

  private check(addr: number, len: number): void {
    // The hot path: callers pass integers (guest-controlled values were checked with contains()).
    if (!(addr >= 0 && len >= 0 && addr + len <= this.size)) throw new GuestMemoryFault(addr, len, this.size);
  }

  /** The page holding pfn for reading (a shared zero page when never written). */
  private rpage(pfn: number): Uint8Array {
    const slot = pfn & TLB_MASK;
    if (this.tlbPfn[slot] === pfn) return this.tlbPage[slot]!;
    const p = this.pages.get(pfn);
    if (p === undefined) return ZERO_PAGE;
    this.tlbPfn[slot] = pfn;
    this.tlbPage[slot] = p;
    return p;
  }

  /**
   * The page holding pfn for writing (allocated on demand; a frozen page is replaced by a
   * copy first). With `whole`, the caller overwrites every byte before anything reads the
   * page, so a new page need not be zeroed nor a frozen one copied.
   */
  private wpage(pfn: number, whole = false): Uint8Array {
    const slot = pfn & TLB_MASK;
    if (this.wtlbPfn[slot] === pfn) return this.wtlbPage[slot]!;
    let p = this.pages.get(pfn);
    if (p === undefined) {
      p = this.slabs.take(whole);
      this.pages.set(pfn, p);
    } else if (isFrozen(p)) {
      // Lent to the host, which may still hold it: the guest writes into a copy from now on.
      const copy = this.slabs.take(true);
      if (!whole) copy.set(p);
      p = copy;
      this.pages.set(pfn, p);
    }
    this.tlbPfn[slot] = pfn;
    this.tlbPage[slot] = p;
    this.wtlbPfn[slot] = pfn;
    this.wtlbPage[slot] = p;
    return p;
  }

  /**
   * The page at page-aligned `addr`, frozen (see hw/frozen.ts), for a device that hands
   * the guest's bytes to a consumer that may keep them (QEMU's zero-copy mapping of guest
   * memory, made safe by copy-on-write): the guest's next write to that page goes to a
   * copy. Undefined when `addr` is not page-aligned or the page was never written (it
   * reads as zeroes and there is nothing to lend).
   */
  lendPage(addr: number): Uint8Array | undefined {
    this.check(addr, PAGE_SIZE);
    if (addr % PAGE_SIZE !== 0) return undefined;
    const pfn = addr / PAGE_SIZE;
    const p = this.pages.get(pfn);
    if (p === undefined) return undefined;
    freeze(p);
    this.forgetCached(pfn, false);
    return p;
  }

  read8(addr: number): number {
    this.check(addr, 1);
    return this.rpage(Math.floor(addr / PAGE_SIZE))[addr % PAGE_SIZE];
  }

  write8(addr: number, v: number): void {
    this.check(addr, 1);
    this.wpage(Math.floor(addr / PAGE_SIZE))[addr % PAGE_SIZE] = v;
  }

  read16(addr: number): number {
    this.check(addr, 2);
    const off = addr % PAGE_SIZE;
    if (off <= PAGE_SIZE - 2) {
      const p = this.rpage(Math.floor(addr / PAGE_SIZE));
      return p[off] | (p[off + 1] << 8);
    }
    return this.readSlowLE(addr, 2);
  }

  write16(addr: number, v: number): void {
    this.check(addr, 2);
    const off = addr % PAGE_SIZE;
    if (off <= PAGE_SIZE - 2) {
      const p = this.wpage(Math.floor(addr / PAGE_SIZE));
      p[off] = v & 0xff;
      p[off + 1] = (v >>> 8) & 0xff;
      return;
    }
    this.writeSlowLE(addr, 2, v);
  }

  read32(addr: number): number {
    this.check(addr, 4);
    const off = addr % PAGE_SIZE;
    if (off <= PAGE_SIZE - 4) {
      const p = this.rpage(Math.floor(addr / PAGE_SIZE));
      return (p[off] | (p[off + 1] << 8) | (p[off + 2] << 16) | (p[off + 3] << 24)) >>> 0;
    }
    return this.readSlowLE(addr, 4);
  }

  write32(addr: number, v: number): void {
    this.check(addr, 4);
    const off = addr % PAGE_SIZE;
    if (off <= PAGE_SIZE - 4) {
      const p = this.wpage(Math.floor(addr / PAGE_SIZE));
      p[off] = v & 0xff;
      p[off + 1] = (v >>> 8) & 0xff;
      p[off + 2] = (v >>> 16) & 0xff;
      p[off + 3] = (v >>> 24) & 0xff;
      return;
    }
    this.writeSlowLE(addr, 4, v);
  }

  /**
   * A le64 as a JavaScript number. Values above 2^53 lose precision but stay above any
   * RAM size, so a range check on the result still refuses them.
   */
  read64(addr: number): number {
    const lo = this.read32(addr);
    const hi = this.read32(addr + 4);
    return hi * 0x1_0000_0000 + lo;
  }

  /** A le64, exactly. */
  read64Big(addr: number): bigint {
    return (BigInt(this.read32(addr + 4)) << 32n) | BigInt(this.read32(addr));
  }

  write64(addr: number, v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.write32(addr, v % 0x1_0000_0000);
      this.write32(addr + 4, Math.floor(v / 0x1_0000_0000));
      return;
    }
    const b = BigInt.asUintN(64, BigInt(v));
    this.write32(addr, Number(b & 0xffffffffn));
    this.write32(addr + 4, Number(b >> 32n));
  }

  private readSlowLE(addr: number, n: number): number {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + this.read8(addr + i);
    return v;
  }

  private writeSlowLE(addr: number, n: number, v: number): void {
    for (let i = 0; i < n; i++) {
      this.write8(addr + i, v & 0xff);
      v = Math.floor(v / 256);
    }
  }

  /** Copy `dst.length` bytes from guest `addr` into `dst`. */
  readInto(addr: number, dst: Uint8Array): void {
    this.check(addr, dst.length);
    let done = 0;
    while (done < dst.length) {
      const a = addr + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, dst.length - done);
      const p = this.pages.get(Math.floor(a / PAGE_SIZE));
      if (p) dst.set(p.subarray(off, off + n), done);
      else dst.fill(0, done, done + n);
      done += n;
    }
  }

  /** A fresh copy of `len` bytes at `addr`. */
  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(addr, out);
    return out;
  }

  /**
   * The page at page-aligned `addr`, for a caller that overwrites all of it before anything
   * reads it (a whole-page copy): its content until then is unspecified, so a page never
   * written is not zeroed first and a frozen one is not copied.
   */
  pageForOverwrite(addr: number): Uint8Array {
    this.check(addr, PAGE_SIZE);
    if (addr % PAGE_SIZE !== 0) throw new Error(`guest memory: pageForOverwrite at 0x${addr.toString(16)}, not a page boundary`);
    return this.wpage(addr / PAGE_SIZE, true);
  }

  /**
   * The page holding [addr, addr+len) when the range lies inside one page (the caller
   * indexes it at `addr % PAGE_SIZE`), for writing structures in place; undefined when
   * the range crosses a page. Allocates the page.
   */
  pageForWrite(addr: number, len: number): Uint8Array | undefined {
    this.check(addr, len);
    const off = addr % PAGE_SIZE;
    return off + len <= PAGE_SIZE ? this.wpage(Math.floor(addr / PAGE_SIZE)) : undefined;
  }

  /** Like pageForWrite, for reading: never-written pages read as a shared zero page. */
  pageForRead(addr: number, len: number): Uint8Array | undefined {
    this.check(addr, len);
    const off = addr % PAGE_SIZE;
    return off + len <= PAGE_SIZE ? this.rpage(Math.floor(addr / PAGE_SIZE)) : undefined;
  }

  /**
   * The bytes at [addr, addr+len) without copying when they lie in one page (a view of
   * that page, valid only until guest memory next changes), else a copy. This is how a
   * device hands a guest buffer to a consumer that copies it at once, as QEMU maps guest
   * memory into an iovec instead of bouncing it.
   */
  view(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    const off = addr % PAGE_SIZE;
    if (off + len > PAGE_SIZE) return this.read(addr, len);
    const p = this.rpage(Math.floor(addr / PAGE_SIZE));
    // A view made directly on the page's buffer (cheaper than subarray, which looks up a species constructor).
    return new Uint8Array(p.buffer, p.byteOffset + off, len);
  }

  /** Copy `src` into guest memory at `addr`. */
  write(addr: number, src: Uint8Array): void {
    this.check(addr, src.length);
    let done = 0;
    while (done < src.length) {
      const a = addr + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, src.length - done);
      this.wpage(Math.floor(a / PAGE_SIZE), n === PAGE_SIZE).set(src.subarray(done, done + n), off);
      done += n;
    }
  }

  /** Set `len` bytes at `addr` to `value`. Filling untouched pages with zero allocates nothing. */
  fill(addr: number, len: number, value = 0): void {
    this.check(addr, len);
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, len - done);
      const pfn = Math.floor(a / PAGE_SIZE);
      if (value === 0 && !this.pages.has(pfn)) {
        done += n;
        continue;
      }
      this.wpage(pfn).fill(value, off, off + n);
      done += n;
    }
  }

  /**
   * QEMU's -mem-prealloc: commit host memory for all of RAM now, before the guest runs, so
   * that no page the guest first writes waits for the host (hw/page-slabs.ts).
   */
  preallocate(): void {
    this.slabs.preallocate(this.size);
  }

  /** Bytes of host memory committed up front by preallocate(). */
  get preallocatedBytes(): number {
    return this.slabs.preallocatedBytes;
  }

  /** Drop a page's storage (the guest freed it and we no longer need its content). */
  discardPage(pfn: number): void {
    const p = this.pages.get(pfn);
    if (p === undefined) return;
    if (!isFrozen(p)) this.slabs.giveBack(p);
    this.pages.delete(pfn);
    this.forgetCached(pfn, true);
  }

  /** Drop pfn from the write-side page cache and, with `forReading` too, from the read side. */
  private forgetCached(pfn: number, forReading: boolean): void {
    const slot = pfn & TLB_MASK;
    if (this.wtlbPfn[slot] === pfn) {
      this.wtlbPfn[slot] = -1;
      this.wtlbPage[slot] = undefined;
    }
    if (forReading && this.tlbPfn[slot] === pfn) {
      this.tlbPfn[slot] = -1;
      this.tlbPage[slot] = undefined;
    }
  }
}

export { dmaGather, dmaScatter, sgBytes } from './dma.js';
