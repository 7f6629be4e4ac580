/**
 * One measured run of the bench job, and the pick of a median, shared by the benchmarks
 * that time the whole path (bench/throughput.ts, bench/scsi-throughput.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseQemuArgs } from '../vm/cmdline/index.js';
import { startMachine, type Machine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB, type FioJob } from '../workload/index.js';

export interface FrontendRate {
  ios: number;
  wallMs: number;
  simIosPerSec: number;
  /** CPU time of the measuring process during the run (user + system, GC threads included). */
  cpuMs: number;
  simIosPerCpuSec: number;
  /** Modelled guest IOPS of the run (virtual time). */
  virtualIops: number;
}

/** The bench job: 4 KiB random writes at iodepth 32, `ios` of them. */
export function benchJob(ios: number): FioJob {
  return { ...DEFAULT_JOB, iodepth: 32, numberIos: ios, ioSize: ios * 4096 };
}

/**
 * Boot the VM of `args` from `seed`, call `before`, then run `job` on it, timed by the wall
 * clock and by this process's CPU time. Throws if the VM or the job fails (bench code).
 */
export function measuredRun(args: readonly string[], job: FioJob, seed: number, before: () => void = () => undefined): { rate: FrontendRate; machine: Machine } {
  const spec = parseQemuArgs(args);
  if (E.isLeft(spec)) throw new Error(`bench VM does not parse: ${args.join(' ')}`);
  const m = startMachine(spec.right, { seed });
  if (E.isLeft(m)) throw new Error(`bench VM does not boot: ${args.join(' ')}`);
  before();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = runJobs(m.right, [job]);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (E.isLeft(r)) throw new Error('benchmark job failed');
  const { ios, windowNs } = r.right.metrics;
  if (ios !== job.numberIos) throw new Error(`benchmark job did ${ios} I/Os, not ${job.numberIos}`);
  const cpuMs = (c.user + c.system) / 1000;
  const rate = { ios, wallMs, simIosPerSec: (ios * 1000) / wallMs, cpuMs, simIosPerCpuSec: (ios * 1000) / cpuMs, virtualIops: (ios * 1e9) / windowNs };
  return { rate, machine: m.right };
}

/** The element whose `key` is the median one (the lower middle for an even count). */
export function medianBy<T>(xs: readonly T[], key: (x: T) => number): T {
  const s = [...xs].sort((a, b) => key(a) - key(b));
  return s[(s.length - 1) >> 1];
}
