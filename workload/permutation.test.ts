import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../sim/rng.js';
import { randomPermutation } from './permutation.js';

describe('randomPermutation', () => {
  it('is a permutation of 0..n-1 for any n and seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer(), (n, seed) => {
        const p = randomPermutation(n, new Rng(seed));
        const values = Array.from({ length: n }, (_, i) => p(i));
        expect(values.every((v) => Number.isInteger(v) && v >= 0 && v < n)).toBe(true);
        expect(new Set(values).size).toBe(n);
      }),
      { numRuns: 200 },
    );
  });

  it('depends on the seed, and only on it', () => {
    const order = (seed: number) => Array.from({ length: 64 }, (_, i) => randomPermutation(64, new Rng(seed))(i));
    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
  });

  it('works for huge n without memory', () => {
    const n = 2 ** 40 + 12345;
    const p = randomPermutation(n, new Rng(7));
    for (let i = 0; i < 1000; i++) {
      const v = p(i * 1_000_003);
      expect(v >= 0 && v < n).toBe(true);
    }
  });
});
