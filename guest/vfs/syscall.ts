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
import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import type { GuestKernel } from '../kernel/kernel.js';
import type { Task } from '../kernel/task.js';
import type { Errno } from './errno.js';
import type { StartableCall, Sys } from './syscalls-api.js';

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
  return new SyscallCall(k, task, name, args, body, retOf);
}

/** Work labels of a call, built once per name (a handful of names, millions of calls). */
const labels = new Map<string, { enter: string; ret: string }>();
function labelsOf(name: string): { enter: string; ret: string } {
  let l = labels.get(name);
  if (l === undefined) labels.set(name, (l = { enter: `sys_${name}`, ret: `sys_${name}: return` }));
  return l;
}

/** Subscribing starts the call; the result is emitted unless the subscriber left first. */
function subscribeCall<T>(this: Observable<E.Either<Errno, T>>, sub: Subscriber<E.Either<Errno, T>>): TeardownLogic {
  let closed = false;
  (this as SyscallCall<T>).start((r) => {
    if (closed) return;
    closed = true;
    sub.next(r);
    sub.complete();
  });
  return () => {
    closed = true;
  };
}

class SyscallCall<T> extends Observable<E.Either<Errno, T>> implements StartableCall<E.Either<Errno, T>> {
  constructor(
    private readonly k: GuestKernel,
    private readonly task: Task,
    private readonly name: string,
    private readonly args: () => string,
    private readonly body: (done: Done<T>) => void,
    private readonly retOf: RetOf<T>,
  ) {
    super(subscribeCall);
  }

  /** Enter the kernel now; `next` gets the result when the task is back in user space. */
  start(next: (r: E.Either<Errno, T>) => void): void {
    const { k, task, name } = this;
    const label = labelsOf(name);
    task.run(label.enter, () => {
      k.sim.advance(k.costs.ns('guest.syscall'));
      if (k.trace.active) k.trace.emit({ kind: 'syscall', t: k.sim.now, pid: task.pid, name, phase: 'enter', args: this.args() });
      let inBody = true;
      let finished = false;
      const exit = (r: E.Either<Errno, T>): void => {
        if (k.trace.active) k.trace.emit({ kind: 'syscall', t: k.sim.now, pid: task.pid, name, phase: 'exit', ret: E.isLeft(r) ? r.left : this.retOf(r.right) });
        next(r);
      };
      this.body((r) => {
        if (finished) throw new Error(`vfs: ${name} returned twice`);
        finished = true;
        if (inBody) return exit(r);
        if (task.isSleeping) k.sim.advance(k.costs.ns('guest.task.wakeup'));
        task.run(label.ret, () => exit(r));
      });
      inBody = false;
    });
  }
}

/** Shorthands for bodies. */
export const ok = <T>(v: T): E.Either<Errno, T> => E.right(v);
export const fail = <T = never>(e: Errno): E.Either<Errno, T> => E.left(e);
