/**
 * A set of block numbers of one file system, as a bitmap over [0, blocksCount): what the
 * allocator and the block map ask of every block they hand out or follow ("does it hold
 * file-system metadata?"), answered without hashing. A number outside that range (from a
 * corrupt journal map) is kept aside, so the answers are a Set's.
 */
export class BlockSet {
  private readonly bits: Uint8Array;
  /** Members outside [0, blocksCount). */
  private readonly outside = new Set<number>();
  private count = 0;

  /** An empty set for a file system of `blocksCount` blocks (below 2^32, as ext3 counts them): blocksCount / 8 bytes, as its block bitmaps. */
  constructor(private readonly blocksCount: number) {
    this.bits = new Uint8Array(Math.ceil(blocksCount / 8));
  }

  get size(): number {
    return this.count + this.outside.size;
  }

  add(b: number): this {
    if (Number.isInteger(b) && b >= 0 && b < this.blocksCount) {
      const m = 1 << (b & 7);
      if ((this.bits[b >>> 3] & m) === 0) {
        this.bits[b >>> 3] |= m;
        this.count++;
      }
    } else this.outside.add(b);
    return this;
  }

  has(b: number): boolean {
    if (b >= 0 && b < this.blocksCount && Number.isInteger(b)) return (this.bits[b >>> 3] & (1 << (b & 7))) !== 0;
    return this.outside.has(b);
  }
}
