import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DirtyChunks } from './dirty-chunks.js';

describe('DirtyChunks', () => {
  it('behaves as a Map in content and iteration order, deletions during iteration included (model-based)', () => {
    const idxArb = fc.oneof(fc.nat(300), fc.nat(2 ** 30));
    const opArb = fc.oneof(
      fc.tuple(fc.constant('set' as const), idxArb),
      fc.tuple(fc.constant('delete' as const), idxArb),
      fc.tuple(fc.constant('sweep' as const), fc.nat(300)),
      fc.tuple(fc.constant('clear' as const), fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        const d = new DirtyChunks();
        const model = new Map<number, Uint8Array>();
        for (const [op, n] of ops) {
          if (op === 'set') {
            const c = new Uint8Array(1);
            d.set(n, c);
            model.set(n, c);
          } else if (op === 'delete') {
            d.delete(n);
            model.delete(n);
          } else if (op === 'sweep') {
            // Delete every key below n while iterating, as the cache's zero() and truncate() do.
            for (const k of d.keys()) if (k < n) d.delete(k);
            for (const k of model.keys()) if (k < n) model.delete(k);
          } else {
            d.clear();
            model.clear();
          }
          expect(d.size).toBe(model.size);
          expect(d.get(n)).toBe(model.get(n));
        }
        expect([...d]).toEqual([...model]);
        expect([...d.values()]).toEqual([...model.values()]);
      }),
      { numRuns: 200 },
    );
  });

  it('squeezes out the positions of cleaned chunks and keeps the order', () => {
    const d = new DirtyChunks();
    const model = new Map<number, Uint8Array>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3000; i++) {
        const c = new Uint8Array(1);
        d.set(i * 7, c);
        model.set(i * 7, c);
      }
      for (let i = 0; i < 3000; i += 2) {
        d.delete(i * 7);
        model.delete(i * 7);
      }
    }
    expect([...d.keys()]).toEqual([...model.keys()]);
    // Emptying it while iterating crosses the squeeze threshold mid-way: every key is still seen.
    let seen = 0;
    for (const k of d.keys()) {
      d.delete(k);
      seen++;
    }
    expect(seen).toBe(model.size);
    expect(d.size).toBe(0);
  });
});
