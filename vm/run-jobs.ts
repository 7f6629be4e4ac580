/**
 * Running fio jobs on a booted machine: each job (each `numjobs` clone) is a process on
 * a vCPU (round robin) doing direct, asynchronous I/O on its disk — any guest block
 * device, virtio-blk or SCSI (`filename=/dev/vdX` or `/dev/sdX`, default the first disk). The measured window opens when the jobs start and closes
 * when the last one finishes; the metrics of that window are the result.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MetricsSnapshot } from '../sim/metrics.js';
import { Rng } from '../sim/rng.js';
import { startBlockJob, type BlockJobHooks, type JobIo } from '../workload/block-job.js';
import { ioStream, type FioJob } from '../workload/index.js';
import type { VmError } from './errors.js';
import { guestDisks, type GuestDisk } from './guest-boot.js';
import { quiescentTime, type Machine } from './machine.js';
import { stoppedReason } from './runstate.js';

export interface JobRunOptions {
  /** Override each job's I/O sequence (property tests feed their own). */
  ios?: (job: FioJob, index: number) => Iterator<JobIo>;
  hooks?: BlockJobHooks;
  /** Give up after this much virtual time (ns). Default: none. */
  maxVirtualNs?: number;
}

export interface JobRunResult {
  metrics: MetricsSnapshot;
  jobs: { name: string; ios: number; errors: number }[];
}

/** fio's async engines keep `iodepth` in flight; the sync ones one at a time. */
export function effectiveIodepth(job: FioJob): number {
  return job.ioengine === 'libaio' || job.ioengine === 'io_uring' ? Math.max(1, job.iodepth) : 1;
}

export function runJobs(m: Machine, jobs: readonly FioJob[], opts: JobRunOptions = {}): E.Either<VmError, JobRunResult> {
  const disks = guestDisks(m.guest);
  if (disks.length === 0) return E.left({ _tag: 'Workload', message: 'the VM has no disk to run the job on (add -drive and -device virtio-blk-pci, or virtio-scsi-pci and scsi-hd)' });
  const plans: { job: FioJob; disk: GuestDisk; ios: Iterator<JobIo>; cpu: number }[] = [];
  for (const [i, job] of jobs.entries()) {
    if (!job.direct) return E.left({ _tag: 'Workload', message: `job '${job.name}': buffered I/O (direct=0) needs the guest page cache, which is not modelled yet; use direct=1` });
    const target = job.filename ?? `/dev/${disks[0].name}`;
    const disk = disks.find((d) => `/dev/${d.name}` === target || d.name === target);
    if (!disk) return E.left({ _tag: 'Workload', message: `job '${job.name}': filename=${target}: no such block device (have ${disks.map((d) => '/dev/' + d.name).join(', ')})` });
    const deviceBytes = disk.bdev.capacitySectors * 512;
    const lbs = disk.bdev.limits.logicalBlockSize;
    if (job.bs % lbs !== 0) return E.left({ _tag: 'Workload', message: `job '${job.name}': bs=${job.bs} is not a multiple of the logical block size ${lbs} (O_DIRECT would fail with EINVAL)` });
    const rng = new Rng((m.rng.seed * 1_000_003 + i * 7919) | 0);
    const ios = opts.ios?.(job, i) ?? (ioStream(job, { deviceBytes, rng }) as Iterator<JobIo>);
    plans.push({ job, disk, ios, cpu: i % m.guest.kernel.cpus.length });
  }
  const results: { name: string; ios: number; errors: number }[] = [];
  // The measured window opens when the machine is idle after boot.
  m.sim.at(quiescentTime(m), () => {
    m.trace.emit({ kind: 'phase', t: m.sim.now, name: 'run' });
    startAll();
  });
  const startAll = (): void => {
  for (const p of plans) {
    startBlockJob(
      m.guest.kernel,
      p.disk.blk,
      m.guest.user,
      { name: p.job.name + (p.job.numjobs > 1 ? `.${p.job.index}` : ''), cpu: p.cpu, iodepth: effectiveIodepth(p.job), maxBytes: p.job.bs, ios: p.ios, hooks: opts.hooks },
      (r) => {
        results.push({ name: r.name, ios: r.ios, errors: r.errors });
        if (results.length === plans.length) m.trace.emit({ kind: 'phase', t: m.sim.now, name: 'done' });
      },
    );
  }
  };
  const limit = opts.maxVirtualNs === undefined ? undefined : m.sim.now + opts.maxVirtualNs;
  m.sim.run({ stop: () => results.length === plans.length, until: limit });
  if (results.length < plans.length) {
    const stopped = stoppedReason(m);
    const why = stopped && `: ${stopped}; a stop an rerror/werror policy asked for needs a 'cont' (--event '<time> cont')`;
    return E.left({ _tag: 'Workload', message: `jobs did not finish (${results.length}/${plans.length} done at ${m.sim.now} ns of virtual time)${why}` });
  }
  return E.right({ metrics: m.metrics.snapshot(), jobs: results });
}
