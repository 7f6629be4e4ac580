/**
 * Guest memory's page table: guest page frame number → the host buffer holding that page,
 * for the pages that exist. Two levels, as a hardware page table: a Map of leaves, each
 * an array covering 512 consecutive frames (2 MiB of guest-physical space), so a lookup is
 * a small Map lookup (usually the last leaf used) and one array slot, and a sparse 1 TiB
 * guest costs a leaf only where it touched memory. A single Map of every page cost a hash
 * lookup per miss and a rehash of the whole table as the page cache grew.
 */
const LEAF_SHIFT = 9;
const LEAF = 1 << LEAF_SHIFT;

type Leaf = (Uint8Array | undefined)[];

export class PageTable {
  private readonly leaves = new Map<number, Leaf>();
  private lastKey = -1;
  private lastLeaf: Leaf | undefined = undefined;
  private count = 0;

  /** Pages present. */
  get size(): number {
    return this.count;
  }

  get(pfn: number): Uint8Array | undefined {
    const leaf = this.leaf(Math.floor(pfn / LEAF));
    return leaf === undefined ? undefined : leaf[pfn % LEAF];
  }

  has(pfn: number): boolean {
    return this.get(pfn) !== undefined;
  }

  set(pfn: number, page: Uint8Array): void {
    const key = Math.floor(pfn / LEAF);
    let leaf = this.leaf(key);
    if (leaf === undefined) {
      leaf = new Array<Uint8Array | undefined>(LEAF).fill(undefined);
      this.leaves.set(key, leaf);
      this.lastKey = key;
      this.lastLeaf = leaf;
    }
    const i = pfn % LEAF;
    if (leaf[i] === undefined) this.count++;
    leaf[i] = page;
  }

  delete(pfn: number): void {
    const leaf = this.leaf(Math.floor(pfn / LEAF));
    const i = pfn % LEAF;
    if (leaf === undefined || leaf[i] === undefined) return;
    leaf[i] = undefined;
    this.count--;
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
