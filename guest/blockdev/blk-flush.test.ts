/**
 * Flush sequencing (blk-flush.c) as the driver sees it, in order, with and without a
 * volatile write cache and with and without device FUA: PREFLUSH → a flush before the
 * data; FUA → a flush after it (no FUA device) or FUA passed down; no write cache →
 * neither, and an empty flush completes at once. The bio completes only when its
 * whole sequence has; flushes are shared by the requests waiting together; a failed
 * flush fails the bios that waited for it.
 */
import { describe, expect, it } from 'vitest';
import { flushBio, writeBio, type Bio } from './bio.js';
import type { BlkStatus } from './request.js';
import { MemDisk, testKernel, type MemDiskOptions } from './testing.js';

function setup(opts: MemDiskOptions = {}) {
  const tk = testKernel(1);
  const disk = new MemDisk(tk, { latencyNs: [1000, 1000], ...opts });
  const dev = disk.device({ scheduler: 'none' });
  const buf = tk.kernel.alloc.alloc(65536, 4096);
  const done: { name: string; status: BlkStatus; t: number }[] = [];
  const submit = (name: string, bio: Bio) => dev.submitBio(tk.tasks[0], bio).subscribe((status) => done.push({ name, status, t: tk.sim.now }));
  const w = (sector: number, flags: { preflush?: boolean; fua?: boolean } = {}) => writeBio(sector, [{ addr: buf + sector * 512, len: 4096 }], flags);
  /** What the driver was handed, in order: op, and * for FUA. */
  const seen = () => disk.log.map((r) => (r.op === 'flush' ? 'flush' : `${r.op}@${r.sector}${r.fua ? '+FUA' : ''}`));
  return { tk, disk, dev, done, submit, w, seen };
}

describe('with a volatile write cache and no FUA (virtio-blk)', () => {
  it('PREFLUSH: a flush, then the data once the flush completed', () => {
    const { tk, disk, submit, w, seen, done } = setup();
    submit('a', w(0, { preflush: true }));
    expect(seen()).toEqual(['flush']);
    tk.sim.run();
    expect(seen()).toEqual(['flush', 'write@0']);
    expect(disk.log[1].t).toBeGreaterThanOrEqual(disk.completed[0].t);
    expect(done.map((d) => d.status)).toEqual(['ok']);
  });

  it('FUA: the data, then a flush; the bio completes after the flush', () => {
    const { tk, disk, submit, w, seen, done } = setup();
    submit('a', w(8, { fua: true }));
    tk.sim.run();
    expect(seen()).toEqual(['write@8', 'flush']);
    expect(disk.completed.at(-1)!.op).toBe('flush');
    expect(done[0].t).toBeGreaterThanOrEqual(disk.completed.at(-1)!.t);
  });

  it('PREFLUSH|FUA: flush, data, flush', () => {
    const { tk, submit, w, seen, done } = setup();
    submit('a', w(16, { preflush: true, fua: true }));
    tk.sim.run();
    expect(seen()).toEqual(['flush', 'write@16', 'flush']);
    expect(done).toHaveLength(1);
  });

  it('an empty flush bio is one flush; it completes when the flush does', () => {
    const { tk, disk, submit, seen, done, dev } = setup();
    submit('f', flushBio());
    expect(done).toHaveLength(0);
    tk.sim.run();
    expect(seen()).toEqual(['flush']);
    expect(done[0].t).toBeGreaterThanOrEqual(disk.completed[0].t);
    expect(dev.stats.flushes).toBe(1);
  });

  it('requests waiting together share a flush; the POSTFLUSH waits for all data in flight (C2)', () => {
    const { tk, submit, w, seen, done, dev } = setup();
    submit('f', flushBio()); // its flush is in flight…
    submit('a', w(0, { preflush: true, fua: true })); // …so these two wait for the next one together
    submit('b', w(64, { preflush: true, fua: true }));
    tk.sim.run();
    expect(seen()).toEqual(['flush', 'flush', 'write@0', 'write@64', 'flush']);
    expect(done.map((d) => d.name)).toEqual(['f', 'a', 'b']);
    expect(done[1].t).toBe(done[2].t);
    expect(dev.stats.flushes).toBe(3);
    const waiting = tk.rec.events.filter((e) => e.kind === 'flush').map((e) => (e.kind === 'flush' ? e.waiting : -1));
    expect(waiting).toEqual([1, 2, 2]);
  });

  it('a POSTFLUSH never joins a flush already in flight: it waits for the next one (C1)', () => {
    // Flushes are slow, writes fast: the FUA write's data completes while the first flush is still running.
    const { tk, submit, w, seen, done, disk } = setup({ latencyNs: (rq) => (rq.op === 'flush' ? 10_000 : 1000) });
    submit('f', flushBio());
    submit('a', w(0, { fua: true }));
    tk.sim.run();
    expect(seen()).toEqual(['flush', 'write@0', 'flush']);
    // The FUA write completes after the second flush, which was queued after its data completed.
    expect(disk.log[2].t).toBeGreaterThanOrEqual(disk.completed.find((c) => c.op === 'write')!.t);
    expect(done.map((d) => d.name)).toEqual(['f', 'a']);
  });

  it('ordinary writes neither wait for nor are held by a flush sequence', () => {
    const { tk, submit, w, seen } = setup();
    submit('a', w(0, { preflush: true }));
    submit('b', w(64));
    expect(seen()).toEqual(['flush', 'write@64']);
    tk.sim.run();
  });

  it('a failed flush fails the bios that waited for it; their data is not written', () => {
    const { tk, submit, w, seen, done } = setup({ fail: (rq) => (rq.op === 'flush' ? 'ioerr' : undefined) });
    submit('a', w(0, { preflush: true }));
    tk.sim.run();
    expect(seen()).toEqual(['flush']);
    expect(done.map((d) => d.status)).toEqual(['ioerr']);
  });
});

