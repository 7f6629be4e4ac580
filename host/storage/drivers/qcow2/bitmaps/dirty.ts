/**
 * A dirty bitmap in memory (QEMU's BdrvDirtyBitmap over an HBitmap), kept as the image
 * stores it: bit n covers disk bytes [n * granularity, (n + 1) * granularity), bit n is bit
 * (n % 8) of byte n / 8 of the bitmap data (docs/interop/qcow2.txt "Bitmap data"), and the
 * data is split in chunks of one cluster, one per bitmap table entry.
 *
 * Sparse: a chunk exists only once a bit in it is set, so memory follows what was loaded
 * (bounded by the image file) and what was written (bounded by BME_MAX_PHYS_SIZE, as the
 * table size is).
 */
import { bitmapDataBytes } from './format.js';

export class DirtyBitmap {
  /** Chunk index (bitmap table index) → one cluster of bitmap data. */
  private readonly chunks = new Map<number, Uint8Array>();
  private size: number;

  constructor(
    diskSize: number,
    readonly granularityBits: number,
    readonly clusterSize: number,
    /** Enabled ('auto'): writes to the disk set its bits. */
    readonly enabled: boolean,
  ) {
    this.size = diskSize;
  }

  /** The disk size the bitmap covers. */
  get diskSize(): number {
    return this.size;
  }

  /** Bits in the bitmap. */
  get bits(): number {
    return Math.ceil(this.size / 2 ** this.granularityBits);
  }

  /** bdrv_dirty_bitmap_truncate: follow the disk to `diskSize`; bits past a shrunk end are dropped, grown ones clear. */
  resize(diskSize: number): void {
    this.size = diskSize;
    const perChunk = this.clusterSize * 8;
    for (const [i, c] of [...this.chunks]) {
      const keep = this.bits - i * perChunk;
      if (keep <= 0) {
        this.chunks.delete(i);
        continue;
      }
      if (keep >= perChunk) continue;
      c.fill(0, Math.ceil(keep / 8));
      if (keep % 8) c[Math.floor(keep / 8)] &= (1 << keep % 8) - 1;
    }
  }

  /** Table entries (chunks) the bitmap has. */
  get chunkCount(): number {
    return Math.ceil(bitmapDataBytes(this.diskSize, this.granularityBits) / this.clusterSize);
  }

  private chunk(i: number): Uint8Array {
    let c = this.chunks.get(i);
    if (!c) {
      c = new Uint8Array(this.clusterSize);
      this.chunks.set(i, c);
    }
    return c;
  }

  /** Set the bits of bitmap positions [first, last]. */
  private setBits(first: number, last: number): void {
    const perChunk = this.clusterSize * 8;
    for (let b = first; b <= last; ) {
      const ci = Math.floor(b / perChunk);
      const c = this.chunk(ci);
      const end = Math.min(last, (ci + 1) * perChunk - 1);
      let k = b - ci * perChunk;
      const kEnd = end - ci * perChunk;
      for (; k <= kEnd && k % 8; k++) c[k >> 3] |= 1 << (k & 7);
      for (; k + 7 <= kEnd; k += 8) c[k >> 3] = 0xff;
      for (; k <= kEnd; k++) c[k >> 3] |= 1 << (k & 7);
      b = end + 1;
    }
  }

  /** bdrv_set_dirty: the disk bytes [offset, offset + bytes) were written (clamped to the disk). */
  markDirty(offset: number, bytes: number): void {
    if (!this.enabled || bytes <= 0 || offset >= this.diskSize) return;
    const g = 2 ** this.granularityBits;
    const last = Math.min(offset + bytes, this.diskSize) - 1;
    this.setBits(Math.floor(offset / g), Math.floor(last / g));
  }

  /** Load chunk `i` from stored bytes (one cluster), or as all ones; tail bits past the disk stay clear. */
  load(i: number, data: Uint8Array | 'ones'): void {
    const perChunk = this.clusterSize * 8;
    const first = i * perChunk;
    if (first >= this.bits) return;
    const last = Math.min(this.bits, first + perChunk) - 1;
    if (data === 'ones') {
      this.setBits(first, last);
      return;
    }
    const c = this.chunk(i);
    const usedBytes = Math.ceil((last - first + 1) / 8);
    c.set(data.subarray(0, usedBytes));
    const tail = (last - first + 1) % 8;
    if (tail) c[usedBytes - 1] &= (1 << tail) - 1;
    if (c.every((x) => x === 0)) this.chunks.delete(i);
  }

  /** Chunk `i` as it is stored (one cluster), or undefined when all its bits are clear. */
  stored(i: number): Uint8Array | undefined {
    const c = this.chunks.get(i);
    return c && c.some((x) => x !== 0) ? c : undefined;
  }

  /** Whether the bit covering disk byte `offset` is set. */
  isDirty(offset: number): boolean {
    const b = Math.floor(offset / 2 ** this.granularityBits);
    const perChunk = this.clusterSize * 8;
    const c = this.chunks.get(Math.floor(b / perChunk));
    const k = b % perChunk;
    return !!c && (c[k >> 3] & (1 << (k & 7))) !== 0;
  }
}
