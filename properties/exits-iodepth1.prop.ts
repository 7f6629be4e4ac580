/**
 * VM exits at iodepth 1, as the real system takes them (../shared/reference/kvm-exits.md),
 * derived from the recorded trace of the measured window, request by request:
 *
 * - modern virtio-pci, MSI-X, ioeventfd=on: each request costs exactly one notify exit,
 *   an EPT_MISCONFIG on the doorbell matched by KVM's fast-MMIO bus and handled in KVM,
 *   and nothing in the window exits to QEMU; each request gets one interrupt;
 * - ioeventfd=off: that doorbell write leaves KVM_RUN instead: one KVM_EXIT_MMIO per
 *   request;
 * - INTx (vectors=0): each interrupt costs one ISR read, which exits to QEMU
 *   (KVM_EXIT_MMIO, purpose 'isr').
 *
 * The doorbell page is touched once before the window (a one-I/O warm-up run): the very
 * first access to an MMIO page is an EPT_VIOLATION on real hardware too, and after it the
 * page's MMIO SPTE makes every later access an EPT_MISCONFIG.
 *
 * virtio-scsi (virtio-scsi-pci and a scsi-hd, the job on /dev/sda) with MSI-X and ioeventfd
 * costs the same exits per request as virtio-blk: the same workload and seed through both
 * give, request by request, the same exits (reason, purpose, handler): one notify exit
 * handled in KVM, no exit to QEMU, one interrupt.
 *
 * Determinism: the same VM, workload and seed twice give the same trace, event for event.
 * Windowing: the metrics `runJobs` returns are the counts of that run's window.
 *
 * Runs: 60 per exit configuration, 30 for virtio-scsi against virtio-blk, 60 for
 * determinism, 15 for windowing; IOPATH_DEEP=1 gives ten times as many.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../sim/trace.js';
import { vmErrorMessage } from '../vm/errors.js';
import type { Machine } from '../vm/machine.js';
import { runJobs, type JobRunResult } from '../vm/run-jobs.js';
import { DEFAULT_JOB, type FioJob, type FioRw } from '../workload/index.js';
import { boot, guestDiskOf, knobsArb, runs, vmArgs, windowEvents, type Frontend, type Knobs } from './support/vm.js';

const DRIVE = 'if=none,id=d0,driver=memory,size=64M';

interface Workload {
  rw: FioRw;
  bs: number;
  ios: number;
  engine: 'libaio' | 'psync';
}

const workloadArb = (maxIos: number): fc.Arbitrary<Workload> =>
  fc.record({
    rw: fc.constantFrom<FioRw>('read', 'write', 'randread', 'randwrite', 'randrw', 'rw'),
    bs: fc.constantFrom(512, 4096, 65536),
    ios: fc.integer({ min: 1, max: maxIos }),
    engine: fc.constantFrom<'libaio' | 'psync'>('libaio', 'psync'),
  });

function job(w: Workload, iodepth = 1, extra: Partial<FioJob> = {}): FioJob {
  return { ...DEFAULT_JOB, rw: w.rw, bs: w.bs, iodepth, ioengine: w.engine, size: 32 * 1024 * 1024, numberIos: w.ios, ioSize: w.ios * w.bs, ...extra };
}

function run(m: Machine, jobs: FioJob[]): JobRunResult {
  const r = runJobs(m, jobs);
  if (E.isLeft(r)) throw new Error(vmErrorMessage(r.left));
  return r.right;
}

type Exit = Extract<TraceEvent, { kind: 'exit' }>;
const isExit = (e: TraceEvent): e is Exit => e.kind === 'exit';

/** The window cut into requests: from each io-submit to the next (iodepth 1: one request in flight at a time). */
function perRequest(events: readonly TraceEvent[]): TraceEvent[][] {
  const out: TraceEvent[][] = [];
  for (const e of events) {
    if (e.kind === 'io-submit') out.push([]);
    if (out.length > 0) out[out.length - 1].push(e);
  }
  return out;
}

const CONFIGS = [
  { name: 'MSI-X, ioeventfd=on', msix: true, ioeventfd: true },
  { name: 'MSI-X, ioeventfd=off', msix: true, ioeventfd: false },
  { name: 'INTx (vectors=0), ioeventfd=on', msix: false, ioeventfd: true },
  { name: 'INTx (vectors=0), ioeventfd=off', msix: false, ioeventfd: false },
] as const;

