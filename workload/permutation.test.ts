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

  it('gives the same order as the round-by-round Feistel network (the order traces and golden files were made with)', () => {
    // The network one round at a time, as first written: (l, r) -> (r, l ^ F(r ^ k)).
    const reference = (n: number, seed: number) => {
      const rng = new Rng(seed);
      const half = Math.max(1, Math.ceil(Math.ceil(Math.log2(n)) / 2));
      const size = 2 ** half;
      const keys = Array.from({ length: 4 }, () => rng.int(0, 0x7fffffff));
      const mix = (v: number) => {
        let x = v >>> 0;
        x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
        x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
        return (x ^ (x >>> 16)) >>> 0;
      };
      const encrypt = (x: number) => {
        let l = Math.floor(x / size);
        let r = x % size;
        for (const k of keys) [l, r] = [r, (l ^ (mix(r ^ k) & (size - 1))) & (size - 1)];
        return l * size + r;
      };
      return (i: number) => {
        let x = encrypt(i);
        while (x >= n) x = encrypt(x);
        return x;
      };
    };
    // Both sides of the 15-bit-half switch, and the largest n.
    for (const n of [2, 3, 1000, 16384, 2 ** 30 - 7, 2 ** 30 + 5, 2 ** 41 + 3, 2 ** 52]) {
      for (const seed of [1, 1_000_003, -5]) {
        const want = reference(n, seed);
        const got = randomPermutation(n, new Rng(seed));
        for (let i = 0; i < 300; i++) {
          const x = Math.floor((i * n) / 300);
          expect(got(x)).toBe(want(x));
        }
      }
    }
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
