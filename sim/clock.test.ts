import { timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PausableClock } from './clock.js';
import { ExecutionContext } from './context.js';
import { virtualScheduler } from './scheduler.js';
import { Simulator } from './simulator.js';
import { Trace } from './trace.js';

function at(sim: Simulator, t: number, fn: () => void): void {
  sim.at(t, fn);
}

describe('PausableClock', () => {
  it('reads the simulator time less every stopped span', () => {
    const sim = new Simulator();
    const c = new PausableClock(sim);
    at(sim, 100, () => c.pause());
    at(sim, 400, () => {
      expect(c.now).toBe(100);
      expect(c.stoppedTotalNs).toBe(300);
      c.resume();
    });
    at(sim, 500, () => expect(c.now).toBe(200));
    sim.run();
    expect(sim.now).toBe(500);
  });

  it('a timer due while the clock is stopped fires that much later, and counts only running time', () => {
    const sim = new Simulator();
    const c = new PausableClock(sim);
    const fired: [number, number][] = [];
    c.after(1000, () => fired.push([sim.now, c.now]));
    at(sim, 300, () => c.pause());
    at(sim, 5300, () => c.resume());
    sim.run();
    expect(fired).toEqual([[6000, 1000]]);
  });

  it('cancelled timers never fire, stopped or not; pause and resume twice change nothing', () => {
    const sim = new Simulator();
    const c = new PausableClock(sim);
    let n = 0;
    const a = c.after(100, () => n++);
    const b = c.after(200, () => n++);
    a.cancel();
    c.pause();
    c.pause();
    b.cancel();
    c.resume();
    c.resume();
    c.after(50, () => n += 10);
    sim.run();
    expect(n).toBe(10);
    expect(c.stoppedTotalNs).toBe(0);
  });

  it('drives rxjs timers through virtualScheduler', () => {
    const sim = new Simulator();
    const c = new PausableClock(sim);
    const seen: number[] = [];
    timer(1, virtualScheduler(c)).subscribe(() => seen.push(sim.now));
    at(sim, 500_000, () => c.pause());
    at(sim, 2_500_000, () => c.resume());
    sim.run();
    expect(seen).toEqual([3_000_000]);
  });
});

describe('ExecutionContext.pause', () => {
  it('holds work asked for while paused and runs it in order after resume', () => {
    const sim = new Simulator();
    const ctx = new ExecutionContext(sim, new Trace(), 'vcpu0', 'vcpu');
    const ran: [string, number][] = [];
    ctx.run('a', () => ran.push(['a', sim.now]));
    sim.run();
    ctx.pause();
    expect(ctx.paused).toBe(true);
    at(sim, 10, () => ctx.run('b', () => ran.push(['b', sim.now])));
    at(sim, 20, () => ctx.run('c', () => ran.push(['c', sim.now])));
    sim.run();
    expect(ran).toEqual([['a', 0]]);
    at(sim, 100, () => ctx.resume());
    sim.run();
    expect(ran).toEqual([['a', 0], ['b', 100], ['c', 100]]);
  });
});
