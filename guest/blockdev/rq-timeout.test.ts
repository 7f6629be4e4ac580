/**
 * Request timeouts on the virtual clock: a request the device never completes reaches
 * the driver's timeout handler after io_timeout (30 s by default) and, when the driver
 * ends it, the bio completes with BLK_STS_TIMEOUT; a driver without a handler (as
 * virtio-blk) gets its timer reset instead; one timer serves the whole queue.
 */
import { describe, expect, it } from 'vitest';
import { NS_PER_MS } from '../../sim/scheduler.js';
import { writeBio } from './bio.js';
import { BLK_DEFAULT_TIMEOUT_MS } from './rq-timeout.js';
import { MemDisk, testKernel } from './testing.js';

function setup(timeoutHandler: boolean) {
  const tk = testKernel(1);
  const disk = new MemDisk(tk, { timeoutHandler, hang: (rq) => rq.sector === 800, latencyNs: [1000, 2000] });
  const dev = disk.device({ scheduler: 'none' });
  const buf = tk.kernel.alloc.alloc(65536, 4096);
  const done: { sector: number; status: string; t: number }[] = [];
  const submit = (sector: number) => dev.submitBio(tk.tasks[0], writeBio(sector, [{ addr: buf, len: 4096 }])).subscribe((status) => done.push({ sector, status, t: tk.sim.now }));
  const timeouts = () => tk.rec.events.filter((e) => e.kind === 'rq-timeout').map((e) => (e.kind === 'rq-timeout' ? `${Math.round(e.t / NS_PER_MS)}ms:${e.action}` : ''));
  return { tk, disk, dev, done, submit, timeouts };
}

describe('request timeouts', () => {
  it('default io_timeout is 30 s', () => {
    expect(BLK_DEFAULT_TIMEOUT_MS).toBe(30_000);
    expect(setup(false).dev.timeoutMs).toBe(30_000);
  });

  it('a request that never completes ends with BLK_STS_TIMEOUT when the driver handles the timeout', () => {
    const { tk, done, submit, timeouts, dev, disk } = setup(true);
    submit(0);
    submit(800); // hangs
    submit(16);
    tk.sim.run();
    expect(done.map((d) => [d.sector, d.status])).toEqual([
      [0, 'ok'],
      [16, 'ok'],
      [800, 'timeout'],
    ]);
    const t = done[2].t / NS_PER_MS;
    expect(t).toBeGreaterThanOrEqual(30_000);
    expect(t).toBeLessThan(30_001);
    expect(timeouts()).toEqual(['30000ms:done']);
    expect(dev.stats.timeouts).toBe(1);
    expect(disk.inFlight).toBe(0);
  });

  it('without a driver handler (virtio-blk) the timer is reset and the request keeps waiting', () => {
    const { tk, done, submit, timeouts, disk } = setup(false);
    submit(800);
    tk.sim.run({ until: 95_000 * NS_PER_MS });
    expect(done).toEqual([]);
    expect(disk.inFlight).toBe(1);
    expect(timeouts()).toEqual(['30000ms:reset-timer', '60000ms:reset-timer', '90000ms:reset-timer']);
  });

  it('io_timeout can be changed', () => {
    const { tk, done, submit, dev } = setup(true);
    dev.timeoutMs = 1000;
    submit(800);
    tk.sim.run();
    expect(done.map((d) => [d.status, Math.round(d.t / NS_PER_MS)])).toEqual([['timeout', 1000]]);
    expect(() => (dev.timeoutMs = 0)).toThrow();
  });

  it('one timer for the queue: thousands of quick I/Os leave one timer armed, which fires once and is not re-armed', () => {
    const { tk, done, submit, timeouts } = setup(true);
    for (let i = 0; i < 2000; i++) submit((i % 100) * 8);
    tk.sim.run({ until: 1 * NS_PER_MS });
    expect(done).toHaveLength(2000);
    expect(tk.sim.pending).toBe(1);
    tk.sim.run();
    expect(tk.sim.now).toBeLessThan(31_000 * NS_PER_MS);
    expect(tk.sim.pending).toBe(0);
    expect(timeouts()).toEqual([]);
  });
});
