/**
 * virtio-scsi beside virtio-blk: simulated 4 KiB random writes per CPU-second through the
 * whole path, the bench's throughput job (iodepth 32 over the default job's region of a
 * 1 GiB raw image in memory) on the default VM with its virtio-blk disk, and on the same VM
 * with a virtio-scsi-pci HBA and a scsi-hd over the same image instead (/dev/sda: the
 * guest's SCSI midlayer and sd, QEMU's virtio-scsi and SCSI emulation in the path).
 *
 * How it is measured, so that a loaded machine moves the ratio little and favours neither:
 * - every run is one front end in a process of its own (scsi-throughput-child.ts): the same
 *   job from the same seed on a freshly booted VM, after a warm-up run on another VM of the
 *   same kind and a full collection. Run in one process, the two front ends share the JIT's
 *   state for the code they have in common (blk-mq, virtqueues, guest memory, the block
 *   layer), and which of them it ends up suiting changed from run to run: the same build
 *   measured 0.59 to 0.79;
 * - `rounds` rounds each run the pair back to back, in alternating order (blk then scsi,
 *   then scsi then blk, …), so drift in the machine's load hits both alike;
 * - each round gives one ratio, scsi / blk per CPU-second of the child (user + system, the
 *   garbage collector's threads included); the figure of merit is the median of those
 *   paired ratios (target ≥ 0.8), given with the lowest and highest.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_VM_ARGS } from '../vm/default-vm.js';
import { benchJob, measuredRun, medianBy, type FrontendRate } from './measure.js';

/** The default VM with its virtio-blk device swapped for virtio-scsi-pci and a scsi-hd on the same drive. */
export const SCSI_VM_ARGS: readonly string[] = [
  ...DEFAULT_VM_ARGS.slice(0, DEFAULT_VM_ARGS.indexOf('-device')),
  '-device',
  'virtio-scsi-pci,id=scsi0',
  '-device',
  'scsi-hd,bus=scsi0.0,drive=disk0,id=hd0',
];

export type Frontend = 'blk' | 'scsi';

/** The middle, lowest and highest of a sample. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface ScsiThroughputResult {
  /** Each front end's run of median CPU time. */
  blk: FrontendRate;
  scsi: FrontendRate;
  /** Median over the rounds of scsi.simIosPerCpuSec / blk.simIosPerCpuSec within the round. */
  ratio: number;
  /** The same per wall-clock second. */
  wallRatio: number;
  /** The paired per-CPU-second ratios: median (= ratio), lowest, highest; and each round's, in order. */
  spread: Spread;
  ratios: number[];
  rounds: number;
}

const VM_ARGS: Record<Frontend, readonly string[]> = { blk: DEFAULT_VM_ARGS, scsi: SCSI_VM_ARGS };

/**
 * One front end's measured run in this process: a warm-up of min(ios, 50,000) I/Os on
 * another VM, a full collection when `gc` is exposed, then the job on a fresh VM.
 */
export function measureFrontend(fe: Frontend, ios: number): FrontendRate {
  const job = benchJob(ios);
  const warmIos = Math.min(ios, 50_000);
  measuredRun(VM_ARGS[fe], { ...job, numberIos: warmIos, ioSize: warmIos * 4096 }, 7);
  const gc = (globalThis as { gc?: () => void }).gc;
  return measuredRun(VM_ARGS[fe], job, 1, () => gc?.()).rate;
}

/** measureFrontend in a child process (node --expose-gc scsi-throughput-child.js). */
function measureInChild(fe: Frontend, ios: number): FrontendRate {
  // Built, the child is .js beside this file; under tsx it is the .ts source, with tsx's loader in execArgv.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const child = fileURLToPath(new URL(`./scsi-throughput-child${ext}`, import.meta.url));
  const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', child, fe, String(ios)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`virtio-scsi benchmark child (${fe}) failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as FrontendRate;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * `ios` I/Os per run, `rounds` pairs of runs. Runs of about a second (200,000 I/Os at the
 * rates seen here) keep most pairs within a few percent of the median on a loaded 2-core
 * machine; shorter runs scatter more. `measure` runs one front end (default: in a child
 * process of its own).
 */
export function benchScsiThroughput(ios: number, rounds = 7, measure: (fe: Frontend, ios: number) => FrontendRate = measureInChild): ScsiThroughputResult {
  const n = Math.max(1, Math.floor(rounds));
  const blks: FrontendRate[] = [];
  const scsis: FrontendRate[] = [];
  const ratios: number[] = [];
  const wallRatios: number[] = [];
  for (let i = 0; i < n; i++) {
    let blk: FrontendRate;
    let scsi: FrontendRate;
    if (i % 2 === 0) {
      blk = measure('blk', ios);
      scsi = measure('scsi', ios);
    } else {
      scsi = measure('scsi', ios);
      blk = measure('blk', ios);
    }
    blks.push(blk);
    scsis.push(scsi);
    ratios.push(scsi.simIosPerCpuSec / blk.simIosPerCpuSec);
    wallRatios.push(scsi.simIosPerSec / blk.simIosPerSec);
  }
  const ratio = median(ratios);
  return {
    blk: medianBy(blks, (r) => r.cpuMs),
    scsi: medianBy(scsis, (r) => r.cpuMs),
    ratio,
    wallRatio: median(wallRatios),
    spread: { median: ratio, min: Math.min(...ratios), max: Math.max(...ratios) },
    ratios,
    rounds: n,
  };
}
