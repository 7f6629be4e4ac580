/** Comparing what a call returned with what the model says it must. */
import * as E from 'fp-ts/lib/Either.js';
import type { Errno } from '../../guest/vfs/syscalls-api.js';
import type { Result } from './model.js';

const show = (r: Result<unknown> | E.Either<Errno, unknown>): string =>
  'ok' in r ? (r.ok ? `ok ${JSON.stringify(r.value)}` : r.errno) : E.isLeft(r) ? r.left : `ok ${JSON.stringify(r.right)}`;

/**
 * Throw when `actual` differs from `expected`: both errors with the same errno, or both
 * successes with equal values (`eq`, default: JSON equality).
 */
export function same<T, U>(what: string, expected: Result<T>, actual: E.Either<Errno, U>, eq: (a: T, b: U) => boolean = (a, b) => JSON.stringify(a) === JSON.stringify(b)): void {
  const good = expected.ok
    ? E.isRight(actual) && eq(expected.value, actual.right)
    : E.isLeft(actual) && (actual.left === expected.errno || actual.left === expected.tolerated);
  if (!good) throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}
