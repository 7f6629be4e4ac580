/**
 * Causality of the trace under temporal decoupling (DESIGN.md, "Time, concurrency and
 * determinism"): work runs ahead of the event clock in local time, but nothing may see
 * the future. For random workloads and device knobs:
 *
 * - the device never takes a request from the ring before the guest submitted it: in
 *   time order, the i-th `device-request` is no earlier than the i-th `io-submit`;
 * - an interrupt finds a vCPU `halted` only if that vCPU had halted by then: the last
 *   HLT exit of that vCPU before the `irq` event ended no later than the interrupt.
 *
 * Both fail today (see the report of the suite's author): a vCPU callback that submits
 * several I/Os runs to the end of its local time before the host handler that its first
 * kick woke (scheduled at an earlier virtual time) runs, and that handler then pops the
 * chains the guest wrote later; likewise KVM's inject() reads the `halted` flag the
 * vCPU set at the end of that later work.
 *
 * Both also over virtio-scsi (virtio-scsi-pci and scsi-hd, the jobs on /dev/sda), whose
 * device-request events are the HBA's.
 *
 * Runs: 30 each (virtio-scsi: 15); IOPATH_DEEP=1 gives ten times as many.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../sim/trace.js';
import { vmErrorMessage } from '../vm/errors.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB, type FioRw } from '../workload/index.js';
import { boot, knobsArb, runs, vmArgs, windowEvents, type Knobs } from './support/vm.js';

const workloadArb = fc.record({
  rw: fc.constantFrom<FioRw>('read', 'write', 'randread', 'randwrite', 'randrw', 'rw'),
  bs: fc.constantFrom(512, 4096, 65536),
  iodepth: fc.integer({ min: 1, max: 64 }),
  ios: fc.integer({ min: 1, max: 100 }),
  numjobs: fc.integer({ min: 1, max: 2 }),
});

type Workload = typeof workloadArb extends fc.Arbitrary<infer T> ? T : never;

function trace(k: Knobs, w: Workload, seed: number): TraceEvent[] {
  const m = boot(vmArgs(k, 'if=none,id=d0,driver=memory,size=64M'), { seed, record: true });
  const jobs = Array.from({ length: w.numjobs }, (_, index) => ({ ...DEFAULT_JOB, rw: w.rw, bs: w.bs, iodepth: w.iodepth, index, numjobs: w.numjobs, size: 32 << 20, numberIos: w.ios, ioSize: w.ios * w.bs }));
  const r = runJobs(m, jobs);
  if (E.isLeft(r)) throw new Error(vmErrorMessage(r.left));
  return windowEvents(m.recorder!.events, 0);
}

const FRONTENDS = [
  { frontend: 'virtio-blk', knobs: knobsArb, n: 30 },
  { frontend: 'virtio-scsi', knobs: knobsArb.map((k): Knobs => ({ ...k, frontend: 'virtio-scsi' })), n: 15 },
] as const;

describe.each(FRONTENDS)('trace causality ($frontend)', ({ knobs: knobsArb, n }) => {
  it('the device never takes a request before the guest submitted it', () => {
    fc.assert(
      fc.property(knobsArb, workloadArb, fc.integer(), (k, w, seed) => {
        const win = trace(k, w, seed);
        const submits = win.filter((e) => e.kind === 'io-submit').map((e) => e.t).sort((a, b) => a - b);
        const taken = win.filter((e) => e.kind === 'device-request').map((e) => e.t).sort((a, b) => a - b);
        taken.forEach((t, i) => expect(submits[i], `device request #${i} at ${t} ns, but only ${submits.filter((s) => s <= t).length} I/Os were submitted by then`).toBeLessThanOrEqual(t));
      }),
      { numRuns: runs(n) },
    );
  });

  it('an interrupt finds a vCPU halted only if it had halted by then', () => {
    fc.assert(
      fc.property(knobsArb, workloadArb, fc.integer(), (k, w, seed) => {
        const win = trace(k, w, seed);
        const haltedAt = new Map<number, number>();
        for (const e of win) {
          if (e.kind === 'exit' && e.reason === 'HLT') haltedAt.set(e.vcpu, e.t + e.costNs);
          if (e.kind === 'irq' && e.vcpuState === 'halted') {
            const h = haltedAt.get(e.vcpu);
            expect(h === undefined || h <= e.t, `irq at ${e.t} ns says vcpu${e.vcpu} is halted; it halts at ${h} ns`).toBe(true);
          }
        }
      }),
      { numRuns: runs(n) },
    );
  });
});