describe('without a volatile write cache', () => {
  it('PREFLUSH and FUA are dropped; the driver sees plain writes', () => {
    const { tk, submit, w, seen, done } = setup({ limits: { logicalBlockSize: 512, writeCache: false } });
    submit('a', w(0, { preflush: true }));
    submit('b', w(8, { fua: true }));
    submit('c', w(16, { preflush: true, fua: true }));
    tk.sim.run();
    // No flush, no FUA, and the three are ordinary requests (b and c even merged into a: nothing holds them apart).
    expect(seen().every((s) => s.startsWith('write@') && !s.includes('FUA'))).toBe(true);
    expect(done.map((d) => d.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('an empty flush completes at once, before submitBio returns, and the driver sees nothing', () => {
    const { submit, seen, done, dev } = setup({ limits: { logicalBlockSize: 512, writeCache: false } });
    submit('f', flushBio());
    expect(done.map((d) => [d.name, d.status, d.t])).toEqual([['f', 'ok', 150]]);
    expect(seen()).toEqual([]);
    expect(dev.stats.flushes).toBe(0);
  });
});

describe('with a write cache and device FUA', () => {
  it('FUA is passed down with the data; PREFLUSH still becomes a flush before it', () => {
    const { tk, submit, w, seen } = setup({ limits: { logicalBlockSize: 512, writeCache: true, fua: true } });
    submit('a', w(0, { fua: true }));
    tk.sim.run();
    submit('b', w(8, { preflush: true, fua: true }));
    tk.sim.run();
    expect(seen()).toEqual(['write@0+FUA', 'flush', 'write@8+FUA']);
  });
});

describe('durability with the fake disk', () => {
  it('what a completed FUA or a completed flush covered survives a power cut; later writes may not', () => {
    const { tk, disk, submit, w, dev } = setup();
    const mem = tk.kernel.mem;
    const put = (sector: number, v: number) => {
      const bio = w(sector);
      mem.fill(bio.segments[0].addr, 4096, v);
      return bio;
    };
    submit('a', put(0, 1));
    tk.sim.run();
    submit('f', flushBio());
    tk.sim.run();
    submit('b', put(8, 2));
    submit('c', { ...put(16, 3), fua: true });
    tk.sim.run();
    submit('d', put(24, 4));
    tk.sim.run();
    disk.powerCut();
    const s = disk.stable;
    expect([s[0], s[8 * 512], s[16 * 512], s[24 * 512]]).toEqual([1, 2, 3, 0]);
    void dev;
  });
});
