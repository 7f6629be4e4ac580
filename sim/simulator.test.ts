import { describe, expect, it } from 'vitest';
import { timer, delay, of, firstValueFrom, toArray, interval, take } from 'rxjs';
import { Simulator } from './simulator.js';
import { virtualScheduler } from './scheduler.js';
import { ExecutionContext } from './context.js';
import { Trace, Recorder } from './trace.js';
import { Rng } from './rng.js';
import { TimeHeap } from './heap.js';

describe('TimeHeap', () => {
  it('orders by time, then by insertion', () => {
    const h = new TimeHeap<{ time: number; seq: number; v: string }>();
    const items = [
      { time: 5, seq: 0, v: 'a' },
      { time: 1, seq: 1, v: 'b' },
      { time: 5, seq: 2, v: 'c' },
      { time: 0, seq: 3, v: 'd' },
      { time: 1, seq: 4, v: 'e' },
    ];
    items.forEach((i) => h.push(i));
    const out: string[] = [];
    for (let x = h.pop(); x; x = h.pop()) out.push(x.v);
    expect(out).toEqual(['d', 'b', 'e', 'a', 'c']);
  });
});

describe('Simulator', () => {
  it('runs events in time order with insertion-order ties', () => {
    const sim = new Simulator();
    const seen: string[] = [];
    sim.at(100, () => seen.push('x@100'));
    sim.at(50, () => seen.push('y@50'));
    sim.at(100, () => seen.push('z@100'));
    sim.run();
    expect(seen).toEqual(['y@50', 'x@100', 'z@100']);
    expect(sim.now).toBe(100);
  });

  it('local time advances inside work and resets between events', () => {
    const sim = new Simulator();
    let inner = -1;
    sim.at(10, () => {
      sim.advance(5);
      sim.after(0, () => (inner = sim.now));
    });
    sim.run();
    expect(inner).toBe(15);
  });

  it('cancelled timers do not run', () => {
    const sim = new Simulator();
    let ran = false;
    sim.at(5, () => (ran = true)).cancel();
    sim.run();
    expect(ran).toBe(false);
  });

  it('stops at `until`', () => {
    const sim = new Simulator();
    const seen: number[] = [];
    for (const t of [10, 20, 30]) sim.at(t, () => seen.push(t));
    sim.run({ until: 25 });
    expect(seen).toEqual([10, 20]);
    expect(sim.now).toBe(25);
  });
});

describe('virtualScheduler', () => {
  it('runs rxjs timers in virtual time (milliseconds become virtual ms)', async () => {
    const sim = new Simulator();
    const s = virtualScheduler(sim);
    const times: number[] = [];
    timer(2, s).subscribe(() => times.push(sim.now));
    of(1).pipe(delay(0.5, s)).subscribe(() => times.push(sim.now));
    sim.run();
    expect(times).toEqual([500_000, 2_000_000]);
  });

  it('supports periodic actions', () => {
    const sim = new Simulator();
    const s = virtualScheduler(sim);
    const got: number[] = [];
    const p = firstValueFrom(interval(1, s).pipe(take(3), toArray()));
    interval(1, s).pipe(take(3)).subscribe(() => got.push(sim.now));
    sim.run();
    expect(got).toEqual([1e6, 2e6, 3e6]);
    return p.then((v) => expect(v).toEqual([0, 1, 2]));
  });
});

describe('ExecutionContext', () => {
  it('serialises work and records busy time', () => {
    const sim = new Simulator();
    const trace = new Trace();
    const rec = new Recorder();
    trace.attach(rec.sink);
    const ctx = new ExecutionContext(sim, trace, 'main-loop', 'main-loop');
    const starts: number[] = [];
    sim.at(0, () => {
      ctx.run('a', () => {
        starts.push(sim.now);
        sim.advance(100);
      });
      ctx.run('b', () => {
        starts.push(sim.now);
        sim.advance(50);
      });
    });
    sim.run();
    expect(starts).toEqual([0, 100]);
    expect(ctx.busyNs).toBe(150);
    expect(rec.events.filter((e) => e.kind === 'work').map((e) => (e as { durNs: number }).durNs)).toEqual([100, 50]);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and within bounds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 100 }, () => a.int(0, 9));
    const ys = Array.from({ length: 100 }, () => b.int(0, 9));
    expect(xs).toEqual(ys);
    expect(xs.every((x) => x >= 0 && x <= 9)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(5);
    const c = new Rng(43);
    expect(Array.from({ length: 100 }, () => c.int(0, 9))).not.toEqual(xs);
  });
});
