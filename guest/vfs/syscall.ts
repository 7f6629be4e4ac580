/**
 * One system call as the contract's Observable (syscalls-api.ts): on subscription the call
 * enters the kernel on the task's CPU — `guest.syscall` is charged and a `syscall` enter
 * event traced — and its body runs. The body calls `done` once: at once (the call did not
 * block) or later, from whatever context ended the wait (an interrupt, the journal thread);
 * then the task is woken (`guest.task.wakeup`, when it slept) and returns to user space on
 * its CPU, where the exit event is traced and the result emitted. Unsubscribing early stops
 * the emission, not the work.
 */
import * as E from 'fp-ts/lib/Either.js';
import { Observable } from 'rxjs';
import type { GuestKernel } from '../kernel/kernel.js';
import type { Task } from '../kernel/task.js';
import type { Errno } from './errno.js';
import type { Sys } from './syscalls-api.js';

/** How a system call's body returns. */
export type Done<T> = (r: E.Either<Errno, T>) => void;

/** What a successful call returns, for the trace (bytes, an fd, an offset; 0 for no value). */
export type RetOf<T> = (v: T) => number;

const zero = (): number => 0;

export function syscall<T>(
  k: GuestKernel,
  task: Task,
  name: string,
  args: () => string,
  body: (done: Done<T>) => void,
  retOf: RetOf<T> = zero,
): Sys<T> {
  return new Observable<E.Either<Errno, T>>((sub) => {
    let closed = false;
    task.run(`sys_${name}`, () => {
      k.sim.advance(k.costs.ns('guest.syscall'));
      if (k.trace.active) k.trace.emit({ kind: 'syscall', t: k.sim.now, pid: task.pid, name, phase: 'enter', args: args() });
      let inBody = true;
      let finished = false;
      const exit = (r: E.Either<Errno, T>): void => {
        if (k.trace.active) k.trace.emit({ kind: 'syscall', t: k.sim.now, pid: task.pid, name, phase: 'exit', ret: E.isLeft(r) ? r.left : retOf(r.right) });
        if (closed) return;
        closed = true;
        sub.next(r);
        sub.complete();
      };
      body((r) => {
        if (finished) throw new Error(`vfs: ${name} returned twice`);
        finished = true;
        if (inBody) return exit(r);
        if (task.isSleeping) k.sim.advance(k.costs.ns('guest.task.wakeup'));
        task.run(`sys_${name}: return`, () => exit(r));
      });
      inBody = false;
    });
    return () => {
      closed = true;
    };
  });
}

/** Shorthands for bodies. */
export const ok = <T>(v: T): E.Either<Errno, T> => E.right(v);
export const fail = <T = never>(e: Errno): E.Either<Errno, T> => E.left(e);
