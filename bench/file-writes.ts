/**
 * Buffered file writes: a fio job of sequential 4 KiB `pwrite`s (psync, direct=0) into a
 * file on ext3 (mkfs.ext3 + mount /mnt on the default VM's virtio-blk disk), with the page
 * cache writing back as it fills (dirty thresholds, the flusher, throttling) — system calls
 * per wall-clock second over the measured window. Printed beside the raw block spine's
 * rate from the same process (bench/throughput.ts), with their ratio (target ≥ 0.5).
 *
 * It also follows the page cache's size (pages it holds, sampled at every page-cache
 * event) and prints its peak beside the guest's memory: the cache must never hold more
 * than the guest has.
 *
 * It runs twice: on the default VM with `-mem-prealloc` (the figure of merit) and without.
 * The spine reuses the same few guest pages and the same 64 MiB of disk for every write, so
 * its window never makes the host commit new memory; the page cache of a new 400 MiB file
 * needs a new guest page for every write, and without preallocation the host's first touch
 * of each (a page fault, several times the cost of the copy into it on a virtual machine)
 * falls inside the window. `-mem-prealloc` moves that to boot, as it does for QEMU.
 */
import * as E from 'fp-ts/lib/Either.js';
import { runFileJobsOn } from '../report/file-experiment.js';
import { sinkFor, type TraceEvent } from '../sim/trace.js';
import { parseQemuArgs } from '../vm/cmdline/index.js';
import { DEFAULT_VM_ARGS } from '../vm/default-vm.js';
import { vmErrorMessage } from '../vm/errors.js';
import { startMachine, type Machine } from '../vm/machine.js';
import { parseFioJob } from '../workload/index.js';
import { medianBy } from './measure.js';

export interface FileWritesResult {
  writes: number;
  syscalls: number;
  wallMs: number;
  syscallsPerSec: number;
  /** Process CPU time over the window, and the rate per CPU-second (steadier on a loaded machine). */
  cpuMs: number;
  syscallsPerCpuSec: number;
  /** Page-cache pages at the peak, and the bytes they are. */
  peakCachePages: number;
  peakCacheBytes: number;
  guestMemBytes: number;
  /** Pages written back during the window, by reason. */
  writtenBack: { periodic: number; background: number; sync: number; vmscan: number };
  throttles: number;
  /** Clean pages the cache gave back to stay within the guest's memory. */
  reclaimed: number;
  virtualNs: number;
}

/** The VM the figure of merit is measured on: the default one, with guest RAM preallocated. */
export const FILE_BENCH_VM_ARGS: readonly string[] = [...DEFAULT_VM_ARGS, '-mem-prealloc'];

function boot(args: readonly string[], seed: number): Machine {
  const spec = parseQemuArgs(args);
  if (E.isLeft(spec)) throw new Error(`bench VM does not parse: ${args.join(' ')}`);
  const m = startMachine(spec.right, { seed });
  if (E.isLeft(m)) throw new Error(`bench VM does not boot (${args.join(' ')}): ${vmErrorMessage(m.left)}`);
  return m.right;
}

function run(m: Machine, writes: number): { wallMs: number; cpuMs: number; peakPages: number; report: ReturnType<typeof runFileJobsOn> } {
  const jobs = parseFioJob(`[buffered-write]\nrw=write\nbs=4k\nioengine=psync\ndirect=0\nfilename=/mnt/bench\nsize=${writes * 4096}\n`);
  if (E.isLeft(jobs)) throw new Error('benchmark job does not parse');
  let t0 = 0;
  let wallMs = 0;
  let cpu0 = process.cpuUsage();
  let cpuMs = 0;
  let peakPages = 0;
  const cache = m.guest.cache;
  // Only the two kinds it needs, so the run keeps the trace's fast path for everything else.
  const detach = m.trace.attach(sinkFor(['pagecache', 'phase'], (e: TraceEvent) => {
    if (e.kind === 'pagecache') peakPages = Math.max(peakPages, cache.nrPages);
    else if (e.kind === 'phase' && e.name === 'run') {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    } else if (e.kind === 'phase' && e.name === 'done') {
      wallMs = performance.now() - t0;
      const c = process.cpuUsage(cpu0);
      cpuMs = (c.user + c.system) / 1000;
    }
  }));
  const report = runFileJobsOn(m, 'buffered-write', jobs.right, { mount: { device: '/dev/vda', dir: '/mnt', mkfs: true } });
  detach();
  return { wallMs, cpuMs, peakPages: Math.max(peakPages, cache.nrPages), report };
}

/** One measured run on a fresh machine from seed 1 (the same trace every time). */
function measure(args: readonly string[], writes: number): FileWritesResult {
  const m = boot(args, 1);
  const { wallMs, cpuMs, peakPages, report } = run(m, writes);
  if (E.isLeft(report)) throw new Error(`file benchmark failed: ${report.left}`);
  const r = report.right.report;
  return {
    writes: r.jobs[0].writes,
    syscalls: r.syscalls.total,
    wallMs,
    syscallsPerSec: (r.syscalls.total * 1000) / wallMs,
    cpuMs,
    syscallsPerCpuSec: (r.syscalls.total * 1000) / cpuMs,
    peakCachePages: peakPages,
    peakCacheBytes: peakPages * 4096,
    guestMemBytes: m.spec.memBytes,
    writtenBack: r.pagecache.written,
    throttles: r.pagecache.throttles,
    reclaimed: r.pagecache.reclaimed,
    virtualNs: r.elapsedNs,
  };
}

/**
 * The job on `args`' VM, measured as the spine is (bench/throughput.ts): the JIT warmed on
 * two short runs on machines of their own (code optimized for one machine alone is compiled
 * again when a second appears), then `rounds` fresh machines; the median run by wall-clock
 * rate is the figure.
 */
export function benchFileWrites(writes: number, args: readonly string[] = FILE_BENCH_VM_ARGS, rounds = 3): FileWritesResult {
  for (const seed of [7, 8]) run(boot(args, seed), Math.min(writes, 20_000));
  const runs = Array.from({ length: rounds }, () => measure(args, writes));
  return medianBy(runs, (r) => r.syscallsPerSec);
}
