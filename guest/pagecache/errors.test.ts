/**
 * Errors: errseq_t semantics, a lost write reported once per file description by fsync,
 * filemap_check_errors for writebackAndWait, read errors, and the errno values the API
 * returns for bad arguments.
 */
import * as E from 'fp-ts/lib/Either.js';
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../hw/memory.js';
import { ErrSeq, type ErrSeqCursor } from './errseq.js';
import { pageCacheRig } from './testing.js';
import type { AddressSpaceOps } from './types.js';

describe('errseq_t', () => {
  it('reports an error once to each cursor sampled before it, and not to later openers', () => {
    const e = new ErrSeq();
    const a: ErrSeqCursor = { since: e.sample() };
    const b: ErrSeqCursor = { since: e.sample() };
    expect(e.checkAndAdvance(a)).toBeUndefined();
    e.set('EIO');
    const c: ErrSeqCursor = { since: e.sample() }; // opened after the error, before anyone saw it: still told
    expect(e.check(a.since)).toBe('EIO');
    expect(e.checkAndAdvance(a)).toBe('EIO');
    expect(e.checkAndAdvance(a)).toBeUndefined();
    expect(e.checkAndAdvance(b)).toBe('EIO');
    expect(e.checkAndAdvance(c)).toBe('EIO');
    const d: ErrSeqCursor = { since: e.sample() }; // opened after it was seen: not told
    expect(e.checkAndAdvance(d)).toBeUndefined();
    e.set('ENOSPC'); // a new error after the last one was seen: everyone hears of it
    expect([a, b, c, d].map((x) => e.checkAndAdvance(x))).toEqual(['ENOSPC', 'ENOSPC', 'ENOSPC', 'ENOSPC']);
  });

  it('does not move the counter for errors nobody has seen yet', () => {
    const e = new ErrSeq();
    e.set('EIO');
    const raw = e.raw;
    e.set('EIO');
    expect(e.raw).toBe(raw);
  });
});

describe('writeback errors through the cache', () => {
  function rigWithFailingPage(failIndex: number) {
    const rig = pageCacheRig({ cachePages: 64 });
    const task = rig.task();
    const { ops, mapping } = rig.file('ino:30');
    ops.failWrite = (i) => i === failIndex;
    const buf = rig.user.alloc(8 * PAGE_SIZE, PAGE_SIZE);
    return { rig, task, ops, mapping, buf };
  }

  it('fsync reports a lost write once per file description', () => {
    const { rig, task, mapping, buf } = rigWithFailingPage(3);
    const fdA: ErrSeqCursor = { since: mapping.wbErr.sample() };
    const fdB: ErrSeqCursor = { since: mapping.wbErr.sample() };
    rig.await(rig.cache.write(task, mapping, 0, 8 * PAGE_SIZE, buf));
    const fsync = (fd: ErrSeqCursor) => rig.await(rig.cache.fileWriteAndWait(task, mapping, { start: 0 }, fd));
    expect(fsync(fdA)).toEqual(E.left('EIO'));
    expect(fsync(fdA)).toEqual(E.right(undefined)); // reported once
    expect(fsync(fdB)).toEqual(E.left('EIO')); // the other description hears of it too
    expect(fsync(fdB)).toEqual(E.right(undefined));
    const fdC: ErrSeqCursor = { since: mapping.wbErr.sample() }; // opened after the error was seen
    expect(fsync(fdC)).toEqual(E.right(undefined));
    // The pages are clean (the write is lost, as in Linux) and nothing is left to write.
    expect(rig.cache.nrDirty + rig.cache.nrWriteback).toBe(0);
  });

  it('an error from periodic writeback reaches the next fsync', () => {
    const { rig, task, mapping, buf } = rigWithFailingPage(0);
    const fd: ErrSeqCursor = { since: mapping.wbErr.sample() };
    rig.await(rig.cache.write(task, mapping, 0, PAGE_SIZE, buf));
    rig.sim.run(); // the flusher writes it after 30 s and fails
    expect(rig.cache.nrDirty).toBe(0);
    expect(rig.await(rig.cache.fileWriteAndWait(task, mapping, { start: 0 }, fd))).toEqual(E.left('EIO'));
  });

  it('writebackAndWait reports through filemap_check_errors, once', () => {
    const { rig, task, mapping, buf } = rigWithFailingPage(1);
    rig.await(rig.cache.write(task, mapping, 0, 2 * PAGE_SIZE, buf));
    expect(rig.await(rig.cache.writebackAndWait(task, mapping, { start: 0 }))).toEqual(E.left('EIO'));
    expect(rig.await(rig.cache.writebackAndWait(task, mapping, { start: 0 }))).toEqual(E.right(undefined));
  });

  it('a write the file system cannot place (prepareWrite) fails with ENOSPC and caches nothing', () => {
    const { rig, task, ops, buf } = rigWithFailingPage(-1);
    const full: AddressSpaceOps = {
      readPages: (m, p, r) => ops.readPages(m, p, r),
      writePages: (m, p, w) => ops.writePages(m, p, w),
      prepareWrite: () => of('nospc' as const),
    };
    const mapping = rig.cache.createMapping({ name: 'ino:32', ops: full });
    expect(rig.await(rig.cache.write(task, mapping, 0, PAGE_SIZE, buf))).toEqual(E.left('ENOSPC'));
    expect(mapping.nrPages).toBe(0);
    expect(mapping.size).toBe(0);
  });
});

describe('read errors and bad arguments', () => {
  it('a failed read is retried once, then EIO; a later read succeeds', () => {
    const rig = pageCacheRig({ cachePages: 64 });
    const task = rig.task();
    const { ops, mapping } = rig.file('ino:31', 100_000, 4 * PAGE_SIZE);
    ops.preload(0, new Uint8Array(4 * PAGE_SIZE).fill(9));
    const buf = rig.user.alloc(PAGE_SIZE, PAGE_SIZE);
    ops.failRead = () => true;
    expect(rig.await(rig.cache.read(task, mapping, 0, PAGE_SIZE, buf))).toEqual(E.left('EIO'));
    expect(ops.reads.map((r) => r.pages)).toEqual([4, 1]); // readahead, then one retry of the page
    ops.failRead = undefined;
    expect(rig.await(rig.cache.read(task, mapping, 0, PAGE_SIZE, buf))).toEqual(E.right(PAGE_SIZE));
    expect(rig.mem.read(buf, PAGE_SIZE).every((b) => b === 9)).toBe(true);
  });

  it('answers EINVAL and EFAULT instead of throwing', () => {
    const rig = pageCacheRig({ cachePages: 8 });
    const task = rig.task();
    const { mapping } = rig.file();
    expect(rig.await(rig.cache.read(task, mapping, -1, 10, 0x1000))).toEqual(E.left('EINVAL'));
    expect(rig.await(rig.cache.write(task, mapping, 0, 100, rig.mem.size - 10))).toEqual(E.left('EFAULT'));
    expect(rig.await(rig.cache.read(task, mapping, 0, 100, [{ addr: 0x1000, len: 50 }]))).toEqual(E.left('EFAULT'));
  });
});
