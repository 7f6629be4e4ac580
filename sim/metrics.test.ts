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
});
