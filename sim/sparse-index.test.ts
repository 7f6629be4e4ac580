import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SparseIndex } from './sparse-index.js';

/** Indexes near each other (one node), far apart, and past 2^31 (where a shift would wrap). */
const index = fc.oneof(fc.nat(200), fc.nat(1 << 20), fc.integer({ min: 2 ** 31 - 100, max: 2 ** 31 + 100 }), fc.nat(2 ** 40));
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), i: index, v: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), i: index }),
  fc.record({ kind: fc.constant('get' as const), i: index }),
);

describe('SparseIndex', () => {
  it('answers as a Map does, and iterates in ascending index order', () =>
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const idx = new SparseIndex<number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            idx.set(o.i, o.v);
            model.set(o.i, o.v);
          } else if (o.kind === 'delete') expect(idx.delete(o.i)).toBe(model.delete(o.i));
          expect(idx.get(o.i)).toBe(model.get(o.i));
          expect(idx.has(o.i)).toBe(model.has(o.i));
          expect(idx.size).toBe(model.size);
        }
        const sorted = [...model].sort((a, b) => a[0] - b[0]);
        expect([...idx]).toEqual(sorted);
        expect([...idx.keys()]).toEqual(sorted.map(([k]) => k));
        expect([...idx.values()]).toEqual(sorted.map(([, v]) => v));
      }),
    ));

  it('lets a loop delete the entry it is at', () => {
    const idx = new SparseIndex<string>();
    for (const i of [3, 64, 65, 1000, 2 ** 33]) idx.set(i, `p${i}`);
    const seen: number[] = [];
    for (const [i] of idx) {
      seen.push(i);
      idx.delete(i);
    }
    expect(seen).toEqual([3, 64, 65, 1000, 2 ** 33]);
    expect(idx.size).toBe(0);
    expect(idx.get(64)).toBeUndefined();
  });
});
