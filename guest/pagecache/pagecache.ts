/**
 * The guest page cache: one per guest kernel, over a page allocator bounded by the guest's
 * memory. Mappings (an inode's or a block device's pages) are created by their owners with
 * the owner's AddressSpaceOps. Every operation runs as a task (its CPU is charged) and is an
 * Observable that emits once when the operation is done and completes; errors are values
 * (Either of an errno), never thrown.
 *
 * Reads and writes go through the cache (read.ts, write.ts); dirty pages are written by the
 * flusher (flusher.ts: periodic, background, vmscan), by throttled writers' kicks
 * (balance-dirty.ts) and by callers (writeback.ts: fsync, sync, O_DIRECT coherence);
 * memory comes back through reclaim (reclaim.ts) and invalidation (invalidate.ts).
 * O_DIRECT I/O itself bypasses the cache (the vfs does it); it uses `writebackAndWait`
 * and `invalidateRange` to stay coherent with cached pages.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import { PAGE_SIZE } from '../../hw/memory.js';
import { virtualScheduler } from '../../sim/scheduler.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { PageAllocator } from '../kernel/page-alloc.js';
import { Task } from '../kernel/task.js';
import { DirtyThrottle } from './balance-dirty.js';
import { PageCacheCore, type DirtyThresholds } from './core.js';
import { userBufValid } from './copy.js';
import type { ErrSeqCursor } from './errseq.js';
import { Flusher } from './flusher.js';
import { invalidatePages2, truncatePages, truncateSize } from './invalidate.js';
import { Mapping } from './mapping.js';
import { kernelCall } from './page-io.js';
import type { PageCacheParts } from './parts.js';
import { bufferedRead } from './read.js';
import type { FileRaState } from './readahead.js';
import { Reclaimer } from './reclaim.js';
import { DEFAULT_VM_SYSCTL, vmSysctl, type SysctlError, type VmSysctl } from './sysctl.js';
import type { AddressSpaceOps, ByteRange, Errno, SyncMode, UserBuf, WbReason } from './types.js';
import { syncAll, writebackRange } from './writeback.js';
import { bufferedWrite } from './write.js';

export interface PageCacheOptions {
  /** Pages for the cache (and whoever else shares the allocator). */
  pages: PageAllocator;
  /** Knobs under their sysctl names; the rest keep Linux's defaults. */
  sysctl?: Partial<VmSysctl>;
  /** The flusher's kernel thread; by default a task `kworker/flush` on CPU 0. */
  flusher?: Task;
}

export interface CreateMappingOptions {
  name: string;
  ops: AddressSpaceOps;
  /** i_size in bytes (a block device: its capacity). */
  size?: number;
  /** Maximum readahead window in KiB (default: the read_ahead_kb knob). */
  readAheadKb?: number;
}

/** What read and write emit: the bytes copied (short at EOF or after a late error), or an errno. */
export type ReadResult = E.Either<Errno, number>;

export class PageCache {
  private readonly parts: PageCacheParts;
  private nextMappingId = 0;

  private constructor(
    readonly kernel: GuestKernel,
    opts: PageCacheOptions,
    sysctl: VmSysctl,
  ) {
    const core = new PageCacheCore(kernel.sim, kernel.trace, kernel.costs, kernel.mem, opts.pages, sysctl, kernel.clock);
    const flusher = new Flusher(core, opts.flusher ?? new Task(0, 'kworker/flush', kernel.cpus[0]), virtualScheduler(kernel.clock));
    core.onDirtied = () => flusher.onDirtied();
    const reclaim = new Reclaimer(core, flusher);
    this.parts = { core, flusher, reclaim, throttle: new DirtyThrottle(core, flusher) };
  }

  /** A page cache for `kernel`, or the first bad knob. */
  static create(kernel: GuestKernel, opts: PageCacheOptions): E.Either<SysctlError, PageCache> {
    return E.map((s: VmSysctl) => new PageCache(kernel, opts, s))(vmSysctl(opts.sysctl ?? {}, DEFAULT_VM_SYSCTL));
  }

  get sysctl(): Readonly<VmSysctl> {
    return this.parts.core.sysctl;
  }

