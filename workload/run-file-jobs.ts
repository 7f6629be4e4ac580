/**
 * Running fio jobs on files in a booted guest: the setup (mkfs and mount when asked,
 * fio's layout of the files, dropping the clean page cache), then the measured window —
 * `phase: run` when the machine is idle, every job (every `numjobs` clone) started as a
 * process on its own task, CPUs round robin, and `phase: done` when the last one returns.
 *
 * This is written against the guest OS contract (`GuestOsApi`), not against a VM: the VM
 * side (report/file-experiment.ts) hands it the machine's guest OS, its clock and trace,
 * and how to make a file system. Between `run` and `done` everything the jobs cause —
 * system calls, page cache, writeback, bios, requests, exits — is in the trace and the
 * metrics; writeback still pending when the last job returns is after the window, as it
 * is after fio's.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../guest/kernel/task.js';
import type { GuestOsApi } from '../guest/vfs/syscalls-api.js';
import { Rng } from '../sim/rng.js';
import type { Trace } from '../sim/trace.js';
import type { FioJob } from './fio/job.js';
import { fileJob, fileJobDepth, type FileJobEnv, type FileJobResult } from './file-job.js';
import { layoutFiles, mkdirP } from './file-layout.js';
import { fileIoStream, isFileJob, jobFiles, type FileIo, type JobFile } from './file-plan.js';
import { call, startProc, type Proc } from './proc.js';

export interface FileRunEnv extends FileJobEnv {
  readonly trace: Trace;
  /** Guest CPUs the jobs are spread over. */
  readonly cpus: number;
  readonly seed: number;
  /** The first instant at which the machine is idle (the window opens then). */
  idleAt(): number;
}

export interface MountSpec {
  readonly device: string;
  readonly dir: string;
  /** Make the file system first (mkfs.ext3); false: mount what is on the device. */
  readonly mkfs: boolean;
}

export interface FileRunOptions {
  /** Mount a file system before the jobs (the jobs' files must be under `dir`). */
  readonly mount?: MountSpec;
  /** Where relative file names and fio's default names go. Default: the mount point, else `/`. */
  readonly cwd?: string;
  /** Override each job's I/O sequence. */
  readonly ios?: (job: FioJob, index: number, files: readonly JobFile[]) => Iterator<FileIo>;
  /** Give up after this much virtual time (ns) of the measured window. */
  readonly maxVirtualNs?: number;
}

export interface FileRunResult {
  readonly jobs: FileJobResult[];
  /** The measured window, virtual ns. */
  readonly windowStart: number;
  readonly windowEnd: number;
}

interface Plan {
  job: FioJob;
  label: string;
  files: JobFile[];
  task?: Task;
  slotTasks?: Task[];
}

/** Is `path` `dir` or under it? */
const under = (path: string, dir: string): boolean => dir === '/' || path === dir || path.startsWith(dir.endsWith('/') ? dir : dir + '/');

