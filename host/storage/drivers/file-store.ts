/**
 * The file driver's stable storage: a real host file, through node:fs.
 *
 * Holes: node:fs has no fallocate(PUNCH_HOLE), so zeroing a range inside the file writes
 * zeroes, skipping pieces that already read as zero (so a sparse file stays sparse where
 * it was never written). Zeroing up to the end of the file shrinks and regrows it
 * instead, which does leave a hole: that is what makes discarding a whole disk cheap.
 *
 * Every method may throw a Node.js system error; the driver turns those into EIO/ENOSPC.
 */
import * as fs from 'node:fs';
import { CHUNK, type StableStore } from '../host-cache.js';

/** Piece size for zeroing inside the file. */
const ZERO_PIECE = 1 << 20;

export class FileStore implements StableStore {
  private zeroPiece: Uint8Array | undefined;

  constructor(
    private readonly fd: number,
    public length: number,
  ) {}

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
      return;
    }
    const zero = (this.zeroPiece ??= new Uint8Array(ZERO_PIECE));
    const probe = new Uint8Array(ZERO_PIECE);
    for (let pos = a; pos < b; pos += ZERO_PIECE) {
      const n = Math.min(ZERO_PIECE, b - pos);
      const cur = n === ZERO_PIECE ? probe : probe.subarray(0, n);
      this.read(pos, cur);
      if (Buffer.compare(cur, zero.subarray(0, n)) !== 0) this.writeAt(pos, zero, n);
    }
  }

  truncate(size: number): void {
    fs.ftruncateSync(this.fd, size);
    this.length = size;
  }

  sync(): void {
    fs.fdatasyncSync(this.fd);
  }

  private writeAt(pos: number, data: Uint8Array, bytes: number): void {
    for (let done = 0; done < bytes; ) done += fs.writeSync(this.fd, data, done, bytes - done, pos + done);
  }
}
