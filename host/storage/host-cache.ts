/**
 * The volatile layer of a protocol driver: what the host page cache and a disk's write
 * cache hold between a write and the flush that makes it durable. It is what a power cut
 * loses, and the only place the model decides that.
 *
 * Data is kept in CHUNK-sized pieces. A write lands in a *dirty* copy of its chunk
 * (copied from stable storage first when the write covers the chunk only in part); a
 * read sees dirty chunks over stable storage; `flush` writes the dirty chunks to the
 * `StableStore` and syncs it; `drop` (the power cut) forgets them.
 *
 * Zeroing (discard, write-zeroes) is volatile too, and stays sparse: whole chunks are
 * marked ZERO rather than filled, and a large range is kept as one pending range, so
 * discarding a terabyte costs nothing until it is flushed.
 *
 * Resizing is not cached: it changes stable storage at once (the size is metadata the
 * host file system commits on its own).
 */
import { isFrozen } from '../../hw/frozen.js';
import { DirtyChunks } from './dirty-chunks.js';
import { SlabAllocator } from './slab.js';

export const CHUNK = 4096;

/** Where bytes go when they are flushed. Offsets are within `length` unless stated. */
export interface StableStore {
  readonly length: number;
  /** Fill `out` with the bytes at `offset`; bytes never written (or past the end) read as zero. */
  read(offset: number, out: Uint8Array): void;
  /**
   * Chunk `idx` now holds `data` (CHUNK bytes; the part past `length` is zero). The store
   * may keep `data`; it returns a CHUNK buffer nobody else holds any more (the one `data`
   * replaced, or `data` itself if it was copied), for the cache to reuse.
   */
  writeChunk(idx: number, data: Uint8Array): Uint8Array | undefined;
  /** Chunks [first, end) now read as zeroes (deallocated where the store can). */
  zeroChunks(first: number, end: number): void;
  /** Resize; bytes past the old end read as zeroes. */
  truncate(size: number): void;
  /** Make what was written durable (fdatasync). */
  sync(): void;
  /** Whether chunk `idx` certainly reads as zeroes (never written, or zeroed since): zeroing it again can be skipped. */
  readsZero?(idx: number): boolean;
}

/** Marks a dirty chunk that reads as zeroes (a pending discard). Never written to. */
const ZERO = new Uint8Array(0);

/** Ranges of at most this many whole chunks are marked chunk by chunk; larger ones are kept as a range. */
const RANGE_THRESHOLD = 256;

/**
 * Chunk buffers come from slabs of 16 chunks (so a chunk the memory store keeps pins at
 * most 64 KiB) and are recycled through a free list of at most FREE_MAX.
 */
const SLAB_BYTES = 16 * CHUNK;
const FREE_MAX = 1024;

export class VolatileCache {
  private readonly dirty = new DirtyChunks();
  /** Pending zeroed chunk ranges [first, end), older than any dirty chunk inside them. */
  private zeroRanges: Array<readonly [number, number]> = [];
  private readonly free: Uint8Array[] = [];
  private readonly slabs = new SlabAllocator(SLAB_BYTES, CHUNK, true);

  constructor(private readonly stable: StableStore) {}

  /** Bytes of data waiting to be written back (what a flush costs to write). */
  get dirtyBytes(): number {
    return this.dirty.size * CHUNK;
  }

  /** Dirty data chunks held (host memory the cache costs). */
  get dirtyChunks(): number {
    return this.dirty.size;
  }

  /** What the cache says about chunk `idx`: 'data' (dirty), 'zero' (pending zeroing) or undefined (see stable storage). */
  peek(idx: number): 'data' | 'zero' | undefined {
    const c = this.dirty.get(idx);
    if (c !== undefined) return c === ZERO ? 'zero' : 'data';
    return this.inZeroRange(idx) ? 'zero' : undefined;
  }

  /** Indices of the dirty data chunks. */
  *dataChunks(): IterableIterator<number> {
    for (const [idx, c] of this.dirty) if (c !== ZERO) yield idx;
  }

