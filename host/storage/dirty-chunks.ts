/**
 * The host cache's dirty chunks: chunk index → buffer, iterated in the order the chunks
 * became dirty (the order a flush writes them back; a chunk cleaned and dirtied again goes
 * to the end, as a Map's insertion order does).
 *
 * Values live in a sparse index (sim/sparse-index.ts), so a lookup or an update is a small
 * Map lookup and one array slot; the order is an array of chunk indices, each chunk
 * remembering its live position in it, with positions whose chunk was cleaned since skipped
 * (and squeezed out when they pile up). A Map of tens of thousands of chunks cost a hash
 * lookup on every write and a rehash of the whole table as it grew.
 */
import { SparseIndex } from '../../sim/sparse-index.js';

export class DirtyChunks {
  private readonly vals = new SparseIndex<Uint8Array>();
  /** For a dirty chunk, its position in `order`. */
  private readonly pos = new SparseIndex<number>();
  private order: number[] = [];
  /** Iterations in progress: positions are not squeezed under them. */
  private iterating = 0;

  get size(): number {
    return this.vals.size;
  }

  get(idx: number): Uint8Array | undefined {
    return this.vals.get(idx);
  }

  has(idx: number): boolean {
    return this.vals.has(idx);
  }

  set(idx: number, c: Uint8Array): void {
    if (!this.vals.has(idx)) {
      this.pos.set(idx, this.order.length);
      this.order.push(idx);
    }
    this.vals.set(idx, c);
  }

  delete(idx: number): void {
    if (!this.vals.delete(idx)) return;
    this.pos.delete(idx);
    if (this.iterating === 0 && this.order.length > 2 * this.vals.size + 1024) this.squeeze();
  }

  clear(): void {
    for (const idx of this.order) {
      this.vals.delete(idx);
      this.pos.delete(idx);
    }
    this.order = [];
  }

  *keys(): IterableIterator<number> {
    for (const [idx] of this) yield idx;
  }

  *values(): IterableIterator<Uint8Array> {
    for (const [, c] of this) yield c;
  }

  /** Live entries in order. Deleting the current entry (or any other) while iterating is allowed. */
  *[Symbol.iterator](): IterableIterator<[number, Uint8Array]> {
    const order = this.order;
    this.iterating++;
    try {
      for (let p = 0; p < order.length; p++) {
        const idx = order[p];
        const c = this.vals.get(idx);
        if (c !== undefined && this.pos.get(idx) === p) yield [idx, c];
      }
    } finally {
      this.iterating--;
    }
  }

  /** Drop the positions of cleaned chunks from the order, keeping the live ones' order. */
  private squeeze(): void {
    const live: number[] = [];
    const order = this.order;
    for (let p = 0; p < order.length; p++) {
      const idx = order[p];
      if (!this.vals.has(idx) || this.pos.get(idx) !== p) continue;
      this.pos.set(idx, live.length);
      live.push(idx);
    }
    this.order = live;
  }
}
