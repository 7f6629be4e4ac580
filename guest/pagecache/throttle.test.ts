/**
 * balance_dirty_pages: a writer above the background threshold kicks background
 * writeback; a writer above dirty_ratio is paused until writeback brings the count down.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../hw/memory.js';
import type { TraceEvent } from '../../sim/trace.js';
import { DIRTY_RATELIMIT_PAGES } from './balance-dirty.js';
import { PageCacheStats } from './stats.js';
import { pageCacheRig } from './testing.js';

const MS = 1_000_000;

function streamWriter(cachePages: number, totalPages: number, chunkPages: number, latencyNs: number) {
  const rig = pageCacheRig({ cachePages });
  const task = rig.task('dd');
  const { ops, mapping } = rig.file('ino:20', latencyNs);
  const buf = rig.user.alloc(chunkPages * PAGE_SIZE, PAGE_SIZE);
  let peak = 0;
  let peakLimit = 0;
  rig.trace.attach(() => {
    const n = rig.cache.nrDirty + rig.cache.nrWriteback;
    if (n > peak) {
      peak = n;
      peakLimit = rig.cache.thresholds().limit;
    }
  });
  const calls: { start: number; end: number }[] = [];
  for (let p = 0; p < totalPages; p += chunkPages) {
    const start = rig.sim.now;
    expect(rig.await(rig.cache.write(task, mapping, p * PAGE_SIZE, chunkPages * PAGE_SIZE, buf))).toEqual(E.right(chunkPages * PAGE_SIZE));
    calls.push({ start, end: rig.sim.now });
  }
  rig.sim.run({ until: rig.sim.now + MS }); // let queued kernel work (the flusher) run
  return { rig, ops, mapping, calls, peak: () => ({ peak, peakLimit }) };
}

describe('balance_dirty_pages', () => {
  it('pauses a writer above dirty_ratio until writeback brings the count under the limit', () => {
    const { rig, ops, calls, peak } = streamWriter(1024, 1024, 16, 2 * MS);
    const throttles = rig.recorder.events.filter((e): e is Extract<TraceEvent, { kind: 'pagecache' }> => e.kind === 'pagecache' && e.what === 'throttle');
    expect(throttles.length).toBeGreaterThan(0);
    // The limit is 20% of available memory; the writer overshoots by at most one ratelimit batch.
    const { peak: p, peakLimit } = peak();
    expect(peakLimit).toBeLessThanOrEqual(Math.ceil(1024 * 0.2));
    expect(p).toBeLessThanOrEqual(peakLimit + DIRTY_RATELIMIT_PAGES);
    // A paused write() returned only after some writeback completed.
    for (const t of throttles) {
      const call = calls.find((c) => c.start <= t.t && t.t <= c.end)!;
      expect(ops.writes.some((w) => w.doneAt > t.t && w.doneAt <= call.end)).toBe(true);
    }
    // With 2 ms per disk write, 1024 pages cannot all be absorbed by a 20% limit: the writer waited.
    expect(rig.sim.now).toBeGreaterThan(2 * MS);
    const s = PageCacheStats.from(rig.recorder.events);
    expect(s.throttles).toBe(throttles.length);
    expect(s.written.background).toBeGreaterThan(0);
  });

  it('does not pause a writer under the limit, but starts background writeback above the background threshold', () => {
    // 150 pages of 1024: above 10% (background), under 20% (limit).
    const { rig, ops, calls } = streamWriter(1024, 150, 10, 2 * MS);
    const s = PageCacheStats.from(rig.recorder.events);
    expect(s.throttles).toBe(0);
    expect(s.written.background).toBeGreaterThan(0);
    expect(ops.writes.every((w) => w.reason === 'background')).toBe(true);
    // Every write() ran at CPU speed: none waited for the disk.
    expect(Math.max(...calls.map((c) => c.end - c.start))).toBeLessThan(ops.latencyNs);
  });

  it('leaves a small writer alone entirely (no background writeback, no pause)', () => {
    const { rig, ops } = streamWriter(1024, 50, 10, 2 * MS);
    expect(PageCacheStats.from(rig.recorder.events)).toMatchObject({ throttles: 0, dirtied: 50 });
    expect(ops.writes).toEqual([]);
  });

  it('uses dirty_bytes instead of dirty_ratio when it is set', () => {
    const rig = pageCacheRig({ cachePages: 1024, sysctl: { dirty_bytes: 64 * PAGE_SIZE } });
    // 10% of memory (102 pages) is above the 64-page limit, so the background threshold becomes half the limit
    expect(rig.cache.thresholds()).toMatchObject({ limit: 64, background: 32 });
    expect(rig.cache.setSysctl({ dirty_background_bytes: 16 * PAGE_SIZE })).toSatisfy(E.isRight);
    expect(rig.cache.thresholds()).toMatchObject({ limit: 64, background: 16 });
  });
});