export function runFileJobs(env: FileRunEnv, jobs: readonly FioJob[], opts: FileRunOptions = {}): E.Either<string, FileRunResult> {
  const cwd = opts.cwd ?? opts.mount?.dir ?? '/';
  const plans: Plan[] = [];
  for (const job of jobs) {
    if (!isFileJob(job)) return E.left(`job '${job.name}': filename=${job.filename ?? '(none)'} is a block device; run block jobs and file jobs separately`);
    const files = jobFiles(job, cwd);
    if (E.isLeft(files)) return files;
    const m = opts.mount;
    const outside = m ? files.right.find((f) => !under(f.path, m.dir)) : undefined;
    if (m && outside) return E.left(`job '${job.name}': ${outside.path} is not under ${m.dir}, where ${m.device} is mounted`);
    plans.push({ job, label: job.name + (job.numjobs > 1 ? `.${job.index}` : ''), files: files.right });
  }
  const { sim, os } = env;

  // Setup: not measured.
  let setup: E.Either<string, void> | undefined;
  const setupTask = os.spawn('iopath-setup', 0);
  startProc(sim, setupProc(env, setupTask, plans, opts), (r) => (setup = r));
  sim.run({ stop: () => setup !== undefined });
  if (setup === undefined) return E.left('setup (mkfs, mount, laying out files) never finished');
  if (E.isLeft(setup)) return setup;
  // A guest OS that can start a thread of a process (clone with CLONE_FILES) gives the
  // libaio slots threads that share the job's descriptors; else they are processes.
  const thread = (os as { thread?: (of: Task, name: string, cpu?: number) => Task }).thread?.bind(os);
  plans.forEach((p, i) => {
    const cpu = i % Math.max(1, env.cpus);
    const task = (p.task = os.spawn(p.label, cpu));
    const depth = fileJobDepth(p.job);
    if (depth > 1) p.slotTasks = Array.from({ length: depth }, (_, k) => (thread ? thread(task, `${p.label}/aio${k}`, cpu) : os.spawn(`${p.label}/aio${k}`, cpu)));
  });
  const shared = thread !== undefined;

  const results: FileJobResult[] = [];
  let jobsDone = 0;
  let windowStart = 0;
  let windowEnd = 0;
  sim.at(env.idleAt(), () => {
    windowStart = sim.now;
    env.trace.emit({ kind: 'phase', t: sim.now, name: 'run' });
    plans.forEach((p, i) => {
      const rng = new Rng((env.seed * 1_000_003 + i * 7919) | 0);
      const ios = opts.ios?.(p.job, i, p.files) ?? fileIoStream(p.job, p.files, rng);
      startProc(sim, fileJob(env, { job: p.job, label: p.label, files: p.files, task: p.task!, slotTasks: p.slotTasks, slotsShareFds: shared, ios }), (r) => {
        results[i] = r;
        if (++jobsDone === plans.length) {
          windowEnd = sim.now;
          env.trace.emit({ kind: 'phase', t: sim.now, name: 'done' });
        }
      });
    });
  });
  // Asked after every event of the run: a count, not a scan.
  const finished = (): boolean => jobsDone === plans.length;
  const limit = opts.maxVirtualNs === undefined ? undefined : Math.max(sim.now, env.idleAt()) + opts.maxVirtualNs;
  sim.run({ stop: finished, until: limit });
  if (!finished()) return E.left(`file jobs did not finish (${jobsDone}/${plans.length} done at ${sim.now} ns of virtual time)`);
  return E.right({ jobs: results, windowStart, windowEnd });
}

/** mkfs.ext3 (when asked), the mount point made if missing (`mkdir -p`), and mount. */
export function* mountFs(os: GuestOsApi, task: Task, m: MountSpec): Proc<E.Either<string, void>> {
  const sys = os.syscalls;
  if (m.mkfs) {
    if (!sys.mkfsDevice) return E.left(`mkfs.ext3 ${m.device}: this guest cannot make a file system`);
    const r = yield* call(sys.mkfsDevice(task, m.device));
    if (E.isLeft(r)) return E.left(`mkfs.ext3 ${m.device}: ${r.left}`);
  }
  const dir = yield* mkdirP(os, task, m.dir);
  if (E.isLeft(dir)) return E.left(`mount point ${m.dir}: ${dir.left}`);
  const r = yield* call(sys.mount(task, m.device, m.dir));
  return E.isLeft(r) ? E.left(`mount ${m.device} ${m.dir}: ${r.left}`) : E.right(undefined);
}

function* setupProc(env: FileRunEnv, task: Task, plans: readonly Plan[], opts: FileRunOptions): Proc<E.Either<string, void>> {
  const sys = env.os.syscalls;
  if (opts.mount) {
    const r = yield* mountFs(env.os, task, opts.mount);
    if (E.isLeft(r)) return r;
  }
  const laidOut = new Set<string>();
  for (const p of plans) {
    const r = yield* layoutFiles(env, task, p.job, p.files, laidOut);
    if (E.isLeft(r)) return E.left(`job '${p.job.name}': ${r.left}`);
  }
  if (plans.some((p) => p.job.invalidate)) {
    const r = yield* call(sys.dropCaches(task, 1));
    if (E.isLeft(r)) return E.left(`drop_caches: ${r.left}`);
  }
  return E.right(undefined);
}
