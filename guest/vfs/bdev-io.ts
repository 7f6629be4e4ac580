/**
 * The file system's block store (guest/fs FsBlockIo) over a guest block device: blocks of
 * the file system's size become 512-byte sectors; each batch is bounced through kernel
 * DMA buffers (one per block, as buffer heads are) into bios of consecutive blocks; a
 * `fua` batch is written REQ_FUA (the block layer emulates it with a flush where the
 * device has none), a `flush` batch is followed by an empty REQ_PREFLUSH bio. Any failed
 * bio makes the batch EIO. Work runs as the task the I/O is made for (`forTask`): the
 * mounting task, or the journal thread for commits.
 *
 * The bounce buffers in flight are bounded (a few MiB of the kernel's DMA area), so mkfs
 * writing a journal or mount reading every inode table goes out in waves.
 */
import * as E from 'fp-ts/lib/Either.js';
import { Observable } from 'rxjs';
import type { Barrier, BlockWrite, FsBlockIo } from '../fs/block-io.js';
import { flushBio, SECTOR_SIZE } from '../blockdev/bio.js';
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { Task } from '../kernel/task.js';
import { buildBios, BIO_MAX_VECS, submitBios, type IoPiece } from './bios.js';
import type { Errno } from './errno.js';

const KERNEL_DMA_START = 0x100000;

export class BdevBlockIo {
  /** The file system's block size (mount switches it from 1024 after reading the superblock). */
  blockSize = 1024;
  private inflightBytes = 0;
  private readonly queue: { bytes: number; fn: () => void }[] = [];
  /** Bytes of bounce buffers in flight at most (an eighth of the DMA area, 256 KiB to 4 MiB). */
  readonly budget: number;

  constructor(
    private readonly k: GuestKernel,
    readonly dev: GuestBlockDevice,
  ) {
    this.budget = Math.min(4 << 20, Math.max(256 << 10, Math.floor((k.dmaEnd - KERNEL_DMA_START) / 8)));
  }

  get sizeBytes(): number {
    return this.dev.capacitySectors * SECTOR_SIZE;
  }

  /** The FsBlockIo whose I/O `task` makes. */
  forTask(task: Task): FsBlockIo {
    const io = this;
    return {
      get sizeBytes() {
        return io.sizeBytes;
      },
      get blockSize() {
        return io.blockSize;
      },
      setBlockSize(size: number) {
        io.blockSize = size;
      },
      read: (block, count) => io.read(task, block, count),
      write: (writes, barrier) => io.write(task, writes, barrier),
    };
  }

  private admit(bytes: number, fn: () => void): void {
    if (this.queue.length === 0 && (this.inflightBytes === 0 || this.inflightBytes + bytes <= this.budget)) {
      this.inflightBytes += bytes;
      fn();
    } else this.queue.push({ bytes, fn });
  }

  private release(bytes: number): void {
    this.inflightBytes -= bytes;
    while (this.queue.length > 0 && (this.inflightBytes === 0 || this.inflightBytes + this.queue[0].bytes <= this.budget)) {
      const w = this.queue.shift()!;
      this.inflightBytes += w.bytes;
      w.fn();
    }
  }

  private buffers(n: number): number[] {
    const bs = this.blockSize;
    return Array.from({ length: n }, () => this.k.alloc.alloc(bs, bs));
  }

  private freeBuffers(bufs: readonly number[]): void {
    for (const a of bufs) this.k.alloc.free(a, this.blockSize, this.blockSize);
  }

  private pieces(block: number, bufs: readonly number[]): IoPiece[] {
    const bs = this.blockSize;
    const spb = bs / SECTOR_SIZE;
    return bufs.map((addr, i) => ({ sector: (block + i) * spb, addr, len: bs }));
  }

  private inRange(block: number, count: number): boolean {
    return Number.isSafeInteger(block) && Number.isSafeInteger(count) && block >= 0 && count >= 0 && (block + count) * this.blockSize <= this.sizeBytes;
  }

  read(task: Task, block: number, count: number): Observable<E.Either<Errno, Uint8Array>> {
    return new Observable((sub) => {
      const emit = (r: E.Either<Errno, Uint8Array>): void => {
        sub.next(r);
        sub.complete();
      };
      if (!this.inRange(block, count)) return emit(E.left('EIO'));
      if (count === 0) return emit(E.right(new Uint8Array(0)));
      const bytes = count * this.blockSize;
      this.admit(bytes, () =>
        task.run('fs: read blocks', () => {
          const bs = this.blockSize;
          const bufs = this.buffers(count);
          submitBios(task, this.dev, buildBios('read', this.pieces(block, bufs), { meta: true }), (st) => {
            const data = new Uint8Array(bytes);
            if (st === 'ok') bufs.forEach((a, i) => this.k.mem.readInto(a, data.subarray(i * bs, (i + 1) * bs)));
            this.freeBuffers(bufs);
            this.release(bytes);
            emit(st === 'ok' ? E.right(data) : E.left('EIO'));
          });
        }),
      );
    });
  }

  write(task: Task, writes: readonly BlockWrite[], barrier: Barrier): Observable<E.Either<Errno, void>> {
    return new Observable((sub) => {
      const bs = this.blockSize;
      let failed = false;
      const emit = (): void => {
        sub.next(failed ? E.left('EIO') : E.right(undefined));
        sub.complete();
      };
      const finish = (): void => {
        if (failed || barrier !== 'flush') return emit();
        task.run('fs: flush', () => {
          submitBios(task, this.dev, [flushBio()], (st) => {
            if (st !== 'ok') failed = true;
            emit();
          });
        });
      };
      const sorted = [...writes].sort((a, b) => a.block - b.block);
      if (sorted.some((w) => w.data.length !== bs || !this.inRange(w.block, 1))) {
        failed = true;
        return emit();
      }
      const runs: BlockWrite[][] = [];
      for (const w of sorted) {
        const last = runs[runs.length - 1];
        if (last && last[last.length - 1].block + 1 === w.block && last.length < BIO_MAX_VECS) last.push(w);
        else runs.push([w]);
      }
      let left = runs.length;
      if (left === 0) return finish();
      for (const run of runs) {
        const bytes = run.length * bs;
        this.admit(bytes, () =>
          task.run('fs: write blocks', () => {
            const bufs = this.buffers(run.length);
            run.forEach((w, i) => this.k.mem.write(bufs[i], w.data));
            this.k.sim.advance(this.k.costs.bytes('copy.byte', bytes));
            const bios = buildBios('write', this.pieces(run[0].block, bufs), { meta: true, sync: true, fua: barrier === 'fua' });
            submitBios(task, this.dev, bios, (st) => {
              this.freeBuffers(bufs);
              this.release(bytes);
              if (st !== 'ok') failed = true;
              if (--left === 0) finish();
            });
          }),
        );
      }
    });
  }
}
