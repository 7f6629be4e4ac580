/**
 * What the commands are made of: a small, fixed namespace under /mnt in which any path
 * may become a file or a directory (so ENOENT, ENOTDIR, EISDIR, EEXIST and ENOTEMPTY all
 * happen), offsets that like page boundaries, lengths from a byte to three pages, and
 * data from a seed.
 */
import fc from 'fast-check';
import { fillPattern } from '../support/vm.js';
import { ROOT } from './model.js';

export const PATHS: readonly string[] = ['f0', 'f1', 'a', 'b', 'a/f0', 'a/f1', 'a/c', 'a/c/f0', 'b/f0'].map((p) => `${ROOT}/${p}`);
/** Where directories are made (more often than files are made there). */
export const DIR_PATHS: readonly string[] = ['a', 'b', 'a/c'].map((p) => `${ROOT}/${p}`);

/** Any path; files at the root and in a/ and b/ most often, so calls find what they look for. */
export const pathArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(`${ROOT}/f0`, `${ROOT}/f1`) },
  { weight: 3, arbitrary: fc.constantFrom(`${ROOT}/a/f0`, `${ROOT}/a/f1`, `${ROOT}/b/f0`) },
  { weight: 1, arbitrary: fc.constantFrom(...PATHS) },
);
export const dirArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...DIR_PATHS) }, { weight: 1, arbitrary: pathArb });
/** A directory to list or sync: the root or any path. */
export const listArb = fc.oneof(fc.constant(ROOT), dirArb);
/** Which open handle (modulo how many there are). */
export const handleArb = fc.nat(7);

const PAGE = 4096;
export const offsetArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 12 }).map((p) => p * PAGE),
  fc.tuple(fc.integer({ min: 0, max: 12 }), fc.constantFrom(-1, 1, 511, 512, 2048)).map(([p, d]) => Math.max(0, p * PAGE + d)),
  fc.integer({ min: 0, max: 13 * PAGE }),
);
export const lengthArb = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.constant(PAGE),
  fc.integer({ min: 1, max: 3 * PAGE }),
);

/** `len` bytes from `seed`, never all zero. */
export const dataOf = (seed: number, len: number): Uint8Array => fillPattern(new Uint8Array(len), seed);
