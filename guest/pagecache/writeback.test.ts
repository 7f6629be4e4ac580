/**
 * Writeback on the virtual clock: the flusher's expiry guarantee (a property), its timer
 * (armed only while dirty data exists, disabled by dirty_writeback_centisecs = 0), and
 * data-integrity writeback for fsync (waits for pages already under writeback).
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../hw/memory.js';
import { PageCacheStats } from './stats.js';
import { pageCacheRig } from './testing.js';

const MS = 1_000_000;
const CS = 10 * MS;

describe('periodic writeback', () => {
  it('gets every dirty page to the disk within dirty_expire + dirty_writeback (+ disk latency) of dirtying, without fsync', () => {
    const writeArb = fc.record({ atMs: fc.integer({ min: 0, max: 120_000 }), page: fc.nat(15), task: fc.nat(2) });
    fc.assert(
      fc.property(
        fc.uniqueArray(writeArb, { minLength: 1, maxLength: 40, selector: (w) => w.atMs }),
        fc.constantFrom(500, 100, 700),
        fc.constantFrom(3000, 1000, 50),
        (writes, writebackCs, expireCs) => {
          const latency = 2 * MS;
          const rig = pageCacheRig({ cachePages: 512, sysctl: { dirty_writeback_centisecs: writebackCs, dirty_expire_centisecs: expireCs } });
          const tasks = [rig.task('a'), rig.task('b'), rig.task('c')];
          const { ops, mapping } = rig.file('ino:9', latency);
          const sorted = [...writes].sort((a, b) => a.atMs - b.atMs);
          const done: { page: number; stamp: number; at: number }[] = [];
          sorted.forEach((w, i) => {
            const stamp = i + 1;
            rig.sim.at(w.atMs * MS, () => {
              const buf = rig.user.alloc(PAGE_SIZE, PAGE_SIZE);
              rig.mem.write(buf, new Uint8Array(PAGE_SIZE).fill(stamp & 0xff));
              rig.mem.write32(buf, stamp);
              rig.cache.write(tasks[w.task], mapping, w.page * PAGE_SIZE, PAGE_SIZE, buf).subscribe((r) => {
                expect(r).toEqual(E.right(PAGE_SIZE));
                done.push({ page: w.page, stamp, at: rig.sim.now });
                rig.user.free(buf, PAGE_SIZE, PAGE_SIZE);
              });
            });
          });
          rig.sim.run();
          expect(done.length).toBe(sorted.length);
          expect(rig.cache.nrDirty + rig.cache.nrWriteback).toBe(0);
          expect(rig.cache.internals.flusher.armed).toBe(false); // an idle, clean cache leaves no timer behind
          // The write() returned after the page was dirtied, so `at` bounds the dirtying time from above.
          const bound = (expireCs + writebackCs) * CS + latency + 1 * MS;
          for (const w of done) {
            const landed = ops.landed.find((l) => l.index === w.page && l.stamp >= w.stamp);
            expect(landed, `page ${w.page} stamp ${w.stamp} written at ${w.at}`).toBeDefined();
            expect(landed!.t - w.at).toBeLessThanOrEqual(bound);
          }
          // Nothing but the periodic flusher wrote (no fsync, no pressure).
          const s = PageCacheStats.from(rig.recorder.events);
          expect(s.written.sync + s.written.vmscan).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('writes a page at the first wakeup at least dirty_expire after it was dirtied, not before', () => {
    const rig = pageCacheRig({ cachePages: 64 });
    const task = rig.task();
    const { ops, mapping } = rig.file();
    const buf = rig.user.alloc(PAGE_SIZE, PAGE_SIZE);
    rig.await(rig.cache.write(task, mapping, 0, PAGE_SIZE, buf));
    const dirtiedAt = mapping.pages.get(0)!.dirtiedAt;
    rig.sim.run({ until: 29 * 1000 * MS });
    expect(ops.writes).toEqual([]);
    rig.sim.run();
    expect(ops.writes).toHaveLength(1);
    expect(ops.writes[0].reason).toBe('periodic');
    expect(ops.writes[0].t - dirtiedAt).toBeGreaterThanOrEqual(3000 * CS);
    expect(ops.writes[0].t - dirtiedAt).toBeLessThan(3500 * CS);
  });

  it('writes nothing periodically with dirty_writeback_centisecs = 0, and arms no timer', () => {
    const rig = pageCacheRig({ cachePages: 64, sysctl: { dirty_writeback_centisecs: 0 } });
    const task = rig.task();
    const { ops, mapping } = rig.file();
    const buf = rig.user.alloc(PAGE_SIZE, PAGE_SIZE);
    rig.await(rig.cache.write(task, mapping, 0, PAGE_SIZE, buf));
    rig.sim.run();
    expect(rig.cache.internals.flusher.armed).toBe(false);
    expect(ops.writes).toEqual([]);
    expect(rig.cache.nrDirty).toBe(1);
  });
});

describe('writeback for fsync and sync', () => {
  it('WB_SYNC_NONE starts writeback and returns; WB_SYNC_ALL waits until the pages are on the disk', () => {
    const rig = pageCacheRig({ cachePages: 64 });
    const task = rig.task();
    const { ops, mapping } = rig.file('ino:3', 5 * MS);
    const buf = rig.user.alloc(4 * PAGE_SIZE, PAGE_SIZE);
    rig.await(rig.cache.write(task, mapping, 0, 4 * PAGE_SIZE, buf));
    expect(rig.await(rig.cache.writeback(task, mapping, { start: 0, end: 2 * PAGE_SIZE }, 'WB_SYNC_NONE'))).toBe(2);
    expect(rig.cache.nrWriteback).toBe(2);
    const started = rig.sim.now;
    // fsync of the whole file: writes pages 2..3 and waits for 0..1, already under writeback
    expect(rig.await(rig.cache.fileWriteAndWait(task, mapping, { start: 0 }, { since: 0 }))).toEqual(E.right(undefined));
    expect(rig.cache.nrWriteback + rig.cache.nrDirty).toBe(0);
    expect(ops.writes.map((w) => w.indexes)).toEqual([[0, 1], [2, 3]]);
    expect(rig.sim.now).toBeGreaterThanOrEqual(Math.max(...ops.writes.map((w) => w.doneAt)));
    expect(rig.sim.now - started).toBeGreaterThanOrEqual(4 * MS);
  });

  it('WB_SYNC_ALL writes a page redirtied under writeback again, after the first write ends', () => {
    const rig = pageCacheRig({ cachePages: 64 });
    const task = rig.task();
    const { ops, mapping } = rig.file('ino:4', 5 * MS);
    const buf = rig.user.alloc(PAGE_SIZE, PAGE_SIZE);
    rig.await(rig.cache.write(task, mapping, 0, PAGE_SIZE, buf));
    rig.await(rig.cache.writeback(task, mapping, { start: 0 }, 'WB_SYNC_NONE'));
    rig.mem.write32(buf, 0xfeed);
    rig.await(rig.cache.write(task, mapping, 0, PAGE_SIZE, buf)); // dirty again while under writeback
    expect(mapping.pages.get(0)).toMatchObject({ dirty: true, writeback: true });
    rig.await(rig.cache.fileWriteAndWait(task, mapping, { start: 0 }, { since: 0 }));
    expect(ops.writes).toHaveLength(2);
    expect(ops.writes[1].t).toBeGreaterThanOrEqual(ops.writes[0].doneAt);
    expect(ops.landed.at(-1)!.stamp).toBe(0xfeed);
  });

  it('sync() writes every mapping and reports it as sync writeback', () => {
    const rig = pageCacheRig({ cachePages: 64 });
    const task = rig.task();
    const a = rig.file('ino:1');
    const b = rig.file('ino:2');
    const buf = rig.user.alloc(3 * PAGE_SIZE, PAGE_SIZE);
    rig.await(rig.cache.write(task, a.mapping, 0, 3 * PAGE_SIZE, buf));
    rig.await(rig.cache.write(task, b.mapping, 8 * PAGE_SIZE, 2 * PAGE_SIZE, buf));
    rig.await(rig.cache.sync(task));
    expect(rig.cache.nrDirty + rig.cache.nrWriteback).toBe(0);
    expect(a.ops.landed.map((l) => l.index)).toEqual([0, 1, 2]);
    expect(b.ops.landed.map((l) => l.index)).toEqual([8, 9]);
    expect(PageCacheStats.from(rig.recorder.events).written).toEqual({ periodic: 0, background: 0, sync: 5, vmscan: 0 });
  });
});
