/**
 * Small buffers carved from shared slabs, as Node's Buffer pool does: allocating one
 * ArrayBuffer per 4 KiB request was most of the cost of a request. Each piece is handed
 * out once and belongs to its taker; a slab lives while any of its pieces does. Pieces
 * larger than `maxPiece` get their own ArrayBuffer.
 *
 * Pieces are zeroed unless the allocator was made `uninitialized` (Node's
 * Buffer.allocUnsafeSlow): for takers that overwrite every byte before reading any, such
 * as the host cache's chunks, which saves clearing memory that is about to be copied over.
 */
import { Buffer } from 'node:buffer';

export class SlabAllocator {
  private slab: ArrayBuffer | undefined;
  private used = 0;

  constructor(
    private readonly slabBytes = 256 * 1024,
    private readonly maxPiece = 64 * 1024,
    private readonly uninitialized = false,
  ) {}

  alloc(bytes: number): Uint8Array {
    if (bytes > this.maxPiece) return new Uint8Array(bytes);
    if (!this.slab || this.used + bytes > this.slabBytes) {
      this.slab = this.uninitialized ? Buffer.allocUnsafeSlow(this.slabBytes).buffer : new ArrayBuffer(this.slabBytes);
      this.used = 0;
    }
    const piece = new Uint8Array(this.slab, this.used, bytes);
    this.used += (bytes + 7) & ~7;
    return piece;
  }
}
