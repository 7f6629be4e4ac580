/**
 * The memory driver's stable storage: a sparse map of CHUNK-sized pieces, allocated when a
 * flush writes them. A chunk never written reads as zeroes and costs nothing, so a 1 TiB
 * disk costs host memory only for what was written.
 */
import { isFrozen } from '../../../hw/frozen.js';
import { CHUNK, type StableStore } from '../host-cache.js';

export class MemoryStore implements StableStore {
  readonly chunks = new Map<number, Uint8Array>();

  constructor(public length: number) {}

  read(offset: number, out: Uint8Array): void {
    const end = offset + out.length;
    for (let pos = offset; pos < end; ) {
      const idx = Math.floor(pos / CHUNK);
      const base = idx * CHUNK;
      const cEnd = Math.min(base + CHUNK, end);
      const c = this.chunks.get(idx);
      if (c) out.set(c.subarray(pos - base, cEnd - base), pos - offset);
      else out.fill(0, pos - offset, cEnd - offset);
      pos = cEnd;
    }
  }

  writeChunk(idx: number, data: Uint8Array): Uint8Array | undefined {
    if (idx * CHUNK >= this.length) return data;
    const old = this.chunks.get(idx);
    this.chunks.set(idx, data);
    return old;
  }

  zeroChunks(first: number, end: number): void {
    if (end - first <= this.chunks.size) {
      for (let i = first; i < end; i++) this.chunks.delete(i);
      return;
    }
    for (const k of this.chunks.keys()) if (k >= first && k < end) this.chunks.delete(k);
  }

  truncate(size: number): void {
    const keep = Math.ceil(size / CHUNK);
    if (size < this.length) {
      for (const k of this.chunks.keys()) if (k >= keep) this.chunks.delete(k);
      const tail = size % CHUNK;
      const c = tail ? this.chunks.get(keep - 1) : undefined;
      if (c !== undefined) {
        // A frozen chunk (a kept guest page) is never changed in place.
        const w = isFrozen(c) ? c.slice() : c;
        w.fill(0, tail);
        this.chunks.set(keep - 1, w);
      }
    }
    this.length = size;
  }

  sync(): void {}

  readsZero(idx: number): boolean {
    return !this.chunks.has(idx);
  }
}