describe.each(CONFIGS)('exits per request at iodepth 1: $name', ({ msix, ioeventfd }) => {
  it('one notify exit per request (EPT_MISCONFIG), handled where it should be; with INTx one ISR exit to QEMU per interrupt', () => {
    fc.assert(
      fc.property(knobsArb, workloadArb(40), fc.integer(), (k, w, seed) => {
        const knobs: Knobs = { ...k, msix, ioeventfd, iothread: ioeventfd && k.iothread };
        const m = boot(vmArgs(knobs, DRIVE), { seed, record: true });
        run(m, [job({ ...w, ios: 1 })]); // warm-up: the doorbell (and ISR) pages get their MMIO SPTEs
        const r = run(m, [job(w)]);
        const doorbell = (m.guest.disks[0] as unknown as { doorbells: number[] }).doorbells[0];
        const win = windowEvents(m.recorder!.events, 1);
        const reqs = perRequest(win);
        expect(reqs).toHaveLength(w.ios);
        expect(win.filter((e) => e.kind === 'io-complete')).toHaveLength(w.ios);
        for (const [i, evs] of reqs.entries()) {
          const where = `request ${i}: ${JSON.stringify(evs.filter((e) => e.kind !== 'work'))}`;
          const notify = evs.filter(isExit).filter((e) => e.purpose === 'notify');
          expect(notify, where).toHaveLength(1);
          expect(notify[0].reason, where).toBe('EPT_MISCONFIG');
          expect(notify[0].addr, where).toBe(doorbell);
          if (ioeventfd) {
            expect(notify[0].handler, where).toBe('kvm');
            expect(notify[0].userspaceExit, where).toBeUndefined();
          } else {
            expect(notify[0].handler, where).toBe('qemu');
            expect(notify[0].userspaceExit, where).toBe('KVM_EXIT_MMIO');
          }
          const irqs = evs.filter((e) => e.kind === 'irq');
          expect(irqs, where).toHaveLength(1);
          const isr = evs.filter(isExit).filter((e) => e.purpose === 'isr');
          if (msix) expect(isr, where).toHaveLength(0);
          else {
            expect(isr, where).toHaveLength(1);
            expect(isr[0].handler, where).toBe('qemu');
            expect(isr[0].userspaceExit, where).toBe('KVM_EXIT_MMIO');
          }
        }
        // Nothing else in the window goes to QEMU.
        const toQemu = win.filter(isExit).filter((e) => e.handler === 'qemu');
        const expected = (ioeventfd ? 0 : w.ios) + (msix ? 0 : w.ios);
        expect(toQemu.map((e) => `${e.reason}/${e.purpose}`), 'exits to QEMU').toHaveLength(expected);
        expect(toQemu.every((e) => e.userspaceExit === 'KVM_EXIT_MMIO')).toBe(true);
        expect(r.jobs[0].errors).toBe(0);
      }),
      { numRuns: runs(60) },
    );
  });
});

