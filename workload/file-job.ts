/**
 * A fio job's process doing I/O on files through the guest's system calls
 * (guest/vfs/syscalls-api.ts), as fio's engines do it:
 *
 * - `psync`: one `pread`/`pwrite` at a time (fio's default engine);
 * - `sync`: `lseek` when the file position is not already there, then `read`/`write`;
 * - `libaio` (and `io_uring`): with `direct=1`, up to `iodepth` I/Os in flight — each is
 *   submitted without waiting and reaped when it completes; with buffered I/O, Linux's
 *   `io_submit` does the copy into the page cache before it returns, so the I/O is
 *   synchronous and only one is ever in flight. (io_uring's io-wq punting of buffered
 *   I/O is not modelled.) The guest OS contract has no io_submit: a system call blocks
 *   its task, and a task is in one call at a time. So each of the `iodepth` slots is a
 *   thread (`<job>/aio<i>`, on the job's CPU) — of the job's process, sharing its
 *   descriptors, when the guest OS can start one (`thread`), else a process of its own
 *   that opens the files too — and an I/O in flight is a `pread`/`pwrite` of the slot's
 *   thread; what the device sees — `iodepth` requests in flight, submitted without waiting
 *   for each other — is libaio's. One difference remains: a thread's O_DIRECT `pwrite`
 *   holds the inode's lock until its I/O completes (as ext3's i_mutex did for synchronous
 *   direct I/O), where io_submit lets go once the I/O is submitted — so direct writes to
 *   one file go one at a time; reads, and writes to different files, overlap.
 *
 * `fsync=N` / `fdatasync=N`: after every Nth write the job waits for its I/Os in flight
 * (fio's libaio engine answers a sync with "busy" until its queue is empty) and then
 * syncs the file that write went to. `end_fsync`: every file is fsynced once the I/O is
 * done. `runtime` stops the job issuing. The first failed call stops the job, as fio's
 * default `continue_on_error=none` does; the error names the call, the file and the errno.
 *
 * Buffers are user memory, one per I/O in flight, filled once with a fixed pattern (fio
 * without `refill_buffers`).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { GuestMemory } from '../hw/memory.js';
import type { Simulator } from '../sim/simulator.js';
import type { Task } from '../guest/kernel/task.js';
import { O_CREAT, O_DIRECT, O_RDONLY, O_RDWR, type Errno, type GuestOsApi, type Sys, type UserBuf } from '../guest/vfs/syscalls-api.js';
import type { FioJob } from './fio/job.js';
import { jobWrites, type FileIo, type JobFile } from './file-plan.js';
import { call, callStep, reap, submit, type Proc } from './proc.js';

export interface FileJobEnv {
  readonly sim: Simulator;
  readonly mem: GuestMemory;
  readonly os: GuestOsApi;
}

export interface FileJobSpec {
  readonly job: FioJob;
  /** As reported (`name` or `name.index` for clones). */
  readonly label: string;
  readonly files: readonly JobFile[];
  /** The job's thread: it opens, syncs and closes the files, and does the I/O when one is in flight at a time. */
  readonly task: Task;
  /** With more than one I/O in flight: a thread per slot (`fileJobDepth` of them). */
  readonly slotTasks?: readonly Task[];
  /** The slot threads share the job's descriptors (threads of its process); else each opens the files. */
  readonly slotsShareFds?: boolean;
  readonly ios: Iterator<FileIo>;
}

