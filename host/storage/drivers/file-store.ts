/**
 * The file driver's stable storage: a real host file, through node:fs.
 *
 * Holes: node:fs has no fallocate(PUNCH_HOLE), so zeroing a range inside the file writes
 * zeroes, skipping pieces that already read as zero (so a sparse file stays sparse where
 * it was never written). Zeroing up to the end of the file shrinks and regrows it
 * instead, which does leave a hole: that is what makes discarding a whole disk cheap.
 *
 * The store remembers which chunks it has written since it opened the file (a sparse
 * bitmap); a chunk past the file's size at open and never written reads as zero already,
 * so zeroing it costs nothing (qcow2 zero-filling the rest of each newly allocated
 * cluster at the end of the image is the common case).
 *
 * Growing the file is lazy: `truncate` to a larger size only records the new length
 * (reads past the host file's end read zeroes, writes there extend it); the host file is
 * resized on `sync` and `settle` (close). qcow2 grows its file by one cluster per
 * allocation, and one ftruncate(2) each was a sixth of an allocating write.
 *
 * Every method may throw a Node.js system error; the driver turns those into EIO/ENOSPC.
 */
import * as fs from 'node:fs';
import { CHUNK, type StableStore } from '../host-cache.js';

/** Piece size for zeroing inside the file. */
const ZERO_PIECE = 1 << 20;
/** Chunks per block of the written-chunks bitmap. */
const MAP_BLOCK = 1 << 15;

/** A sparse bitmap of chunk indices. */
class ChunkBitmap {
  private readonly blocks = new Map<number, Uint32Array>();

  set(idx: number): void {
    const key = Math.floor(idx / MAP_BLOCK);
    let b = this.blocks.get(key);
    if (b === undefined) this.blocks.set(key, (b = new Uint32Array(MAP_BLOCK / 32)));
    const bit = idx % MAP_BLOCK;
    b[bit >>> 5] |= 1 << (bit & 31);
  }

  has(idx: number): boolean {
    const b = this.blocks.get(Math.floor(idx / MAP_BLOCK));
    if (b === undefined) return false;
    const bit = idx % MAP_BLOCK;
    return (b[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }

  /** Forget every index ≥ `from`. */
  clearFrom(from: number): void {
    for (const [key, b] of this.blocks) {
      const base = key * MAP_BLOCK;
      if (base >= from) this.blocks.delete(key);
      else if (base + MAP_BLOCK > from) for (let bit = from - base; bit < MAP_BLOCK; bit++) b[bit >>> 5] &= ~(1 << (bit & 31));
    }
  }
}

export class FileStore implements StableStore {
  private zeroPiece: Uint8Array | undefined;
  private probe: Uint8Array | undefined;
  /** Chunks below this may hold data the file had when opened. */
  private readonly openedChunks: number;
  private readonly written = new ChunkBitmap();
  /** The host file's own size (≤ `length` while a growth is pending). */
  private physical: number;

  constructor(
    private readonly fd: number,
    public length: number,
  ) {
    this.openedChunks = Math.ceil(length / CHUNK);
    this.physical = length;
  }

  /** Whether chunk `idx` may hold non-zero bytes. */
  private mayHoldData(idx: number): boolean {
    return idx < this.openedChunks || this.written.has(idx);
  }

  readsZero(idx: number): boolean {
    return !this.mayHoldData(idx);
  }

  read(offset: number, out: Uint8Array): void {
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(this.fd, out, done, out.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    if (done < out.length) out.fill(0, done);
  }

  writeChunk(idx: number, data: Uint8Array): Uint8Array {
    this.written.set(idx);
    this.writeAt(idx * CHUNK, data, Math.min(CHUNK, this.length - idx * CHUNK));
    return data;
  }

  zeroChunks(first: number, end: number): void {
    const a = first * CHUNK;
    const b = Math.min(end * CHUNK, this.length);
    if (a >= b) return;
    if (b === this.length) {
      fs.ftruncateSync(this.fd, a);
      fs.ftruncateSync(this.fd, this.length);
      this.physical = this.length;
      this.written.clearFrom(first);
      return;
    }
    // Only the runs of chunks that may hold data need zeroing.
    const last = Math.ceil(b / CHUNK);
    for (let i = first; i < last; ) {
      if (!this.mayHoldData(i)) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < last && this.mayHoldData(j)) j++;
      this.zeroBytes(i * CHUNK, Math.min(j * CHUNK, b));
      i = j;
    }
  }

  /** Write zeroes over [a, b), skipping pieces that already read as zero. */
  private zeroBytes(a: number, b: number): void {
    const zero = (this.zeroPiece ??= new Uint8Array(ZERO_PIECE));
    const probe = (this.probe ??= new Uint8Array(ZERO_PIECE));
    for (let pos = a; pos < b; pos += ZERO_PIECE) {
      const n = Math.min(ZERO_PIECE, b - pos);
      const cur = n === ZERO_PIECE ? probe : probe.subarray(0, n);
      this.read(pos, cur);
      if (Buffer.compare(cur, zero.subarray(0, n)) !== 0) this.writeAt(pos, zero, n);
    }
  }

  truncate(size: number): void {
    if (size < this.length) {
      fs.ftruncateSync(this.fd, size);
      this.physical = size;
      this.written.clearFrom(Math.ceil(size / CHUNK));
    }
    this.length = size;
  }

  sync(): void {
    this.settle();
    fs.fdatasyncSync(this.fd);
  }

  /** Give the host file its size now (a pending growth), e.g. before it is closed. */
  settle(): void {
    if (this.physical === this.length) return;
    fs.ftruncateSync(this.fd, this.length);
    this.physical = this.length;
  }

  private writeAt(pos: number, data: Uint8Array, bytes: number): void {
    for (let done = 0; done < bytes; ) done += fs.writeSync(this.fd, data, done, bytes - done, pos + done);
    if (pos + bytes > this.physical) this.physical = pos + bytes;
  }
}