  /** Change knobs at run time (echo N > /proc/sys/vm/...). */
  setSysctl(overrides: Partial<VmSysctl>): E.Either<SysctlError, VmSysctl> {
    const r = vmSysctl(overrides, this.parts.core.sysctl);
    if (E.isRight(r)) this.parts.core.sysctl = r.right;
    return r;
  }

  /** A new mapping with `ops` (an inode's address_space, or a block device's). */
  createMapping(o: CreateMappingOptions): Mapping {
    const kb = o.readAheadKb ?? this.parts.core.sysctl.read_ahead_kb;
    const m = new Mapping(this.nextMappingId++, o.name, o.ops, o.size ?? 0, Math.floor((kb * 1024) / PAGE_SIZE));
    this.parts.core.mappings.add(m);
    return m;
  }

  /** evict: drop every page of `mapping` (dirty ones too) and forget it. */
  releaseMapping(task: Task, mapping: Mapping): Observable<void> {
    return kernelCall(task, 'evict', (done) =>
      truncatePages(this.parts, task, mapping, 0, Infinity, () => {
        this.parts.core.mappings.delete(mapping);
        done();
      }),
    );
  }

  /** read(2) through the cache: copy up to `len` bytes at `pos` into `dst`; emits the count (short at EOF). */
  read(task: Task, mapping: Mapping, pos: number, len: number, dst: UserBuf, ra: FileRaState = mapping.ra): Observable<ReadResult> {
    return kernelCall(task, 'read', (done) => this.startRead(task, mapping, pos, len, dst, ra, done));
  }

  /** `read` for a caller inside the kernel that wants a callback: `done` is called once with what `read` would emit. */
  readThen(task: Task, mapping: Mapping, pos: number, len: number, dst: UserBuf, ra: FileRaState, done: (r: ReadResult) => void): void {
    task.run('read', () => this.startRead(task, mapping, pos, len, dst, ra, done));
  }

  private startRead(task: Task, mapping: Mapping, pos: number, len: number, dst: UserBuf, ra: FileRaState, done: (r: ReadResult) => void): void {
    if (!validRange(pos, len)) return done(E.left('EINVAL'));
    if (!userBufValid(this.kernel.mem, dst, len)) return done(E.left('EFAULT'));
    bufferedRead(this.parts, task, mapping, pos, len, dst, ra, done);
  }

  /** write(2) through the cache: copy `len` bytes from `src` to `pos`; emits the count once balance_dirty_pages lets the writer go. */
  write(task: Task, mapping: Mapping, pos: number, len: number, src: UserBuf): Observable<ReadResult> {
    return kernelCall(task, 'write', (done) => this.startWrite(task, mapping, pos, len, src, done));
  }

  /**
   * `write` for a caller inside the kernel that wants a callback (the write system call's
   * path, which needs no Observable per call): `done` is called once with what `write` would emit.
   */
  writeThen(task: Task, mapping: Mapping, pos: number, len: number, src: UserBuf, done: (r: ReadResult) => void): void {
    task.run('write', () => this.startWrite(task, mapping, pos, len, src, done));
  }

  private startWrite(task: Task, mapping: Mapping, pos: number, len: number, src: UserBuf, done: (r: ReadResult) => void): void {
    if (!validRange(pos, len)) return done(E.left('EINVAL'));
    if (!userBufValid(this.kernel.mem, src, len)) return done(E.left('EFAULT'));
    bufferedWrite(this.parts, task, mapping, pos, src, len, done);
  }

  /**
   * filemap_fdatawrite_range (WB_SYNC_NONE: start, do not wait) or with WB_SYNC_ALL also
   * filemap_fdatawait_range. Emits how many pages this call submitted. Errors stay on the
   * mapping: see `fileWriteAndWait` and `writebackAndWait`.
   */
  writeback(task: Task, mapping: Mapping, range: ByteRange, sync: SyncMode, reason: WbReason = 'sync'): Observable<number> {
    const [first, last] = pageRange(range);
    return kernelCall(task, 'filemap_fdatawrite', (done) => writebackRange(this.parts, task, mapping, first, last, sync, reason, done));
  }