  read(offset: number, out: Uint8Array): void {
    if (this.dirty.size === 0 && this.zeroRanges.length === 0) {
      this.stable.read(offset, out);
      return;
    }
    const end = offset + out.length;
    let pos = offset;
    let run = -1; // start of a stretch to read from stable storage in one go
    while (pos < end) {
      const idx = Math.floor(pos / CHUNK);
      const base = idx * CHUNK;
      const cEnd = Math.min(base + CHUNK, end);
      const c = this.dirty.get(idx);
      if (c === undefined && !this.inZeroRange(idx)) {
        if (run < 0) run = pos;
      } else {
        if (run >= 0) this.stable.read(run, out.subarray(run - offset, pos - offset));
        run = -1;
        if (c === undefined || c === ZERO) out.fill(0, pos - offset, cEnd - offset);
        else out.set(c.subarray(pos - base, cEnd - base), pos - offset);
      }
      pos = cEnd;
    }
    if (run >= 0) this.stable.read(run, out.subarray(run - offset));
  }

  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    const first = Math.floor(offset / CHUNK);
    if (end > offset && end <= (first + 1) * CHUNK) {
      // Within one chunk (a 4 KiB write at a 4 KiB boundary is the usual case): one copy, no view,
      // or none at all when the data is a whole chunk nobody will change (a lent guest page).
      const base = first * CHUNK;
      const whole = offset === base && end === base + CHUNK;
      if (whole && isFrozen(data)) this.adopt(first, data);
      else this.chunkForWrite(first, whole).set(data, offset - base);
      return;
    }
    let pos = offset;
    while (pos < end) {
      const idx = Math.floor(pos / CHUNK);
      const base = idx * CHUNK;
      const cEnd = Math.min(base + CHUNK, end);
      const c = this.chunkForWrite(idx, pos === base && cEnd === base + CHUNK);
      c.set(data.subarray(pos - offset, cEnd - offset), pos - base);
      pos = cEnd;
    }
  }

  /** The range reads as zeroes from now on (until a power cut undoes it, if not flushed). */
  zero(offset: number, bytes: number): void {
    const end = offset + bytes;
    const first = Math.ceil(offset / CHUNK);
    const last = Math.floor(end / CHUNK);
    if (first >= last) {
      this.zeroSpan(offset, end);
      return;
    }
    this.zeroSpan(offset, first * CHUNK);
    this.zeroSpan(last * CHUNK, end);
    if (last - first <= RANGE_THRESHOLD) {
      // A chunk that reads as zeroes in the cache and below it stays as it is (a fresh qcow2
      // cluster's zeroed tail past the old end of file is the common case).
      for (let i = first; i < last; i++) if (!this.readsZero(i)) this.dirty.set(i, ZERO);
      return;
    }
    for (const k of this.dirty.keys()) if (k >= first && k < last) this.dirty.delete(k);
    this.zeroRanges.push([first, last]);
  }

  /** Write everything back; with `sync`, make it durable (else it only reaches the OS). */
  flush(sync = true): void {
    if (this.zeroRanges.length) {
      for (const [first, end] of this.zeroRanges) this.stable.zeroChunks(first, end);
      this.zeroRanges = [];
    }
    // Consecutive ZERO chunks (marked in order by one discard) go down as one range.
    let zFirst = 0;
    let zEnd = 0;
    for (const [idx, c] of this.dirty) {
      if (c !== ZERO) {
        this.recycle(this.stable.writeChunk(idx, c));
        continue;
      }
      if (idx !== zEnd) {
        if (zEnd > zFirst) this.stable.zeroChunks(zFirst, zEnd);
        zFirst = idx;
      }
      zEnd = idx + 1;
    }
    if (zEnd > zFirst) this.stable.zeroChunks(zFirst, zEnd);
    this.dirty.clear();
    if (sync) this.stable.sync();
  }

  /** The power cut: everything not flushed is gone. */
  drop(): void {
    for (const c of this.dirty.values()) if (c !== ZERO) this.recycle(c);
    this.dirty.clear();
    this.zeroRanges = [];
  }

  truncate(size: number): void {
    const keep = Math.ceil(size / CHUNK);
    // Growing (qcow2 appending a cluster) keeps every dirty chunk: only a shrink scans them.
    if (size < this.stable.length) for (const k of this.dirty.keys()) if (k >= keep) this.dirty.delete(k);
    this.zeroRanges = this.zeroRanges.filter(([f]) => f < keep).map(([f, e]) => [f, Math.min(e, keep)] as const);
    const tail = size % CHUNK;
    const c = tail ? this.dirty.get(keep - 1) : undefined;
    if (c !== undefined && c !== ZERO) this.chunkForWrite(keep - 1, false).fill(0, tail);
    this.stable.truncate(size);
  }

  /** Chunk `idx` reads as zeroes now: a pending zeroing in the cache, or nothing cached and zero below. */
  private readsZero(idx: number): boolean {
    const p = this.peek(idx);
    return p === 'zero' || (p === undefined && this.stable.readsZero?.(idx) === true);
  }

  private inZeroRange(idx: number): boolean {
    const r = this.zeroRanges;
    for (let i = 0; i < r.length; i++) if (idx >= r[i][0] && idx < r[i][1]) return true;
    return false;
  }

  /** Chunk `idx` is `data` now, kept as it is (it is frozen: see hw/frozen.ts). */
  private adopt(idx: number, data: Uint8Array): void {
    const old = this.dirty.get(idx);
    this.dirty.set(idx, data);
    if (old !== undefined && old !== ZERO) this.recycle(old);
  }

  /** The dirty copy of chunk `idx`, made if needed; `whole` when the caller overwrites all of it. */
  private chunkForWrite(idx: number, whole: boolean): Uint8Array {
    const c = this.dirty.get(idx);
    if (c !== undefined && c !== ZERO) {
      if (!isFrozen(c)) return c;
      // A kept guest page is never written in place: this chunk gets a copy of its own.
      const copy = this.alloc();
      if (!whole) copy.set(c);
      this.dirty.set(idx, copy);
      return copy;
    }
    const fresh = this.alloc();
    if (!whole) {
      // The caller writes only part of it: the rest is what the chunk held before.
      if (c === undefined && !this.inZeroRange(idx)) this.stable.read(idx * CHUNK, fresh);
      else fresh.fill(0);
    }
    this.dirty.set(idx, fresh);
    return fresh;
  }

  /** A CHUNK buffer with unspecified content. */
  private alloc(): Uint8Array {
    return this.free.pop() ?? this.slabs.alloc(CHUNK);
  }

  private recycle(c: Uint8Array | undefined): void {
    if (c && c.length === CHUNK && this.free.length < FREE_MAX && !isFrozen(c)) this.free.push(c);
  }

  /** Zero [a, b), which lies in at most two chunks, by writing into dirty copies. */
  private zeroSpan(a: number, b: number): void {
    for (let pos = a; pos < b; ) {
      const idx = Math.floor(pos / CHUNK);
      const base = idx * CHUNK;
      const cEnd = Math.min(base + CHUNK, b);
      if (!this.readsZero(idx)) this.chunkForWrite(idx, false).fill(0, pos - base, cEnd - base);
      pos = cEnd;
    }
  }
}
