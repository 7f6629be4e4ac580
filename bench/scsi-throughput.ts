/**
 * virtio-scsi beside virtio-blk: simulated 4 KiB random writes per wall-clock second through
 * the whole path, the bench's throughput job (iodepth 32 over the default job's region of a
 * 1 GiB raw image in memory) on the default VM with its virtio-blk disk, and on the same VM
 * with a virtio-scsi-pci HBA and a scsi-hd over the same image instead (/dev/sda: the
 * guest's SCSI midlayer and sd, QEMU's virtio-scsi and SCSI emulation in the path).
 *
 * The two are measured alternately, after a warm-up of each, and the best of the rounds
 * kept, so that load from elsewhere on the machine hits both alike; rates are given per
 * wall-clock second and per CPU-second of this process (steadier on a loaded machine). The
 * figure of merit is the ratio virtio-scsi / virtio-blk per CPU-second (target ≥ 0.8).
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseQemuArgs } from '../vm/cmdline/index.js';
import { DEFAULT_VM_ARGS } from '../vm/default-vm.js';
import { startMachine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB, type FioJob } from '../workload/index.js';

/** The default VM with its virtio-blk device swapped for virtio-scsi-pci and a scsi-hd on the same drive. */
export const SCSI_VM_ARGS: readonly string[] = [
  ...DEFAULT_VM_ARGS.slice(0, DEFAULT_VM_ARGS.indexOf('-device')),
  '-device',
  'virtio-scsi-pci,id=scsi0',
  '-device',
  'scsi-hd,bus=scsi0.0,drive=disk0,id=hd0',
];

export interface FrontendRate {
  ios: number;
  wallMs: number;
  simIosPerSec: number;
  /** CPU time of this process during the run (user + system, GC threads included). */
  cpuMs: number;
  simIosPerCpuSec: number;
  /** Modelled guest IOPS of the run (virtual time). */
  virtualIops: number;
}

export interface ScsiThroughputResult {
  blk: FrontendRate;
  scsi: FrontendRate;
  /** scsi.simIosPerCpuSec / blk.simIosPerCpuSec. */
  ratio: number;
  /** The same per wall-clock second. */
  wallRatio: number;
}

function once(args: readonly string[], job: FioJob, seed: number): FrontendRate {
  const spec = parseQemuArgs(args);
  if (E.isLeft(spec)) throw new Error(`bench VM does not parse: ${args.join(' ')}`);
  const m = startMachine(spec.right, { seed });
  if (E.isLeft(m)) throw new Error(`bench VM does not boot: ${args.join(' ')}`);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = runJobs(m.right, [job]);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (E.isLeft(r)) throw new Error('benchmark job failed');
  const { ios, windowNs } = r.right.metrics;
  const cpuMs = (c.user + c.system) / 1000;
  return { ios, wallMs, simIosPerSec: (ios * 1000) / wallMs, cpuMs, simIosPerCpuSec: (ios * 1000) / cpuMs, virtualIops: (ios * 1e9) / windowNs };
}

const best = (a: FrontendRate | undefined, b: FrontendRate): FrontendRate => (a === undefined || b.cpuMs < a.cpuMs ? b : a);

export function benchScsiThroughput(ios: number, rounds = 2): ScsiThroughputResult {
  const job: FioJob = { ...DEFAULT_JOB, iodepth: 32, numberIos: ios, ioSize: ios * 4096 };
  const warm: FioJob = { ...job, numberIos: 20_000, ioSize: 20_000 * 4096 };
  once(DEFAULT_VM_ARGS, warm, 7);
  once(SCSI_VM_ARGS, warm, 7);
  let blk: FrontendRate | undefined;
  let scsi: FrontendRate | undefined;
  for (let i = 0; i < rounds; i++) {
    blk = best(blk, once(DEFAULT_VM_ARGS, job, 1));
    scsi = best(scsi, once(SCSI_VM_ARGS, job, 1));
  }
  return { blk: blk!, scsi: scsi!, ratio: scsi!.simIosPerCpuSec / blk!.simIosPerCpuSec, wallRatio: scsi!.simIosPerSec / blk!.simIosPerSec };
}
