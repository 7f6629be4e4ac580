/**
 * Two tasks on two CPUs write and read the same file at the same time, interleaved at
 * sub-page granularity (task A owns the even 1 KiB blocks, task B the odd ones), with
 * little memory: partial-page read-modify-write, page locks, reclaim, throttling and the
 * flusher all race. Each task checks what it reads of its own blocks against its own
 * model; at the end the disk holds both.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { firstDifference, pageCacheRig } from './testing.js';

const BLOCK = 1024;
const BLOCKS = 96; // 24 pages
const MS = 1_000_000;

type Op = { kind: 'write'; block: number; seed: number; thinkUs: number } | { kind: 'read'; block: number; blocks: number; thinkUs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), block: fc.nat(BLOCKS / 2 - 1), seed: fc.integer({ min: 1, max: 255 }), thinkUs: fc.nat(3000) }),
  fc.record({ kind: fc.constant('read' as const), block: fc.nat(BLOCKS - 1), blocks: fc.integer({ min: 1, max: 12 }), thinkUs: fc.nat(3000) }),
);

describe('concurrent readers and writers', () => {
  it('each task reads back exactly what it wrote, whatever the interleaving', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 16 }), fc.array(opArb, { maxLength: 40 }), fc.array(opArb, { maxLength: 40 }), (cachePages, opsA, opsB) => {
        const rig = pageCacheRig({ cachePages, vcpus: 2, sysctl: { dirty_writeback_centisecs: 100, dirty_expire_centisecs: 200 } });
        const { ops, mapping } = rig.file('ino:50', 200_000);
        const models = [new Uint8Array(BLOCKS * BLOCK), new Uint8Array(BLOCKS * BLOCK)];
        let finished = 0;
        const runTask = (who: 0 | 1, list: Op[]): void => {
          const task = rig.task(who ? 'b' : 'a', who);
          const buf = rig.user.alloc(12 * BLOCK, 4096);
          const next = (i: number): void => {
            if (i >= list.length) return void finished++;
            const op = list[i];
            rig.sim.after(op.thinkUs * 1000, () => {
              if (op.kind === 'write') {
                const block = op.block * 2 + who;
                const data = new Uint8Array(BLOCK).fill(op.seed);
                rig.mem.write(buf, data);
                rig.cache.write(task, mapping, block * BLOCK, BLOCK, buf).subscribe((r) => {
                  expect(r).toEqual(E.right(BLOCK));
                  models[who].set(data, block * BLOCK);
                  next(i + 1);
                });
              } else {
                rig.cache.read(task, mapping, op.block * BLOCK, op.blocks * BLOCK, buf).subscribe((r) => {
                  expect(E.isRight(r)).toBe(true);
                  const n = E.isRight(r) ? r.right : 0;
                  const got = rig.mem.read(buf, n);
                  for (let b = op.block; (b - op.block) * BLOCK < n; b++) {
                    if (b % 2 !== who) continue;
                    const off = (b - op.block) * BLOCK;
                    const len = Math.min(BLOCK, n - off);
                    const want = models[who].subarray(b * BLOCK, b * BLOCK + len);
                    expect(firstDifference(got.subarray(off, off + len), want), `task ${who} block ${b}`).toBe(-1);
                  }
                  next(i + 1);
                });
              }
            });
          };
          next(0);
        };
        runTask(0, opsA);
        runTask(1, opsB);
        rig.sim.run({ stop: () => finished === 2 });
        expect(finished).toBe(2);
        rig.await(rig.cache.sync(rig.task('sync')));
        const disk = new Uint8Array(mapping.size);
        disk.set(ops.data.subarray(0, mapping.size));
        for (let b = 0; b * BLOCK < mapping.size; b++) {
          const want = models[b % 2].subarray(b * BLOCK, Math.min((b + 1) * BLOCK, mapping.size));
          expect(firstDifference(disk.subarray(b * BLOCK, b * BLOCK + want.length), want), `disk block ${b}`).toBe(-1);
        }
        expect(rig.cache.nrPages).toBeLessThanOrEqual(cachePages);
        rig.sim.run({ until: rig.sim.now + 10_000 * MS });
        expect(rig.cache.internals.flusher.armed).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});