  /**
   * fsync / fdatasync's data part (file_write_and_wait_range): WB_SYNC_ALL writeback of the
   * range, then the mapping's error since the file description's cursor, reported once.
   */
  fileWriteAndWait(task: Task, mapping: Mapping, range: ByteRange, cursor: ErrSeqCursor): Observable<E.Either<Errno, void>> {
    const [first, last] = pageRange(range);
    return kernelCall(task, 'file_write_and_wait_range', (done) =>
      writebackRange(this.parts, task, mapping, first, last, 'WB_SYNC_ALL', 'sync', () => {
        const err = mapping.wbErr.checkAndAdvance(cursor);
        done(err ? E.left(err) : E.right(undefined));
      }),
    );
  }

  /** filemap_write_and_wait_range (O_DIRECT coherence): WB_SYNC_ALL, then filemap_check_errors. */
  writebackAndWait(task: Task, mapping: Mapping, range: ByteRange): Observable<E.Either<Errno, void>> {
    const [first, last] = pageRange(range);
    return kernelCall(task, 'filemap_write_and_wait_range', (done) =>
      writebackRange(this.parts, task, mapping, first, last, 'WB_SYNC_ALL', 'sync', () => {
        const err = mapping.checkErrors();
        done(err ? E.left(err) : E.right(undefined));
      }),
    );
  }

  /** sync(2): every dirty page of every mapping on the disk. */
  sync(task: Task): Observable<void> {
    return kernelCall(task, 'sync', (done) => syncAll(this.parts, task, done));
  }

  /** truncate_inode_pages_range: remove pages [fromIndex, toIndex] (dirty ones too), waiting for busy ones. */
  invalidate(task: Task, mapping: Mapping, fromIndex: number, toIndex = Infinity): Observable<void> {
    return kernelCall(task, 'truncate_inode_pages', (done) => truncatePages(this.parts, task, mapping, fromIndex, toIndex, done));
  }

  /** invalidate_inode_pages2_range for the bytes of `range`: clean pages go; EBUSY if a dirty page had to stay. */
  invalidateRange(task: Task, mapping: Mapping, range: ByteRange): Observable<E.Either<'EBUSY', void>> {
    const [first, last] = pageRange(range);
    return kernelCall(task, 'invalidate_inode_pages2', (done) => invalidatePages2(this.parts, task, mapping, first, last, (b) => done(b ? E.left('EBUSY') : E.right(undefined))));
  }

  /** truncate_setsize + truncate_pagecache: i_size = newSize, pages beyond it dropped, the partial tail zeroed. */
  truncate(task: Task, mapping: Mapping, newSize: number): Observable<void> {
    return kernelCall(task, 'truncate', (done) => truncateSize(this.parts, task, mapping, newSize, done));
  }

  /** echo 1 > /proc/sys/vm/drop_caches: free every clean, unused page now. Returns how many. Call from work on a CPU to charge it. */
  dropCaches(): number {
    return this.parts.reclaim.dropCaches();
  }

  /** Stop the flusher's timer (end of a run). Dirty pages stay dirty. */
  shutdown(): void {
    this.parts.flusher.stop();
  }

  /** Page-cache pages (NR_FILE_PAGES). */
  get nrPages(): number {
    return this.parts.core.nrPages;
  }

  /** Dirty pages (NR_FILE_DIRTY). */
  get nrDirty(): number {
    return this.parts.core.nrDirty;
  }

  /** Pages under writeback (NR_WRITEBACK). */
  get nrWriteback(): number {
    return this.parts.core.nrWriteback;
  }

  /** The dirty thresholds as they stand now. */
  thresholds(): DirtyThresholds {
    return this.parts.core.thresholds();
  }

  /** Internals for tests and reports: the LRU lists, the flusher state. */
  get internals(): PageCacheParts {
    return this.parts;
  }
}

function validRange(pos: number, len: number): boolean {
  return Number.isSafeInteger(pos) && Number.isSafeInteger(len) && pos >= 0 && len >= 0;
}

/** A byte range → inclusive page indexes. */
function pageRange(r: ByteRange): [number, number] {
  const first = Math.floor(r.start / PAGE_SIZE);
  const last = r.end === undefined || !Number.isFinite(r.end) ? Infinity : Math.ceil(r.end / PAGE_SIZE) - 1;
  return [first, last];
}
