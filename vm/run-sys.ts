/**
 * Running a guest system call to its end from outside the guest (tests, tools): subscribe,
 * then run the machine's clock until it returns. A call that never returns — nothing left
 * to run, or `maxNs` of virtual time gone by — is a harness error and throws.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { Errno, Sys } from '../guest/vfs/syscalls-api.js';
import type { Machine } from './machine.js';

export function runSys<T>(m: Machine, call: Sys<T>, maxNs?: number): E.Either<Errno, T> {
  let out: E.Either<Errno, T> | undefined;
  call.subscribe((r) => (out = r));
  m.sim.run({ stop: () => out !== undefined, until: maxNs === undefined ? undefined : m.sim.now + maxNs });
  if (out === undefined) throw new Error(`runSys: the call did not return (virtual time ${m.sim.now} ns)`);
  return out;
}

/** `runSys`, and the value; throws naming the errno. */
export function sysOk<T>(m: Machine, call: Sys<T>, what = 'system call'): T {
  const r = runSys(m, call);
  if (r._tag === 'Left') throw new Error(`${what}: ${r.left}`);
  return r.right;
}
