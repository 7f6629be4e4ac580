/**
 * fio jobs on files, on a VM given by QEMU arguments: boot, then `runFileJobs`
 * (workload/run-file-jobs.ts) over the guest's OS — mkfs.ext3 and mount first when asked
 * — and the report of the measured window. This is the VM side of the file-job hook:
 * `iopath run` dispatches here when the job file's jobs are on files.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { GuestOsApi } from '../guest/vfs/syscalls-api.js';
import type { CostModel } from '../sim/costs.js';
import type { TraceEvent } from '../sim/trace.js';
import { quiescentTime, type Machine } from '../vm/machine.js';
import type { FioJob } from '../workload/fio/job.js';
import { runFileJobs, type FileRunEnv, type FileRunOptions, type FileRunResult, type MountSpec } from '../workload/run-file-jobs.js';
import { buildFileRunReport, type FileRunReport } from './file-report.js';
import { SyscallLatencies } from './syscall-latency.js';
import { bootFromArgs } from './experiment.js';
import { closeMachine } from '../vm/power.js';
import { stoppedReason } from '../vm/runstate.js';

export interface FileExperiment {
  label: string;
  qemuArgs: readonly string[];
  jobs: readonly FioJob[];
  /** What to mount before the jobs (default: mkfs.ext3 /dev/vda, mounted at /mnt). */
  mount?: MountSpec;
}

export interface FileExperimentResult {
  report: FileRunReport;
  run: FileRunResult;
  events?: TraceEvent[];
}

export const DEFAULT_MOUNT: MountSpec = { device: '/dev/vda', dir: '/mnt', mkfs: true };

/** The guest OS of a booted machine, or why there is none (a machine that is off). A stopped machine's calls wait for `cont`. */
export function guestOs(m: Machine): E.Either<string, GuestOsApi> {
  return m.state !== 'off' ? E.right(m.guest.os) : E.left('the machine is off (after a power cut or a reboot): its guest runs no more');
}

/** The file-job runner's view of a machine. */
export function fileRunEnv(m: Machine, os: GuestOsApi): FileRunEnv {
  return { sim: m.sim, trace: m.trace, mem: m.mem, os, cpus: m.guest.kernel.cpus.length, seed: m.rng.seed, idleAt: () => quiescentTime(m) };
}

/** Run file jobs on a booted machine; the report of the measured window. */
export function runFileJobsOn(m: Machine, label: string, jobs: readonly FioJob[], opts: FileRunOptions): E.Either<string, { report: FileRunReport; run: FileRunResult }> {
  const os = guestOs(m);
  if (E.isLeft(os)) return os;
  const lat = new SyscallLatencies();
  const detach = m.trace.attach(lat.sink);
  const r = runFileJobs(fileRunEnv(m, os.right), jobs, opts);
  detach();
  if (E.isLeft(r)) {
    const stopped = stoppedReason(m);
    return stopped ? E.left(`${r.left}: ${stopped}`) : r;
  }
  return E.right({ report: buildFileRunReport(label, m.metrics.snapshot(), r.right.jobs, lat.byName), run: r.right });
}

export function runFileExperiment(x: FileExperiment, seed: number, costs?: CostModel, record = false): E.Either<string, FileExperimentResult> {
  const m = bootFromArgs(x.qemuArgs, { seed, costs, record });
  if (E.isLeft(m)) return m;
  const r = runFileJobsOn(m.right, x.label, x.jobs, { mount: x.mount ?? DEFAULT_MOUNT });
  // QEMU's quit: the drives are closed (the guest's page cache is lost, as when QEMU quits).
  closeMachine(m.right);
  if (E.isLeft(r)) return r;
  return E.right({ ...r.right, events: m.right.recorder?.events });
}