describe('exits per request at iodepth 1: virtio-scsi as virtio-blk (MSI-X, ioeventfd=on)', () => {
  /** Each request's exits as reason/purpose/handler, and the window's irq and exits-to-QEMU counts. */
  function exitsPerRequest(k: Knobs, w: Workload, seed: number, frontend: Frontend): { perRequest: string[][]; irqs: number; toQemu: number; notifyAddrs: Set<number>; errors: number } {
    const knobs: Knobs = { ...k, frontend };
    const m = boot(vmArgs(knobs, DRIVE), { seed, record: true });
    const filename = guestDiskOf(knobs);
    run(m, [job({ ...w, ios: 1 }, 1, { filename })]);
    const r = run(m, [job(w, 1, { filename })]);
    const win = windowEvents(m.recorder!.events, 1);
    const reqs = perRequest(win);
    const exits = win.filter(isExit);
    return {
      perRequest: reqs.map((evs) => evs.filter(isExit).map((e) => `${e.reason}/${e.purpose}/${e.handler}`)),
      irqs: win.filter((e) => e.kind === 'irq').length,
      toQemu: exits.filter((e) => e.handler === 'qemu').length,
      notifyAddrs: new Set(exits.filter((e) => e.purpose === 'notify').map((e) => e.addr!)),
      errors: r.jobs[0].errors,
    };
  }

  it('the same workload and seed give the same exits, request by request: one notify exit in KVM, one interrupt, nothing to QEMU', () => {
    fc.assert(
      fc.property(knobsArb, workloadArb(30), fc.integer(), (k, w, seed) => {
        const knobs: Knobs = { ...k, msix: true, ioeventfd: true };
        const blk = exitsPerRequest(knobs, w, seed, 'virtio-blk');
        const scsi = exitsPerRequest(knobs, w, seed, 'virtio-scsi');
        expect(scsi.errors).toBe(0);
        expect(scsi.perRequest).toHaveLength(w.ios);
        for (const [i, exits] of scsi.perRequest.entries()) {
          expect(exits.filter((x) => x.includes('/notify/')), `virtio-scsi request ${i}: ${exits.join(', ')}`).toEqual(['EPT_MISCONFIG/notify/kvm']);
        }
        expect(scsi.perRequest).toEqual(blk.perRequest);
        expect([scsi.irqs, scsi.toQemu]).toEqual([w.ios, 0]);
        expect([blk.irqs, blk.toQemu]).toEqual([w.ios, 0]);
        // Every request rang the same doorbell (its request queue's).
        expect(scsi.notifyAddrs.size).toBe(1);
      }),
      { numRuns: runs(30) },
    );
  });
});

describe('determinism', () => {
  it('the same VM, workload and seed twice give the same trace, event for event', () => {
    fc.assert(
      fc.property(knobsArb, workloadArb(60), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 2 }), fc.integer(), (k, w, iodepth, numjobs, seed) => {
        const trace = (): TraceEvent[] => {
          const m = boot(vmArgs(k, DRIVE), { seed, record: true });
          run(
            m,
            Array.from({ length: numjobs }, (_, index) => job(w, iodepth, { index, numjobs })),
          );
          return m.recorder!.events;
        };
        const a = trace();
        const b = trace();
        expect(b.length).toBe(a.length);
        const i = a.findIndex((e, n) => JSON.stringify(e) !== JSON.stringify(b[n]));
        expect(i, i < 0 ? '' : `first difference at event ${i}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}`).toBe(-1);
      }),
      { numRuns: runs(60) },
    );
  });
});

/** What the metrics of a window must say, counted from the trace. */
function countWindow(win: readonly TraceEvent[]): { ios: number; exits: number; interrupts: number; kicks: number } {
  return {
    ios: win.filter((e) => e.kind === 'io-complete' && e.op !== 'get-id').length,
    exits: win.filter(isExit).length,
    interrupts: win.filter((e) => e.kind === 'irq').length,
    kicks: win.filter((e) => e.kind === 'kick' && e.notify).length,
  };
}

describe('measured windows', () => {
  const counts = (r: JobRunResult) => ({ ios: r.metrics.ios, exits: r.metrics.exits.total, interrupts: r.metrics.interrupts, kicks: r.metrics.kicks });

  it("runJobs' metrics are the counts of its own window, also for a second run on the same machine", () => {
    fc.assert(
      fc.property(knobsArb, workloadArb(30), workloadArb(30), fc.integer(), (k, w1, w2, seed) => {
        const m = boot(vmArgs(k, DRIVE), { seed, record: true });
        expect(counts(run(m, [job(w1)]))).toEqual(countWindow(windowEvents(m.recorder!.events, 0)));
        expect(counts(run(m, [job(w2)]))).toEqual(countWindow(windowEvents(m.recorder!.events, 1)));
      }),
      { numRuns: runs(15) },
    );
  });

  it('a returned metrics snapshot does not change when the machine runs on', () => {
    fc.assert(
      fc.property(knobsArb, workloadArb(30), workloadArb(30), fc.integer(), (k, w1, w2, seed) => {
        const m = boot(vmArgs(k, DRIVE), { seed });
        const first = run(m, [job(w1)]);
        const before = JSON.stringify(first.metrics);
        run(m, [job(w2)]);
        expect(JSON.stringify(first.metrics)).toBe(before);
      }),
      { numRuns: runs(15) },
    );
  });
});
