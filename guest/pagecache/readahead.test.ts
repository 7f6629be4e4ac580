/**
 * Readahead: the ondemand decision on its own (window sizes, marker, reset), then through
 * the cache, counting the pages the fake file is asked for.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../hw/memory.js';
import { PageCacheStats } from './stats.js';
import { initRaSize, newRaState, nextRaSize, ondemandReadahead } from './readahead.js';
import { pageCacheRig } from './testing.js';

describe('ondemand readahead (decision)', () => {
  it('sizes the initial window from the request and ramps up to the maximum', () => {
    expect([1, 2, 4, 8, 9, 32, 64].map((n) => initRaSize(n, 32))).toEqual([4, 4, 8, 16, 32, 32, 32]);
    expect([1, 2, 4, 8, 16, 32].map((n) => nextRaSize(n, 32))).toEqual([4, 4, 8, 16, 32, 32]);
  });

  it('starts at the beginning of the file and pushes the window forward at the marker', () => {
    const ra = newRaState(32);
    const none = (): boolean => false;
    expect(ondemandReadahead(ra, none, false, 0, 1)).toEqual({ start: 0, nr: 4, lookahead: 3 });
    // the reader reaches page 1 (the marker): the next window, twice the size, read asynchronously
    expect(ondemandReadahead(ra, none, true, 1, 1)).toEqual({ start: 4, nr: 8, lookahead: 8 });
    expect(ondemandReadahead(ra, none, true, 4, 1)).toEqual({ start: 12, nr: 16, lookahead: 16 });
    expect(ondemandReadahead(ra, none, true, 12, 1)).toEqual({ start: 28, nr: 32, lookahead: 32 });
    expect(ondemandReadahead(ra, none, true, 28, 1)).toEqual({ start: 60, nr: 32, lookahead: 32 });
  });

  it('reads a lone random miss as is, and restarts small after it', () => {
    const ra = newRaState(32);
    const none = (): boolean => false;
    ondemandReadahead(ra, none, false, 0, 1);
    ra.prevPos = 4 * PAGE_SIZE;
    expect(ondemandReadahead(ra, none, false, 500, 1)).toEqual({ start: 500, nr: 1, lookahead: 0 });
    expect(ra).toMatchObject({ start: 0, size: 4 }); // state untouched by the random read
    ra.prevPos = 501 * PAGE_SIZE - 1; // the reader read page 500
    expect(ondemandReadahead(ra, none, false, 501, 1)).toEqual({ start: 501, nr: 4, lookahead: 3 });
  });

  it('treats a run of cached pages behind a miss as a stream (context readahead)', () => {
    const ra = newRaState(32);
    ra.prevPos = 1_000_000 * PAGE_SIZE;
    const cached = (i: number): boolean => i >= 90 && i < 100;
    expect(ondemandReadahead(ra, cached, false, 100, 2)).toEqual({ start: 100, nr: 12, lookahead: 1 });
  });

  it('does nothing with readahead off', () => {
    expect(ondemandReadahead(newRaState(0), () => false, false, 7, 4)).toBeUndefined();
  });
});

describe('readahead through the cache', () => {
  function sequentialReader(readAheadKb: number, pages: number) {
    const rig = pageCacheRig({ cachePages: 1024, sysctl: { read_ahead_kb: readAheadKb } });
    const task = rig.task();
    const { ops, mapping } = rig.file('ino:7', 50_000, 256 * PAGE_SIZE);
    ops.preload(0, new Uint8Array(256 * PAGE_SIZE).fill(0x5a));
    const buf = rig.user.alloc(PAGE_SIZE, PAGE_SIZE);
    const read = (index: number): void => expect(rig.await(rig.cache.read(task, mapping, index * PAGE_SIZE, PAGE_SIZE, buf))).toEqual(E.right(PAGE_SIZE));
    for (let i = 0; i < pages; i++) read(i);
    return { rig, ops, read };
  }

  it('grows the window on sequential access, up to read_ahead_kb, asynchronously at the marker', () => {
    // The marker sits on the first page of each new window, so reading pages 0..99 has
    // started the window that begins at page 124.
    const { ops } = sequentialReader(128, 100);
    expect(ops.reads.map((r) => r.pages)).toEqual([4, 8, 16, 32, 32, 32, 32]);
    expect(ops.reads.map((r) => r.index)).toEqual([0, 4, 12, 28, 60, 92, 124]);
    expect(ops.reads.map((r) => r.async)).toEqual([false, true, true, true, true, true, true]);
  });

  it('resets to the initial window after a random access', () => {
    const { ops, read } = sequentialReader(128, 20);
    const before = ops.reads.length;
    read(200); // random: just that page
    read(201); // sequential again: the initial window
    read(202); // its marker: the window grows again
    expect(ops.reads.slice(before).map((r) => [r.index, r.pages])).toEqual([
      [200, 1],
      [201, 4],
      [205, 8],
    ]);
  });

  it('reads single pages with read_ahead_kb = 0, and counts hits and misses from the trace', () => {
    const { rig, ops, read } = sequentialReader(0, 6);
    expect(ops.reads.map((r) => r.pages)).toEqual([1, 1, 1, 1, 1, 1]);
    read(0);
    const s = PageCacheStats.from(rig.recorder.events);
    expect(s).toMatchObject({ hits: 1, misses: 6, readaheadPages: 0 });
  });

  it('counts readahead pages and hits for a sequential reader', () => {
    const { rig } = sequentialReader(128, 64);
    const s = PageCacheStats.from(rig.recorder.events);
    expect(s.readaheadPages).toBe(4 + 8 + 16 + 32 + 32 + 32);
    expect(s.hits + s.misses).toBe(64);
    // misses: page 0, then the first page of each asynchronous window, still in flight when the reader gets there
    expect(s.misses).toBe(5);
  });
});
