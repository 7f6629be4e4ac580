import { describe, expect, it } from 'vitest';
import { Recorder, TRACE_KINDS, Trace, sinkFor, sinkOf, type TraceKind } from './trace.js';

const wanted = (t: Trace): TraceKind[] => TRACE_KINDS.filter((k) => t.wants[k]);

describe('Trace: which kinds someone listens for', () => {
  it('wants nothing without sinks, everything with a sink that names no kinds', () => {
    const t = new Trace();
    expect(t.active).toBe(false);
    expect(wanted(t)).toEqual([]);
    const detach = t.attach(new Recorder().sink);
    expect(t.active).toBe(true);
    expect(wanted(t)).toEqual(TRACE_KINDS);
    detach();
    expect(wanted(t)).toEqual([]);
  });

  it('wants the union of what sinks with kinds name, and recomputes it when one detaches', () => {
    const t = new Trace();
    const a = t.attach(sinkFor(['work', 'exit'], () => undefined));
    const b = t.attach(sinkFor(['exit', 'io-dispatch'], () => undefined));
    expect(wanted(t).sort()).toEqual(['exit', 'io-dispatch', 'work']);
    a();
    expect(wanted(t).sort()).toEqual(['exit', 'io-dispatch']);
    b();
    expect(t.active).toBe(false);
    expect(wanted(t)).toEqual([]);
  });

  it('hands a sink with kinds only those kinds, in the order sinks were attached; one without, everything', () => {
    const t = new Trace();
    const got: string[] = [];
    t.attach(sinkFor(['work'], (e) => got.push(`narrow ${e.kind}`)));
    t.attach((e) => got.push(`all ${e.kind}`));
    t.emit({ kind: 'note', t: 0, where: 'test', text: 'x' });
    t.emit({ kind: 'work', t: 0, ctx: 'vcpu0', durNs: 5, what: 'w' });
    expect(got).toEqual(['all note', 'narrow work', 'all work']);
  });

  it('calls a handler sink once per event of each kind it handles, attached or called directly', () => {
    const t = new Trace();
    const got: string[] = [];
    const sink = sinkOf({ kick: (e) => got.push(`kick ${e.notify}`), notify: (e) => got.push(`notify ${e.via}`) });
    expect([...(sink.kinds ?? [])].sort()).toEqual(['kick', 'notify']);
    t.attach(sink);
    expect(wanted(t).sort()).toEqual(['kick', 'notify']);
    t.emit({ kind: 'kick', t: 1, dev: 'vda', vq: 0, notify: true });
    t.emit({ kind: 'used', t: 2, dev: 'vda', vq: 0, n: 1, interrupt: true });
    t.emit({ kind: 'notify', t: 3, dev: 'vda', vq: 0, via: 'ioeventfd' });
    sink({ kind: 'kick', t: 4, dev: 'vda', vq: 0, notify: false });
    sink({ kind: 'note', t: 5, where: 'x', text: 'ignored' });
    expect(got).toEqual(['kick true', 'notify ioeventfd', 'kick false']);
  });

  it('lists every kind once', () => {
    expect(new Set(TRACE_KINDS).size).toBe(TRACE_KINDS.length);
    expect(TRACE_KINDS).toContain('device-request');
  });
});
