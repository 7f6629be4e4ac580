/**
 * Memory: drop_caches frees only clean unused pages; reclaim takes the inactive tail
 * first and protects pages used twice (the active list); when memory is full of dirty
 * pages an allocation starts writeback and waits; truncate and O_DIRECT invalidation.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../hw/memory.js';
import { PageCacheStats } from './stats.js';
import { pageCacheRig } from './testing.js';

const MS = 1_000_000;

function cachedFile(cachePages: number, filePages: number) {
  const rig = pageCacheRig({ cachePages, sysctl: { read_ahead_kb: 0 } });
  const task = rig.task();
  const { ops, mapping } = rig.file('ino:5', 100_000, filePages * PAGE_SIZE);
  ops.preload(0, new Uint8Array(filePages * PAGE_SIZE).map((_, i) => (i >> 12) & 0xff));
  const buf = rig.user.alloc(16 * PAGE_SIZE, PAGE_SIZE);
  const read = (index: number, pages = 1): void => expect(rig.await(rig.cache.read(task, mapping, index * PAGE_SIZE, pages * PAGE_SIZE, buf))).toEqual(E.right(pages * PAGE_SIZE));
  const write = (index: number, pages = 1): void => expect(rig.await(rig.cache.write(task, mapping, index * PAGE_SIZE, pages * PAGE_SIZE, buf))).toEqual(E.right(pages * PAGE_SIZE));
  return { rig, task, ops, mapping, buf, read, write };
}

describe('drop_caches', () => {
  it('drops every clean page and keeps dirty ones and pages under writeback', () => {
    const { rig, task, ops, mapping, read, write } = cachedFile(128, 64);
    for (let i = 0; i < 64; i += 16) read(i, 16);
    write(0, 4);
    rig.await(rig.cache.writeback(task, mapping, { start: 0, end: 2 * PAGE_SIZE }, 'WB_SYNC_NONE')); // pages 0, 1 under writeback
    expect(rig.cache.nrPages).toBe(64);
    expect(rig.cache.dropCaches()).toBe(60);
    expect([...mapping.pages.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    expect(rig.pages.usedPages).toBe(4);
    const reads = ops.reads.length;
    read(2); // still cached: no disk read
    expect(ops.reads.length).toBe(reads);
    read(10); // dropped: read again
    expect(ops.reads.length).toBe(reads + 1);
    const s = PageCacheStats.from(rig.recorder.events);
    expect(s.reclaimed).toBe(60);
  });
});

describe('reclaim', () => {
  it('never holds more than the memory: reading a file 4x the memory reclaims the oldest pages', () => {
    const { rig, mapping, read } = cachedFile(16, 64);
    for (let i = 0; i < 64; i++) {
      read(i);
      expect(rig.cache.nrPages).toBeLessThanOrEqual(16);
    }
    expect(mapping.pages.has(63)).toBe(true);
    expect(mapping.pages.has(0)).toBe(false);
    expect(PageCacheStats.from(rig.recorder.events).reclaimed).toBeGreaterThanOrEqual(64 - 16);
  });

  it('keeps pages used twice (the active list) over pages used once', () => {
    const { rig, mapping, read } = cachedFile(16, 64);
    for (const i of [0, 1, 2, 3]) read(i);
    for (const i of [0, 1, 2, 3]) read(i); // second use: referenced → active
    expect([0, 1, 2, 3].every((i) => mapping.pages.get(i)!.active)).toBe(true);
    for (let i = 10; i < 40; i++) read(i); // a stream of pages used once
    expect([0, 1, 2, 3].every((i) => mapping.pages.has(i))).toBe(true);
    expect(rig.cache.internals.core.lru.active.size).toBeGreaterThan(0);
  });

  it('when memory is all dirty, an allocation starts writeback (vmscan) and waits for it', () => {
    const { rig, ops, mapping, write } = cachedFile(8, 64);
    rig.cache.setSysctl({ dirty_ratio: 100, dirty_background_ratio: 99 }); // keep throttling and background writeback out of the way
    write(0, 8); // all of memory, dirty
    expect(rig.cache.nrDirty).toBe(8);
    const before = rig.sim.now;
    write(8); // needs a page: none is clean
    expect(ops.writes.map((w) => w.reason)).toEqual(['vmscan']);
    expect(rig.sim.now - before).toBeGreaterThanOrEqual(ops.latencyNs);
    expect(mapping.pages.has(8)).toBe(true);
    expect(rig.cache.nrPages).toBeLessThanOrEqual(8);
  });
});

describe('truncate and invalidation', () => {
  it('truncate drops the pages past the new size, dirty ones too, and zeroes the partial tail', () => {
    const { rig, task, mapping, buf, read, write } = cachedFile(64, 16);
    read(0, 16);
    rig.mem.write(buf, new Uint8Array(PAGE_SIZE).fill(0xee));
    write(12);
    rig.await(rig.cache.truncate(task, mapping, 5 * PAGE_SIZE + 100));
    expect(mapping.size).toBe(5 * PAGE_SIZE + 100);
    expect([...mapping.pages.keys()].every((i) => i <= 5)).toBe(true);
    expect(rig.cache.nrDirty).toBe(1); // the zeroed partial page 5
    expect(mapping.pages.get(5)!.dirty).toBe(true);
    expect(rig.mem.read(mapping.pages.get(5)!.addr + 100, PAGE_SIZE - 100).every((b) => b === 0)).toBe(true);
    expect(rig.mem.read(mapping.pages.get(5)!.addr, 100).every((b) => b === 5)).toBe(true);
    expect(rig.await(rig.cache.read(task, mapping, 5 * PAGE_SIZE, 2 * PAGE_SIZE, buf))).toEqual(E.right(100));
  });

  it('invalidate waits for pages under writeback before removing them', () => {
    const { rig, task, ops, mapping, write } = cachedFile(64, 16);
    write(0, 2);
    rig.await(rig.cache.writeback(task, mapping, { start: 0 }, 'WB_SYNC_NONE'));
    rig.await(rig.cache.invalidate(task, mapping, 0));
    expect(rig.sim.now).toBeGreaterThanOrEqual(ops.writes[0].doneAt);
    expect(mapping.nrPages).toBe(0);
    expect(rig.pages.usedPages).toBe(0);
  });

  it('O_DIRECT coherence: invalidateRange refuses a dirty page (EBUSY) until writebackAndWait cleans it', () => {
    const { rig, task, ops, mapping, read, write } = cachedFile(64, 16);
    read(0, 8);
    write(2);
    const range = { start: 0, end: 8 * PAGE_SIZE };
    expect(rig.await(rig.cache.invalidateRange(task, mapping, range))).toEqual(E.left('EBUSY'));
    expect([...mapping.pages.keys()]).toEqual([2]);
    expect(rig.await(rig.cache.writebackAndWait(task, mapping, range))).toEqual(E.right(undefined));
    expect(ops.landed.map((l) => l.index)).toEqual([2]);
    expect(rig.await(rig.cache.invalidateRange(task, mapping, range))).toEqual(E.right(undefined));
    expect(mapping.nrPages).toBe(0);
  });

  it('a page removed while a reader holds it is freed only when the reader lets go', () => {
    const { rig, mapping, read } = cachedFile(64, 16);
    const core = rig.cache.internals.core;
    read(3);
    const page = mapping.pages.get(3)!;
    core.pin(page); // a reader's reference
    core.remove(page);
    expect(mapping.pages.has(3)).toBe(false);
    expect(rig.pages.usedPages).toBe(1); // still held
    core.unpin(page);
    expect(rig.pages.usedPages).toBe(0);
  });

  it('truncate racing a reader waits for the read; the reader sees the new size (nothing to read)', () => {
    const { rig, task, mapping } = cachedFile(64, 16);
    const buf = rig.user.alloc(PAGE_SIZE, PAGE_SIZE);
    let got: E.Either<string, number> | undefined;
    rig.cache.read(task, mapping, 0, PAGE_SIZE, buf).subscribe((r) => (got = r));
    rig.sim.run({ until: rig.sim.now + 10_000 });
    expect(mapping.pages.get(0)!.locked).toBe(true); // the read is in flight
    let truncated = false;
    rig.cache.truncate(rig.task('truncate'), mapping, 0).subscribe(() => (truncated = true));
    rig.sim.run({ stop: () => truncated });
    expect(got).toEqual(E.right(0)); // i_size is checked once the page is uptodate, as filemap_read does
    expect(mapping.nrPages).toBe(0);
    expect(rig.cache.internals.core.nrPinned).toBe(0);
    expect(rig.pages.usedPages).toBe(0);
    rig.sim.run({ until: rig.sim.now + MS });
  });
});
