/**
 * The host cache's dirty chunks: chunk index → buffer, iterated in the order the chunks
 * became dirty (the order a flush writes them back; a chunk cleaned and dirtied again goes
 * to the end, as a Map's insertion order does).
 *
 * Values live in a two-level index (a Map of leaves of LEAF chunks, the last leaf used
 * remembered), so a lookup or an update is a small Map lookup and one array slot; the order
 * is an array of chunk indices, each leaf slot remembering its live position in it, with
 * positions whose chunk was cleaned since skipped (and squeezed out when they pile up). A
 * Map of tens of thousands of chunks cost a hash lookup on every write and a rehash of the
 * whole table as it grew.
 */

/** Chunks per leaf (256 KiB of the disk). */
const LEAF = 64;

interface Leaf {
  readonly vals: (Uint8Array | undefined)[];
  /** For a live slot, its position in `order`. */
  readonly pos: Int32Array;
}

export class DirtyChunks {
  private readonly leaves = new Map<number, Leaf>();
  private lastKey = -1;
  private lastLeaf: Leaf | undefined = undefined;
  private order: number[] = [];
  private count = 0;
  /** Iterations in progress: positions are not squeezed under them. */
  private iterating = 0;

  get size(): number {
    return this.count;
  }

  get(idx: number): Uint8Array | undefined {
    const leaf = this.leaf(Math.floor(idx / LEAF));
    return leaf === undefined ? undefined : leaf.vals[idx % LEAF];
  }

  has(idx: number): boolean {
    return this.get(idx) !== undefined;
  }

  set(idx: number, c: Uint8Array): void {
    const key = Math.floor(idx / LEAF);
    let leaf = this.leaf(key);
    if (leaf === undefined) {
      leaf = { vals: new Array<Uint8Array | undefined>(LEAF).fill(undefined), pos: new Int32Array(LEAF) };
      this.leaves.set(key, leaf);
      this.lastKey = key;
      this.lastLeaf = leaf;
    }
    const i = idx % LEAF;
    if (leaf.vals[i] === undefined) {
      leaf.pos[i] = this.order.length;
      this.order.push(idx);
      this.count++;
    }
    leaf.vals[i] = c;
  }

  delete(idx: number): void {
    const leaf = this.leaf(Math.floor(idx / LEAF));
    const i = idx % LEAF;
    if (leaf === undefined || leaf.vals[i] === undefined) return;
    leaf.vals[i] = undefined;
    this.count--;
    if (this.iterating === 0 && this.order.length > 2 * this.count + 1024) this.squeeze();
  }

  clear(): void {
    this.leaves.clear();
    this.lastKey = -1;
    this.lastLeaf = undefined;
    this.order = [];
    this.count = 0;
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
        const leaf = this.leaf(Math.floor(idx / LEAF));
        const i = idx % LEAF;
        const c = leaf?.vals[i];
        if (c !== undefined && leaf!.pos[i] === p) yield [idx, c];
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
      const leaf = this.leaf(Math.floor(idx / LEAF));
      const i = idx % LEAF;
      if (leaf === undefined || leaf.vals[i] === undefined || leaf.pos[i] !== p) continue;
      leaf.pos[i] = live.length;
      live.push(idx);
    }
    this.order = live;
  }

  private leaf(key: number): Leaf | undefined {
    if (key === this.lastKey) return this.lastLeaf;
    const leaf = this.leaves.get(key);
    if (leaf !== undefined) {
      this.lastKey = key;
      this.lastLeaf = leaf;
    }
    return leaf;
  }
}
