/**
 * The in-memory refcount table of a check (QEMU's IMRT, block/qcow2-refcount.c): one
 * refcount per host cluster, in the image's own refcount width and byte layout, so that
 * a rebuild can write any refblock-sized slice of it to disk as it is.
 *
 * Its size follows the image file, which a hostile header cannot make up, but a file
 * can still be large and sparse: past `MAX_IMRT_BYTES` the check stops with ENOMEM
 * rather than allocate.
 */
import { getRefcount as readEntry, refblockEntries, refcountMax, setRefcount as writeEntry } from '../format/refcount-block.js';

/** The most memory a check's refcount array may take. */
export const MAX_IMRT_BYTES = 256 * 1024 * 1024;

export class Imrt {
  /** Refblock-layout bytes, a whole number of clusters. */
  bytes: Uint8Array;
  /** Clusters described (QEMU's nb_clusters). */
  size: number;
  readonly max: number;
  /** Entries per refblock (one cluster of this array). */
  readonly perBlock: number;

  private constructor(
    readonly order: number,
    readonly clusterSize: number,
    size: number,
    bytes: Uint8Array,
  ) {
    this.size = size;
    this.bytes = bytes;
    this.max = refcountMax(order);
    this.perBlock = refblockEntries(clusterSize, order);
  }

  /** An empty table for `clusters` clusters, or undefined when it would exceed MAX_IMRT_BYTES. */
  static create(order: number, clusterSize: number, clusters: number): Imrt | undefined {
    const bytes = Imrt.byteSize(order, clusterSize, clusters);
    if (bytes === undefined) return undefined;
    return new Imrt(order, clusterSize, clusters, new Uint8Array(bytes));
  }

  /** realloc_refcount_array's size: whole clusters of entries. */
  private static byteSize(order: number, clusterSize: number, clusters: number): number | undefined {
    const raw = Math.ceil((clusters * 2 ** order) / 8);
    const bytes = Math.ceil(raw / clusterSize) * clusterSize;
    return bytes > MAX_IMRT_BYTES || !Number.isSafeInteger(bytes) ? undefined : bytes;
  }

  get(i: number): number {
    return i < this.size ? readEntry(this.bytes, i, this.order) : 0;
  }

  set(i: number, v: number): void {
    writeEntry(this.bytes, i, this.order, v);
  }

  /** realloc_refcount_array: describe `clusters` clusters (new ones at 0). False when too big. */
  resize(clusters: number): boolean {
    if (clusters <= this.size) return true;
    const bytes = Imrt.byteSize(this.order, this.clusterSize, clusters);
    if (bytes === undefined) return false;
    if (bytes > this.bytes.length) {
      const grown = new Uint8Array(bytes);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.size = clusters;
    return true;
  }

  /** Forget every refcount (the size stays). */
  clear(): void {
    this.bytes.fill(0);
  }

  /** The refblock-sized slice holding refblock `index`'s entries (a view, not a copy). */
  refblock(index: number): Uint8Array {
    return this.bytes.subarray(index * this.clusterSize, (index + 1) * this.clusterSize);
  }
}