export interface FileJobResult {
  readonly name: string;
  /** I/Os completed (reads + writes). */
  readonly ios: number;
  readonly reads: number;
  readonly writes: number;
  readonly bytes: number;
  /** fsync + fdatasync calls made (end_fsync included). */
  readonly syncs: number;
  /** Completion latency of each I/O (fio's clat), ns. */
  readonly latenciesNs: number[];
  /** The failed call that stopped the job, if one did. */
  readonly error?: string;
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** fio's async engines keep `iodepth` in flight with O_DIRECT; buffered AIO is synchronous in Linux. */
export function fileJobDepth(job: FioJob): number {
  const async = job.ioengine === 'libaio' || job.ioengine === 'io_uring';
  return async && job.direct ? Math.max(1, job.iodepth) : 1;
}

/** open(2) flags fio uses: read-write (and O_CREAT, fio's allow_create) when the job writes. */
export function fileJobOpenFlags(job: FioJob): number {
  let f = jobWrites(job) ? O_RDWR | O_CREAT : O_RDONLY;
  if (job.createOnOpen) f |= O_CREAT;
  if (job.direct) f |= O_DIRECT;
  return f;
}

type Ret = E.Either<Errno, number>;
/** Where an I/O runs: a thread, its descriptors of the job's files, and its buffer. */
interface Slot {
  task: Task;
  fds: number[];
  buf: UserBuf;
}
interface Tag {
  io: FileIo;
  slot: Slot;
  at: number;
}

/** The job, as a process (run it with `startProc`). */
export function* fileJob(env: FileJobEnv, spec: FileJobSpec): Proc<FileJobResult> {
  const { sim, os } = env;
  const { job, task, files } = spec;
  const sys = os.syscalls;
  const startedAt = sim.now;
  const depth = fileJobDepth(job);
  if (depth > 1 && (spec.slotTasks?.length ?? 0) < depth) throw new Error(`file job ${spec.label}: ${depth} slot threads needed`);
  const fds: number[] = [];
  const slots: Slot[] = Array.from({ length: depth }, (_, i) => ({
    task: depth === 1 ? task : spec.slotTasks![i],
    fds: depth === 1 || spec.slotsShareFds ? fds : [],
    buf: fillBuffer(env.mem, os.allocUser(job.bs), i),
  }));
  const free = [...slots];
  const latenciesNs: number[] = [];
  let reads = 0;
  let writes = 0;
  let bytes = 0;
  let syncs = 0;
  let error: string | undefined;
  let inflight = 0;
  let writesIssued = 0;
  const pos: number[] = [];

  const what = (io: FileIo): string => `${io.op === 'read' ? 'read' : 'write'} ${files[io.file].path} ${io.bytes}@${io.offset}`;
  const finishIo = (io: FileIo, slot: Slot, at: number, r: Ret): void => {
    free.push(slot);
    if (E.isLeft(r)) {
      error ??= `${what(io)}: ${r.left}`;
      return;
    }
    latenciesNs.push(sim.now - at);
    bytes += r.right;
    if (io.op === 'read') reads++;
    else writes++;
  };
  const finish = (t: Tag, r: Ret): void => finishIo(t.io, t.slot, t.at, r);
  const rw = (io: FileIo, s: Slot): Sys<number> => {
    const fd = s.fds[io.file];
    return io.op === 'read' ? sys.pread(s.task, fd, s.buf, io.offset) : sys.pwrite(s.task, fd, s.buf, io.offset);
  };
  function* drain(): Proc<void> {
    while (inflight > 0) for (const c of yield* reap<Ret, Tag>(1)) inflight--, finish(c.tag, c.value);
  }
  function* syncCall(kind: 'fsync' | 'fdatasync', file: number): Proc<void> {
    yield* drain();
    const r = yield* call(kind === 'fsync' ? sys.fsync(task, fds[file]) : sys.fdatasync(task, fds[file]));
    syncs++;
    if (E.isLeft(r)) error ??= `${kind} ${files[file].path}: ${r.left}`;
  }
  /** fio's sync engine: read/write at the file position, seeking only when it is elsewhere. */
  function* syncEngineIo(io: FileIo, s: Slot): Proc<Ret> {
    if (pos[io.file] !== io.offset) {
      const r = yield* call(sys.lseek(task, fds[io.file], io.offset, 'SEEK_SET'));
      if (E.isLeft(r)) return r;
    }
    const r = yield* call(io.op === 'read' ? sys.read(task, fds[io.file], s.buf) : sys.write(task, fds[io.file], s.buf));
    pos[io.file] = E.isRight(r) ? io.offset + r.right : -1;
    return r;
  }
  function* open(t: Task, into: number[]): Proc<void> {
    for (const f of files) {
      const r = yield* call(sys.open(t, f.path, fileJobOpenFlags(job)));
      if (E.isLeft(r)) {
        error ??= `open ${f.path}: ${r.left}`;
        return;
      }
      into.push(r.right);
    }
  }

  yield* open(task, fds);
  pos.push(...fds.map(() => 0));
  const ownFds = depth > 1 && !spec.slotsShareFds;
  if (ownFds) for (const s of slots) if (error === undefined) yield* open(s.task, s.fds);
  const deadline = job.runtimeNs === undefined ? Infinity : startedAt + job.runtimeNs;
  while (error === undefined && sim.now < deadline) {
    const n = spec.ios.next();
    if (n.done) break;
    const io = n.value;
    if (depth === 1) {
      const slot = free.pop()!;
      const at = sim.now;
      const r = job.ioengine === 'sync' ? yield* syncEngineIo(io, slot) : ((yield callStep(rw(io, slot))) as Ret);
      finishIo(io, slot, at, r);
    } else {
      while (free.length === 0) for (const c of yield* reap<Ret, Tag>(1)) inflight--, finish(c.tag, c.value);
      if (error !== undefined) break;
      const slot = free.pop()!;
      inflight++;
      yield* submit(rw(io, slot), { io, slot, at: sim.now });
    }
    if (io.op === 'write' && error === undefined) {
      const issued = ++writesIssued;
      if (job.fsync > 0 && issued % job.fsync === 0) yield* syncCall('fsync', io.file);
      if (job.fdatasync > 0 && issued % job.fdatasync === 0 && error === undefined) yield* syncCall('fdatasync', io.file);
    }
  }
  yield* drain();
  if (job.endFsync && error === undefined) for (let i = 0; i < fds.length && error === undefined; i++) yield* syncCall('fsync', i);
  for (const s of ownFds ? [...slots, { task, fds }] : [{ task, fds }]) {
    for (const fd of s.fds) {
      const r = yield* call(sys.close(s.task, fd));
      if (E.isLeft(r)) error ??= `close: ${r.left}`;
    }
  }
  for (const s of slots) os.freeUser(s.buf);
  return {
    name: spec.label,
    ios: reads + writes,
    reads,
    writes,
    bytes,
    syncs,
    latenciesNs,
    ...(error !== undefined ? { error } : {}),
    startedAt,
    finishedAt: sim.now,
  };
}

/** A fixed, non-zero pattern per buffer (fio's buffer fill), written once. */
function fillBuffer(mem: GuestMemory, buf: UserBuf, i: number): UserBuf {
  const pattern = new Uint8Array(buf.len);
  for (let j = 0; j < pattern.length; j += 4) pattern[j] = (j >> 2) ^ (i * 37) ^ 0x5a;
  mem.write(buf.addr, pattern);
  return buf;
}
