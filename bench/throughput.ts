/**
 * Whole-path throughput: simulated 4 KiB random writes per wall-clock second through
 * guest blk-mq, virtio-blk driver, virtqueue, KVM exits, QEMU virtio-blk, raw over the
 * memory driver, at iodepth 32 over the default job's 64 MiB region — beside the rate of a plain `Uint8Array.set` of the same
 * bytes measured in the same process. The ratio is the figure of merit (target ≥ 0.10).
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseQemuArgs } from '../vm/cmdline/index.js';
import { DEFAULT_VM_ARGS } from '../vm/default-vm.js';
import { startMachine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB } from '../workload/index.js';

export interface ThroughputResult {
  ios: number;
  wallMs: number;
  simIosPerSec: number;
  copiesPerSec: number;
  ratio: number;
  virtualIops: number;
}

function copyRate(bytes: number, n: number): number {
  const src = new Uint8Array(bytes).map((_, i) => i & 0xff);
  const dst = new Uint8Array(bytes * 64);
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    dst.set(src, (i & 63) * bytes);
    sink ^= dst[(i & 63) * bytes];
  }
  const ms = performance.now() - t0;
  if (sink === -1) console.log(sink);
  return (n * 1000) / ms;
}

export function benchThroughput(ios: number): ThroughputResult {
  const spec = parseQemuArgs(DEFAULT_VM_ARGS);
  if (E.isLeft(spec)) throw new Error('default VM does not parse');
  const job = { ...DEFAULT_JOB, iodepth: 32, numberIos: ios, ioSize: ios * 4096 };
  // Warm up the JIT on a short run, then measure a fresh machine.
  const warm = startMachine(spec.right, { seed: 7 });
  if (E.isRight(warm)) runJobs(warm.right, [{ ...job, numberIos: 20000, ioSize: 20000 * 4096 }]);
  const m = startMachine(spec.right, { seed: 1 });
  if (E.isLeft(m)) throw new Error('default VM does not boot');
  const t0 = performance.now();
  const r = runJobs(m.right, [job]);
  const wallMs = performance.now() - t0;
  if (E.isLeft(r)) throw new Error('benchmark job failed');
  const simIosPerSec = (r.right.metrics.ios * 1000) / wallMs;
  copyRate(4096, 200_000);
  const copiesPerSec = copyRate(4096, Math.max(200_000, ios));
  return {
    ios: r.right.metrics.ios,
    wallMs,
    simIosPerSec,
    copiesPerSec,
    ratio: simIosPerSec / copiesPerSec,
    virtualIops: (r.right.metrics.ios * 1e9) / r.right.metrics.windowNs,
  };
}
