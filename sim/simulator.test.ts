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

  it('pops in (time, seq) order under interleaved pushes and pops', () => {
    const rng = new Rng(42);
    const h = new TimeHeap<{ time: number; seq: number }>();
    const model: { time: number; seq: number }[] = [];
    let seq = 0;
    for (let step = 0; step < 2000; step++) {
      if (rng.int(0, 2) > 0 || model.length === 0) {
        const e = { time: rng.int(0, 50), seq: seq++ };
        h.push(e);
        model.push(e);
      } else {
        model.sort((a, b) => a.time - b.time || a.seq - b.seq);
        expect(h.peek()).toBe(model[0]);
        expect(h.pop()).toBe(model.shift());
      }
      expect(h.size).toBe(model.length);
    }
    model.sort((a, b) => a.time - b.time || a.seq - b.seq);
    for (const e of model) expect(h.pop()).toBe(e);
    expect(h.pop()).toBeUndefined();
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

  it('post: same order as at, entries reused after they run or are skipped', () => {
    const sim = new Simulator();
    const seen: string[] = [];
    sim.at(10, () => seen.push('at@10'));
    sim.post(10, () => seen.push('post@10'));
    sim.post(5, () => seen.push('post@5')).cancel();
    const third = sim.postAfter(20, () => {
      seen.push('post@20');
      // The entry that just ran serves the next event: nothing allocated.
      const again = sim.postAfter(1, () => seen.push('post@21'));
      expect(again).toBe(third);
      expect(again.time).toBe(21);
    });
    sim.run();
    expect(seen).toEqual(['at@10', 'post@10', 'post@20', 'post@21']);
    expect(sim.eventsDispatched).toBe(4);
    expect(sim.now).toBe(21);
  });

  it('post: a cancelled entry stays cancelled only for its own event', () => {
    const sim = new Simulator();
    let ran = 0;
    sim.post(5, () => ran++).cancel();
    sim.run();
    // The recycled entry serves a new event, which runs.
    sim.post(7, () => ran++);
    sim.run();
    expect(ran).toBe(1);
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

  it('serves work by the time it was asked for, then arrival; `pre` runs first inside the span', () => {
    const sim = new Simulator();
    const trace = new Trace();
    const rec = new Recorder();
    trace.attach(rec.sink);
    const ctx = new ExecutionContext(sim, trace, 'vcpu0', 'vcpu');
    const log: string[] = [];
    const piece = (name: string, ns: number) => () => {
      log.push(`${name}@${sim.now}`);
      sim.advance(ns);
    };
    sim.at(0, () => {
      sim.advance(30);
      ctx.run('late', piece('late', 10)); // asked at 30
    });
    sim.at(0, () => {
      ctx.run('early', piece('early', 100), () => log.push(`pre@${sim.now}`)); // asked at 0
      ctx.run('early2', piece('early2', 5)); // asked at 0, after 'early'
    });
    sim.run();
    // 'late' was queued first but asked for later: both pieces asked at 0 go before it.
    expect(log).toEqual(['pre@0', 'early@0', 'early2@100', 'late@105']);
    expect(rec.events.filter((e) => e.kind === 'work').map((e) => [(e as { what: string }).what, e.t, (e as { durNs: number }).durNs])).toEqual([
      ['early', 0, 100],
      ['early2', 100, 5],
      ['late', 105, 10],
    ]);
    // Records are reused: a second round behaves the same.
    log.length = 0;
    sim.at(sim.now, () => {
      ctx.run('x', piece('x', 1));
      ctx.run('y', piece('y', 1));
    });
    sim.run();
    expect(log).toEqual(['x@115', 'y@116']);
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
