/**
 * One mounted file system (struct super_block): the ext3 instance, the device under it,
 * the block store its metadata goes through, its journal thread, and the cache of its
 * in-memory inodes. The helpers here are what the system calls share: getting an inode,
 * noting a metadata change for fsync, ordered-mode bookkeeping, forgetting a freed inode,
 * and retrying an allocation that found no room while freed blocks wait for a commit
 * (ext4_should_retry_alloc).
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../../hw/memory.js';
import { virtualScheduler } from '../../sim/scheduler.js';
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import type { Fs, Stat } from '../fs/index.js';
import type { Task } from '../kernel/task.js';
import type { BdevBlockIo } from './bdev-io.js';
import type { VfsContext } from './context.js';
import type { Errno } from './errno.js';
import { fileAops } from './file-aops.js';
import { VfsInode } from './inode.js';
import { Jbd2 } from './jbd2.js';
import { once, sleepThen, type Latch } from './wait.js';

/** How many times an allocation is retried after a commit (ext4_should_retry_alloc's 3). */
const ALLOC_RETRIES = 3;

export class MountedFs {
  /** In-memory inodes by number. */
  readonly inodes = new Map<number, VfsInode>();
  /** Inodes (besides the file system's own list) whose data in flight the next commit waits for. */
  readonly ordered = new Set<VfsInode>();
  readonly journal: Jbd2;
  private zero: number | undefined;

  constructor(
    readonly ctx: VfsContext,
    /** The device's path (`/dev/vda`). */
    readonly devPath: string,
    readonly dev: GuestBlockDevice,
    /** Where it is mounted (absolute, normalised). */
    readonly dir: string,
    readonly fs: Fs,
    readonly io: BdevBlockIo,
  ) {
    this.journal = new Jbd2(this, ctx.processes.kthread(`jbd2/${dev.name}-8`), ctx.commitIntervalMs, virtualScheduler(ctx.kernel.clock));
  }

  get blockSize(): number {
    return this.fs.geometry.blockSize;
  }

  /** The largest file size the block map reaches. */
  get maxFileSize(): number {
    return this.fs.geometry.maxFileBlocks * this.blockSize;
  }

  /** The in-memory inode of `ino` (made on first use: a regular file gets its mapping, i_size from the disk). */
  inode(ino: number, st: Stat): VfsInode {
    let v = this.inodes.get(ino);
    if (v) return v;
    v = new VfsInode(this, ino, st.kind === 'dir' ? 'dir' : 'file');
    if (v.kind === 'file') v.mapping = this.ctx.cache.createMapping({ name: `${this.dev.name}:${ino}`, ops: fileAops(v), size: st.size });
    this.inodes.set(ino, v);
    return v;
  }

  /** A metadata change was made: arm the commit timer; fsync of `inode` will wait for the commit that carries it. */
  changed(inode?: VfsInode): void {
    const seq = this.journal.changed();
    if (inode) inode.metaSeq = Math.max(inode.metaSeq, seq);
  }

  /** For a commit about to be made: the in-flight data writes of the ordered inodes (and forget the VFS's list). */
  takeOrdered(): Latch[] {
    const nodes = new Set(this.ordered);
    this.ordered.clear();
    for (const ino of this.fs.orderedInodes()) {
      const v = this.inodes.get(ino);
      if (v) nodes.add(v);
    }
    return [...nodes].flatMap((v) => [...v.inflight]);
  }

  /** Every data write in flight on this file system. */
  allInflight(): Latch[] {
    return [...this.inodes.values(), ...this.ordered].flatMap((v) => [...v.inflight]);
  }

  /**
   * An inode was freed on disk: it is dead, out of the cache, and the next commit (which
   * makes its blocks reusable) waits for its data writes in flight. Its pages are dropped
   * (waiting for writeback) as `task`; then `done`.
   */
  forget(task: Task, v: VfsInode, done: () => void): void {
    v.dead = true;
    this.ordered.add(v);
    if (this.inodes.get(v.ino) === v) this.inodes.delete(v.ino);
    const m = v.mapping;
    if (!m) return done();
    once(this.ctx.cache.releaseMapping(task, m), sleepThen(task, 'evict: pages dropped', done));
  }

  /** A zeroed file-system block of guest memory (what O_DIRECT writes around a partial fresh block). */
  zeroBlock(): number {
    if (this.zero === undefined) {
      this.zero = this.ctx.kernel.alloc.alloc(this.blockSize, Math.min(this.blockSize, PAGE_SIZE));
      this.ctx.kernel.mem.fill(this.zero, this.blockSize, 0);
    }
    return this.zero;
  }

  /**
   * Run an operation that may allocate; if it finds no room while blocks freed by
   * uncommitted transactions are pending, commit, wait, and try again (up to 3 times).
   * `done` runs as `task`, inline when no retry was needed.
   */
  withSpace<T>(task: Task, op: () => E.Either<Errno, T>, done: (r: E.Either<Errno, T>) => void, tries = 0): void {
    const r = op();
    if (E.isRight(r) || r.left !== 'ENOSPC' || tries >= ALLOC_RETRIES || this.fs.pendingFreeBlocks() === 0) return done(r);
    this.journal.commitAndWait(
      sleepThen(task, 'retry allocation', (err?: Errno) => (err ? done(E.left(err)) : this.withSpace(task, op, done, tries + 1))),
    );
  }

  /** Modifications are refused once the journal aborted (the file system went read-only). */
  get writable(): boolean {
    return this.journal.aborted === undefined && !this.fs.readOnly;
  }
}
