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

  it('hands work to a sole listener with a direct handler as arguments, and builds the event for any other set of listeners', () => {
    const t = new Trace();
    const got: string[] = [];
    const sink = sinkOf({ work: (e) => got.push(`event ${e.ctx} ${e.durNs} ${e.what}`) }, { work: (at, ctx, durNs, what) => got.push(`args ${at} ${ctx} ${durNs} ${what}`) });
    t.emitWork(1, 'vcpu0', 5, 'w'); // nobody listens: nothing
    const detach = t.attach(sink);
    t.emitWork(2, 'vcpu0', 5, 'w');
    const events: unknown[] = [];
    const detachAll = t.attach((e) => events.push(e));
    t.emitWork(3, 'iothread0', 7, 'x');
    detachAll();
    t.emitWork(4, 'vcpu1', 9, 'y');
    detach();
    t.attach(sinkFor(['work'], (e) => events.push(e)));
    t.emitWork(5, 'vcpu2', 1, 'z');
    expect(got).toEqual(['args 2 vcpu0 5 w', 'event iothread0 7 x', 'args 4 vcpu1 9 y']);
    expect(events).toEqual([
      { kind: 'work', t: 3, ctx: 'iothread0', durNs: 7, what: 'x' },
      { kind: 'work', t: 5, ctx: 'vcpu2', durNs: 1, what: 'z' },
    ]);
  });

  it('hands syscall events to every listener as arguments when each has a direct handler; builds args only for an event', () => {
    const t = new Trace();
    const got: string[] = [];
    let built = 0;
    const args = { args: (): string => (built++, '3, 4096, 0') };
    const direct = (who: string) =>
      sinkOf({ syscall: (e) => got.push(`${who} event ${e.phase} ${e.ret}`) }, { syscall: (at, pid, name, phase, ret) => got.push(`${who} args ${at} ${pid} ${name} ${phase} ${ret}`) });
    t.emitSyscall(1, 7, 'pwrite64', 'enter', args, undefined); // nobody listens
    const detachA = t.attach(direct('a'));
    const detachB = t.attach(direct('b'));
    t.emitSyscall(2, 7, 'pwrite64', 'enter', args, undefined);
    t.emitSyscall(3, 7, 'pwrite64', 'exit', undefined, 4096);
    expect(built).toBe(0);
    const events: string[] = [];
    const detachAll = t.attach(sinkFor(['syscall'], (e) => events.push(JSON.stringify(e))));
    t.emitSyscall(4, 7, 'pwrite64', 'enter', args, undefined);
    t.emitSyscall(5, 7, 'pwrite64', 'exit', undefined, 'EIO');
    detachAll();
    detachA();
    detachB();
    expect(built).toBe(1);
    expect(got).toEqual([
      'a args 2 7 pwrite64 enter undefined',
      'b args 2 7 pwrite64 enter undefined',
      'a args 3 7 pwrite64 exit 4096',
      'b args 3 7 pwrite64 exit 4096',
      'a event enter undefined',
      'b event enter undefined',
      'a event exit EIO',
      'b event exit EIO',
    ]);
    expect(events).toEqual([
      '{"kind":"syscall","t":4,"pid":7,"name":"pwrite64","phase":"enter","args":"3, 4096, 0"}',
      '{"kind":"syscall","t":5,"pid":7,"name":"pwrite64","phase":"exit","ret":"EIO"}',
    ]);
  });

  it('builds from each emit method the event emit would have been given, fields in the same order', () => {
    const t = new Trace();
    const got: string[] = [];
    t.attach((e) => got.push(JSON.stringify(e)));
    t.emitWork(1, 'vcpu0', 5, 'w');
    t.emitKick(2, 'vda', 0, true);
    t.emitUsed(3, 'vda', 1, 4, false);
    t.emitIoSubmit(4, 'vda', 7, 'write', 8, 16);
    t.emitIoComplete(5, 'vda', 7, 'write', 'ok', 99);
    t.emitNotify(6, 'vda', 0, 'ioeventfd');
    t.emitIrq(7, 'vda', 49, 'irqfd', 1, 'halted', true);
    t.emitExit(8, 0, 'EPT_MISCONFIG', 'kvm', 'notify', undefined, 0xfe003000, 120);
    t.emitExit(9, 1, 'HLT', 'kvm', 'idle', undefined, undefined, 80);
    expect(got).toEqual([
      '{"kind":"work","t":1,"ctx":"vcpu0","durNs":5,"what":"w"}',
      '{"kind":"kick","t":2,"dev":"vda","vq":0,"notify":true}',
      '{"kind":"used","t":3,"dev":"vda","vq":1,"n":4,"interrupt":false}',
      '{"kind":"io-submit","t":4,"dev":"vda","tag":7,"op":"write","sector":8,"sectors":16}',
      '{"kind":"io-complete","t":5,"dev":"vda","tag":7,"op":"write","status":"ok","latencyNs":99}',
      '{"kind":"notify","t":6,"dev":"vda","vq":0,"via":"ioeventfd"}',
      '{"kind":"irq","t":7,"dev":"vda","vector":49,"path":"irqfd","vcpu":1,"vcpuState":"halted","posted":true}',
      `{"kind":"exit","t":8,"vcpu":0,"reason":"EPT_MISCONFIG","handler":"kvm","purpose":"notify","addr":${0xfe003000},"costNs":120}`,
      '{"kind":"exit","t":9,"vcpu":1,"reason":"HLT","handler":"kvm","purpose":"idle","costNs":80}',
    ]);
    // As the emitter's literal had them: the optional fields are keys, even when undefined.
    const events: object[] = [];
    t.attach((e) => events.push(e));
    t.emitExit(10, 1, 'HLT', 'kvm', 'idle', undefined, undefined, 80);
    expect(Object.keys(events[0])).toEqual(['kind', 't', 'vcpu', 'reason', 'handler', 'purpose', 'userspaceExit', 'addr', 'costNs']);
  });

  it('lists every kind once', () => {
    expect(new Set(TRACE_KINDS).size).toBe(TRACE_KINDS.length);
    expect(TRACE_KINDS).toContain('device-request');
  });
});
