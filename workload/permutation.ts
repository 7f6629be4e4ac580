/**
 * A random permutation of 0..n-1 that costs no memory: what fio's "random map" achieves
 * (every block of the region hit once per pass, in random order) without a bitmap.
 *
 * A 4-round Feistel network on 2h bits (4^h ≥ n) is a bijection of 0..4^h-1 whatever its
 * round function; cycle walking (apply it again until the value is below n) restricts it
 * to a bijection of 0..n-1, at fewer than 4 applications on average. The round keys come
 * from the caller's generator, so the same seed gives the same order.
 */

export interface PermutationRng {
  int(min: number, max: number): number;
}

/** The largest n handled: the Feistel halves must stay within 26 bits. */
export const MAX_PERMUTATION_SIZE = 2 ** 52;

const ROUNDS = 4;

/** Returns p with p(0..n-1) a permutation of 0..n-1. Requires 1 ≤ n ≤ 2^52. */
export function randomPermutation(n: number, rng: PermutationRng): (i: number) => number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PERMUTATION_SIZE) throw new RangeError(`randomPermutation: n = ${n}`);
  if (n === 1) return () => 0;
  const half = Math.max(1, Math.ceil(Math.ceil(Math.log2(n)) / 2));
  const size = 2 ** half;
  const mask = size - 1;
  const [k0, k1, k2, k3] = Array.from({ length: ROUNDS }, () => rng.int(0, 0x7fffffff));
  // The four rounds written out: each maps (l, r) to (r, l ^ F(r ^ k)).
  const rounds = (l: number, r: number): number => {
    l = (l ^ mix(r ^ k0)) & mask;
    r = (r ^ mix(l ^ k1)) & mask;
    l = (l ^ mix(r ^ k2)) & mask;
    r = (r ^ mix(l ^ k3)) & mask;
    return l * size + r;
  };
  // Halves of at most 15 bits: the split and join fit 32-bit integer arithmetic.
  const encrypt = half <= 15 ? (x: number): number => rounds(x >>> half, x & mask) : (x: number): number => rounds(Math.floor(x / size), x % size);
  return (i: number) => {
    let x = encrypt(i);
    while (x >= n) x = encrypt(x);
    return x;
  };
}

/**
 * murmur3's 32-bit finalizer: a cheap, well-mixed round function. Returned as a signed
 * 32-bit value (the same bits; callers keep only the low `half` of them), which V8 keeps
 * unboxed where an unsigned one above 2^30 would be a heap number.
 */
function mix(v: number): number {
  let x = v;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}
