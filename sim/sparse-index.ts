/**
 * A sparse array: values by non-negative integer index, in nodes of 64 slots found by
 * index / 64 in a small Map, with the last node used kept at hand (Linux's xarray, reduced).
 * Neighbouring indexes share a node, so sequential access finds its value without hashing
 * the index into a table of every entry — the lookup that dominated a Map of hundreds of
 * thousands of entries, and the rehash of the whole table as it grew. A page cache's pages
 * by file index, guest memory's pages by frame number and the host cache's dirty chunks by
 * chunk number are kept in one.
 *
 * It answers what a Map<number, V> answers (`get`, `has`, `set`, `delete`, `size`); it
 * iterates in ascending index order (an xarray's order), not in insertion order.
 */

const SHIFT = 6;
const SLOTS = 1 << SHIFT;

/** One node: SLOTS slots and how many hold a page. */
interface Node<P> {
  readonly slots: (P | undefined)[];
  used: number;
}

/** The node key of an index (indexes are non-negative integers; past 2^31 a shift would wrap). */
const nodeOf = (index: number): number => (index < 0x8000_0000 ? index >> SHIFT : Math.floor(index / SLOTS));

export class SparseIndex<P> implements Iterable<[number, P]> {
  private readonly nodes = new Map<number, Node<P>>();
  private count = 0;
  /** The node last looked up, and its key (NaN: none). */
  private lastKey = NaN;
  private lastNode: Node<P> | undefined;

  get size(): number {
    return this.count;
  }

  private node(key: number): Node<P> | undefined {
    if (key === this.lastKey) return this.lastNode;
    const n = this.nodes.get(key);
    if (n !== undefined) {
      this.lastKey = key;
      this.lastNode = n;
    }
    return n;
  }

  get(index: number): P | undefined {
    return this.node(nodeOf(index))?.slots[index & (SLOTS - 1)];
  }

  has(index: number): boolean {
    return this.get(index) !== undefined;
  }

  set(index: number, page: P): this {
    const key = nodeOf(index);
    let n = this.node(key);
    if (n === undefined) {
      n = { slots: new Array<P | undefined>(SLOTS).fill(undefined), used: 0 };
      this.nodes.set(key, n);
      this.lastKey = key;
      this.lastNode = n;
    }
    const slot = index & (SLOTS - 1);
    if (n.slots[slot] === undefined) {
      n.used++;
      this.count++;
    }
    n.slots[slot] = page;
    return this;
  }

  delete(index: number): boolean {
    const key = nodeOf(index);
    const n = this.node(key);
    const slot = index & (SLOTS - 1);
    if (n === undefined || n.slots[slot] === undefined) return false;
    n.slots[slot] = undefined;
    this.count--;
    if (--n.used === 0) {
      this.nodes.delete(key);
      if (this.lastKey === key) {
        this.lastKey = NaN;
        this.lastNode = undefined;
      }
    }
    return true;
  }

  /** Indexes in ascending order. */
  *keys(): IterableIterator<number> {
    for (const [i] of this) yield i;
  }

  /** Pages in ascending index order. */
  *values(): IterableIterator<P> {
    for (const [, p] of this) yield p;
  }

  /** [index, page] in ascending index order. The loop may delete the entry it is at. */
  *[Symbol.iterator](): Iterator<[number, P]> {
    const keys = [...this.nodes.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const n = this.nodes.get(key);
      if (n === undefined) continue;
      for (let s = 0; s < SLOTS; s++) {
        const p = n.slots[s];
        if (p !== undefined) yield [key * SLOTS + s, p];
      }
    }
  }
}
