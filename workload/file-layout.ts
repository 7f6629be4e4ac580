/**
 * What fio does before a file job starts ("Laying out IO file(s)", filesetup.c), as
 * processes on a setup task, outside the measured window:
 *
 * - the directories of the files are made (`mkdir -p`, as fio's create_work_dirs);
 * - unless `create_on_open`, each file is created; for a job that reads, it is filled
 *   with data up to `offset + size` and fsynced (fio writes it out so there is something
 *   to read; iopath writes 1 MiB at a time where fio writes `bs` at a time — not measured
 *   either way), and a file already that big is left as it is. A write-only job starts
 *   from the empty file (fio's fallocate is refused by ext3, so fio's file is empty too).
 *
 * Dropping the files' cached pages (`invalidate=1`, fio's posix_fadvise(DONTNEED)) is the
 * runner's: it drops the clean page cache once every file is laid out.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../guest/kernel/task.js';
import { O_CREAT, O_WRONLY, type Errno, type GuestOsApi } from '../guest/vfs/syscalls-api.js';
import type { GuestMemory } from '../hw/memory.js';
import type { FioJob } from './fio/job.js';
import { jobReads, type JobFile } from './file-plan.js';
import { call, type Proc } from './proc.js';

const CHUNK = 1 << 20;

/** `mkdir -p dir`: every missing directory on the way; an existing one is fine. */
export function* mkdirP(os: GuestOsApi, task: Task, dir: string): Proc<E.Either<string, void>> {
  let path = '';
  for (const part of dir.split('/').filter((x) => x !== '')) {
    path += '/' + part;
    const st = yield* call(os.syscalls.stat(task, path));
    if (E.isRight(st)) {
      if (st.right.kind !== 'dir') return E.left(`mkdir ${path}: ENOTDIR`);
      continue;
    }
    const r = yield* call(os.syscalls.mkdir(task, path, 0o755));
    if (E.isLeft(r) && r.left !== 'EEXIST') return E.left(`mkdir ${path}: ${r.left}`);
  }
  return E.right(undefined);
}

const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';

/** Lay out one job's files (those not already laid out, by path, in `done`). */
export function* layoutFiles(
  env: { os: GuestOsApi; mem: GuestMemory },
  task: Task,
  job: FioJob,
  files: readonly JobFile[],
  done: Set<string>,
): Proc<E.Either<string, void>> {
  const { os } = env;
  const sys = os.syscalls;
  for (const f of files) {
    if (done.has(f.path)) continue;
    done.add(f.path);
    const dir = yield* mkdirP(os, task, parentOf(f.path));
    if (E.isLeft(dir)) return dir;
    if (job.createOnOpen) continue;
    const want = jobReads(job) ? f.offset + f.size : 0;
    const st = yield* call(sys.stat(task, f.path));
    if (E.isRight(st) && st.right.size >= want) continue;
    const fd = yield* call(sys.open(task, f.path, O_WRONLY | O_CREAT, 0o644));
    if (E.isLeft(fd)) return E.left(`laying out ${f.path}: open: ${fd.left}`);
    const failed = yield* fill(env, task, fd.right, want);
    const closed = yield* call(sys.close(task, fd.right));
    if (failed !== undefined) return E.left(`laying out ${f.path}: ${failed}`);
    if (E.isLeft(closed)) return E.left(`laying out ${f.path}: close: ${closed.left}`);
  }
  return E.right(undefined);
}

/** Write `bytes` of a non-zero pattern from offset 0 and fsync; the failed call, if any. */
function* fill(env: { os: GuestOsApi; mem: GuestMemory }, task: Task, fd: number, bytes: number): Proc<string | undefined> {
  if (bytes === 0) return undefined;
  const sys = env.os.syscalls;
  const buf = env.os.allocUser(Math.min(CHUNK, bytes));
  const pattern = new Uint8Array(buf.len);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 131 + 7) & 0xff || 1;
  env.mem.write(buf.addr, pattern);
  let failed: string | undefined;
  for (let off = 0; off < bytes && failed === undefined; off += CHUNK) {
    const len = Math.min(CHUNK, bytes - off);
    const r: E.Either<Errno, number> = yield* call(sys.pwrite(task, fd, { addr: buf.addr, len }, off));
    if (E.isLeft(r)) failed = `pwrite ${len}@${off}: ${r.left}`;
  }
  if (failed === undefined) {
    const s = yield* call(sys.fsync(task, fd));
    if (E.isLeft(s)) failed = `fsync: ${s.left}`;
  }
  env.os.freeUser(buf);
  return failed;
}
