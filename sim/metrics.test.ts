import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';
import { TRACE_KINDS, Trace, type TraceEvent } from './trace.js';

/** One event of each kind Metrics does not list in its sink's `kinds`. */
const UNLISTED: TraceEvent[] = [
  { kind: 'device-request', t: 5, dev: 'vda', vq: 0, head: 1, type: 'OUT', sector: 8, bytes: 4096 },
  { kind: 'device-complete', t: 6, dev: 'vda', vq: 0, head: 1, status: 'OK' },
  { kind: 'block', t: 7, node: 'n', op: 'write', offset: 0, bytes: 4096, latencyNs: 10, ok: true },
  { kind: 'block-io-error', t: 8, dev: 'vda', node: 'n', operation: 'write', action: 'report', nospace: false, reason: 'EIO' },
  { kind: 'runstate', t: 9, state: 'paused' },
  { kind: 'note', t: 10, where: 'x', text: 'y' },
  { kind: 'sched', t: 11, dev: 'vda', sched: 'mq-deadline', tag: 1, action: 'insert' },
];

describe('Metrics: the kinds it listens for', () => {
  it('names only kinds that exist, and the events of every other kind change none of its numbers', () => {
    const m = new Metrics();
    const kinds = m.sink.kinds ?? [];
    for (const k of kinds) expect(TRACE_KINDS).toContain(k);
    // The samples above are exactly the unlisted kinds.
    expect(UNLISTED.map((e) => e.kind).sort()).toEqual(TRACE_KINDS.filter((k) => !kinds.includes(k)).sort());
    const t = new Trace();
    t.attach(m.sink);
    t.emit({ kind: 'phase', t: 0, name: 'run' });
    t.emit({ kind: 'io-complete', t: 1, dev: 'vda', tag: 0, op: 'write', status: 'ok', latencyNs: 40 });
    const before = m.snapshot();
    for (const e of UNLISTED) t.emit(e);
    expect(m.snapshot()).toEqual(before);
    expect(before.ios).toBe(1);
  });

  it('lets emitters skip exactly the kinds nobody else wants', () => {
    const t = new Trace();
    t.attach(new Metrics().sink);
    expect(t.wants['device-request']).toBe(false);
    expect(t.wants.block).toBe(false);
    expect(t.wants.work).toBe(true);
    expect(t.wants['io-complete']).toBe(true);
  });

  it('counts the same whether the frequent kinds reach it as arguments (it is the only listener) or as events (beside a recorder)', () => {
    const feed = (t: Trace) => {
      t.emit({ kind: 'phase', t: 0, name: 'run' });
      t.emitWork(1, 'vcpu0', 30, 'submit');
      t.emitWork(2, 'iothread0', 12, 'complete');
      t.emitWork(3, 'vcpu0', 5, 'reap');
      t.emitIoSubmit(4, 'vda', 1, 'write', 8, 8);
      t.emitIoSubmit(4, 'vda', 2, 'read', 16, 16);
      t.emitKick(5, 'vda', 0, true);
      t.emitKick(6, 'vda', 0, false);
      t.emitUsed(7, 'vda', 0, 2, false);
      t.emitUsed(8, 'vda', 0, 1, true);
      t.emitIoComplete(9, 'vda', 1, 'write', 'ok', 40);
      t.emitIoComplete(9, 'vda', 2, 'read', 'IOERR', 50);
      t.emitIoComplete(9, 'vda', 3, 'get-id', 'ok', 5);
      t.emitNotify(9, 'vda', 0, 'exit');
      t.emitExit(9, 0, 'EPT_MISCONFIG', 'kvm', 'notify', undefined, 0xfe003000, 120);
      t.emitExit(9, 0, 'IO_INSTRUCTION', 'qemu', 'notify', 'KVM_EXIT_IO', 0xc050, 3000);
      t.emitIrq(9, 'vda', 49, 'irqfd', 0, 'running', false);
      t.emitIrq(9, 'vda', 49, 'irqfd', 0, 'halted', false);
      t.emitIrq(9, 'vda', 50, 'KVM_SIGNAL_MSI', 1, 'running', true);
      t.emit({ kind: 'phase', t: 10, name: 'done' });
    };
    const alone = new Metrics();
    const a = new Trace();
    a.attach(alone.sink);
    feed(a);
    const beside = new Metrics();
    const b = new Trace();
    const seen: string[] = [];
    b.attach(beside.sink);
    b.attach((e) => seen.push(e.kind));
    feed(b);
    expect(seen).toHaveLength(20);
    const snap = alone.snapshot();
    expect(snap).toEqual(beside.snapshot());
    expect(snap.busyNs).toEqual({ vcpu0: 35, iothread0: 12 });
    expect(snap.bytes).toBe(24 * 512);
    expect([snap.kicks, snap.kicksSuppressed, snap.interruptsSuppressed]).toEqual([1, 1, 1]);
    expect([snap.ios, snap.ioErrors, snap.latenciesNs]).toEqual([2, 1, [40, 50]]);
    expect([snap.notifications, snap.interrupts, snap.irqByPath]).toEqual([1, 3, { irqfd: 2, KVM_SIGNAL_MSI: 1 }]);
    expect(snap.exits).toMatchObject({ total: 2, byHandler: { kvm: 1, qemu: 1 }, byPurpose: { notify: 2 }, timeNs: 3120 });
    expect([snap.exits.byReason.EPT_MISCONFIG, snap.exits.byReason.IO_INSTRUCTION, snap.exits.byReason.HLT]).toEqual([1, 1, 0]);
  });
});
