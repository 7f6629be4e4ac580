/**
 * Model-based: random reads, writes, truncates, fsyncs, drop_caches and idle time through
 * the cache, against a plain byte array (the model). Every read returns the model's bytes;
 * with little memory the cache must reclaim, write back under pressure and re-read, and
 * must never hold more pages than the memory has. At the end, after sync, the fake disk
 * holds the model's bytes.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../hw/memory.js';
import { firstDifference, pageCacheRig } from './testing.js';

type Cmd =
  | { op: 'write'; off: number; len: number; seed: number }
  | { op: 'read'; off: number; len: number }
  | { op: 'truncate'; size: number }
  | { op: 'fsync' }
  | { op: 'drop' }
  | { op: 'idle'; ms: number };

const MAX_FILE = 24 * PAGE_SIZE;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), off: fc.nat(MAX_FILE), len: fc.integer({ min: 1, max: 5 * PAGE_SIZE }), seed: fc.nat(255) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('read' as const), off: fc.nat(MAX_FILE + PAGE_SIZE), len: fc.integer({ min: 1, max: 6 * PAGE_SIZE }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), size: fc.nat(MAX_FILE) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fsync' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'drop' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('idle' as const), ms: fc.integer({ min: 1, max: 40_000 }) }) },
);

function pattern(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (seed * 31 + i * 7 + (i >> 12)) & 0xff;
  return out;
}

function runModel(cachePages: number, cmds: Cmd[], readAheadKb = 128): void {
  const rig = pageCacheRig({ cachePages, sysctl: { read_ahead_kb: readAheadKb } });
  const task = rig.task();
  const { ops, mapping } = rig.file();
  const buf = rig.user.alloc(8 * PAGE_SIZE, PAGE_SIZE);
  let model = new Uint8Array(0);
  let maxHeld = 0;
  rig.trace.attach(() => {
    maxHeld = Math.max(maxHeld, rig.cache.nrPages, rig.pages.usedPages);
  });
  for (const c of cmds) {
    switch (c.op) {
      case 'write': {
        const data = pattern(c.seed, c.len);
        rig.mem.write(buf, data);
        expect(rig.await(rig.cache.write(task, mapping, c.off, c.len, buf))).toEqual(E.right(c.len));
        if (c.off + c.len > model.length) {
          const m = new Uint8Array(c.off + c.len);
          m.set(model);
          model = m;
        }
        model.set(data, c.off);
        break;
      }
      case 'read': {
        const r = rig.await(rig.cache.read(task, mapping, c.off, c.len, buf));
        const want = model.subarray(Math.min(c.off, model.length), Math.min(c.off + c.len, model.length));
        expect(r).toEqual(E.right(want.length));
        expect(firstDifference(rig.mem.read(buf, want.length), want)).toBe(-1);
        break;
      }
      case 'truncate': {
        rig.await(rig.cache.truncate(task, mapping, c.size));
        ops.truncate(c.size); // the file system frees the blocks past the new size
        const m = new Uint8Array(c.size);
        m.set(model.subarray(0, c.size));
        model = m;
        break;
      }
      case 'fsync':
        expect(rig.await(rig.cache.fileWriteAndWait(task, mapping, { start: 0 }, { since: 0 }))).toEqual(E.right(undefined));
        expect(mapping.nrDirty).toBe(0);
        break;
      case 'drop':
        rig.cache.dropCaches();
        break;
      case 'idle':
        rig.sim.run({ until: rig.sim.now + c.ms * 1_000_000 });
        break;
    }
    expect(rig.cache.nrPages).toBeLessThanOrEqual(cachePages);
    expect(mapping.size).toBe(model.length);
  }
  rig.await(rig.cache.sync(task));
  expect(rig.cache.nrDirty + rig.cache.nrWriteback).toBe(0);
  const disk = new Uint8Array(model.length); // the disk holds at least i_size bytes; unwritten ones read as zeroes
  disk.set(ops.data.subarray(0, model.length));
  expect(firstDifference(disk, model)).toBe(-1);
  expect(maxHeld).toBeLessThanOrEqual(cachePages);
  rig.sim.run();
  expect(rig.cache.internals.flusher.armed).toBe(false);
}

describe('page cache against a byte-array model', () => {
  it('read after write equals the model, with plenty of memory', () => {
    fc.assert(fc.property(fc.array(cmdArb, { minLength: 1, maxLength: 60 }), (cmds) => runModel(512, cmds)), { numRuns: 100 });
  });

  it('never holds more pages than the memory allows, and stays correct under reclaim', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 24 }), fc.array(cmdArb, { minLength: 1, maxLength: 60 }), fc.constantFrom(0, 16, 128), (pages, cmds, ra) => runModel(pages, cmds, ra)),
      { numRuns: 200 },
    );
  });
});
