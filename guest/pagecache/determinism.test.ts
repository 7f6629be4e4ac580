/**
 * Determinism: the same workload gives the same trace, event for event (two tasks on two
 * CPUs, reads, writes, fsync, memory pressure, the flusher's timers). Also: the sysctl
 * knobs are validated, with a message naming the culprit.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../hw/memory.js';
import { DEFAULT_VM_SYSCTL, sysctlErrorMessage, vmSysctl } from './sysctl.js';
import { pageCacheRig } from './testing.js';

const MS = 1_000_000;
type Op = { at: number; task: number; kind: 'read' | 'write' | 'fsync'; page: number; pages: number };

function run(ops: Op[]): string {
  const rig = pageCacheRig({ cachePages: 24, vcpus: 2 });
  const tasks = [rig.task('a', 0), rig.task('b', 1)];
  const { mapping } = rig.file('ino:40', 300_000);
  const bufs = [rig.user.alloc(8 * PAGE_SIZE, PAGE_SIZE), rig.user.alloc(8 * PAGE_SIZE, PAGE_SIZE)];
  rig.mem.write(bufs[0], new Uint8Array(8 * PAGE_SIZE).fill(0xa1));
  rig.mem.write(bufs[1], new Uint8Array(8 * PAGE_SIZE).fill(0xb2));
  const results: unknown[] = [];
  for (const op of ops) {
    rig.sim.at(op.at * MS, () => {
      const t = tasks[op.task];
      const buf = bufs[op.task];
      const obs: Observable<unknown> =
        op.kind === 'read'
          ? rig.cache.read(t, mapping, op.page * PAGE_SIZE, op.pages * PAGE_SIZE, buf)
          : op.kind === 'write'
            ? rig.cache.write(t, mapping, op.page * PAGE_SIZE, op.pages * PAGE_SIZE, buf)
            : rig.cache.fileWriteAndWait(t, mapping, { start: 0 }, { since: 0 });
      obs.subscribe((r: unknown) => results.push([rig.sim.now, r]));
    });
  }
  rig.sim.run();
  return JSON.stringify([rig.recorder.events, results]);
}

describe('determinism', () => {
  it('the same workload gives the same trace', () => {
    const opArb = fc.record({
      at: fc.integer({ min: 0, max: 60_000 }),
      task: fc.nat(1),
      kind: fc.constantFrom('read' as const, 'write' as const, 'fsync' as const),
      page: fc.nat(40),
      pages: fc.integer({ min: 1, max: 8 }),
    });
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        const a = run(ops);
        expect(run(ops)).toBe(a);
      }),
      { numRuns: 25 },
    );
  });
});

describe('vm sysctl knobs', () => {
  it("defaults are Linux's", () => {
    expect(DEFAULT_VM_SYSCTL).toEqual({
      dirty_ratio: 20,
      dirty_background_ratio: 10,
      dirty_bytes: 0,
      dirty_background_bytes: 0,
      dirty_writeback_centisecs: 500,
      dirty_expire_centisecs: 3000,
      read_ahead_kb: 128,
    });
  });

  it('refuses unknown knobs and bad values with a message naming them', () => {
    const unknown = vmSysctl({ dirty_ratios: 5 });
    expect(E.isLeft(unknown) && sysctlErrorMessage(unknown.left)).toMatch(/unknown knob 'dirty_ratios'/);
    const bad = vmSysctl({ dirty_ratio: 120 });
    expect(E.isLeft(bad) && sysctlErrorMessage(bad.left)).toMatch(/'dirty_ratio' must be .* no larger than 100, got 120/);
    expect(vmSysctl({ dirty_expire_centisecs: -1 })).toSatisfy(E.isLeft);
    expect(vmSysctl({ dirty_expire_centisecs: 100 })).toEqual(E.right({ ...DEFAULT_VM_SYSCTL, dirty_expire_centisecs: 100 }));
  });
});
