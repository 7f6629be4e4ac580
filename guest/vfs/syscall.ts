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
import type { SyscallArgs } from '../../sim/trace.js';
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
  return new FnCall(k, task, name, args, body, retOf);
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

/** Where a call is: not started, queued to enter, running its body, waiting (the body returned before calling done), done. */
const NEW = 0;
const STARTED = 1;
const IN_BODY = 2;
const WAITING = 3;
const DONE = 4;

/**
 * One system call. A subclass says what it does (`body`), how its arguments read in the
 * trace (`args`, asked only when an event is built) and what its result is there (`retOf`);
 * the state lives in fields, so a call makes its record and one callback per step (enter,
 * done, return), no closures over its arguments.
 */
export abstract class SyscallCall<T> extends Observable<E.Either<Errno, T>> implements StartableCall<E.Either<Errno, T>>, SyscallArgs {
  private state = NEW;
  private next: ((r: E.Either<Errno, T>) => void) | undefined;
  private result: E.Either<Errno, T> | undefined;

  constructor(
    private readonly k: GuestKernel,
    protected readonly task: Task,
    private readonly name: string,
  ) {
    super(subscribeCall);
  }

  /** The arguments as the trace shows them. */
  abstract args(): string;
  /** The call's work: calls `done` once, now or later. */
  protected abstract body(done: Done<T>): void;
  /** A successful result as the trace shows it. */
  protected abstract retOf(v: T): number;

  /** Enter the kernel now; `next` gets the result when the task is back in user space. */
  start(next: (r: E.Either<Errno, T>) => void): void {
    if (this.state !== NEW) {
      // Started again (subscribed twice): the same call once more, with state of its own.
      new FnCall<T>(this.k, this.task, this.name, () => this.args(), (done) => this.body(done), (v) => this.retOf(v)).start(next);
      return;
    }
    this.state = STARTED;
    this.next = next;
    this.task.run(labelsOf(this.name).enter, () => this.enter());
  }

  private enter(): void {
    const { k, task } = this;
    k.sim.advance(k.costs.ns('guest.syscall'));
    if (k.trace.wants.syscall) k.trace.emitSyscall(k.sim.now, task.pid, this.name, 'enter', this, undefined);
    this.state = IN_BODY;
    this.body((r) => this.done(r));
    if (this.state === IN_BODY) this.state = WAITING;
  }

  private done(r: E.Either<Errno, T>): void {
    if (this.state === DONE) throw new Error(`vfs: ${this.name} returned twice`);
    const waited = this.state === WAITING;
    this.state = DONE;
    if (!waited) return this.exit(r);
    const { k, task } = this;
    if (task.isSleeping) k.sim.advance(k.costs.ns('guest.task.wakeup'));
    this.result = r;
    task.run(labelsOf(this.name).ret, () => this.exit(this.result as E.Either<Errno, T>));
  }

  private exit(r: E.Either<Errno, T>): void {
    const { k, task } = this;
    if (k.trace.wants.syscall) k.trace.emitSyscall(k.sim.now, task.pid, this.name, 'exit', undefined, E.isLeft(r) ? r.left : this.retOf(r.right));
    this.next!(r);
  }
}

/** A call given as closures (most calls: they are rare). */
class FnCall<T> extends SyscallCall<T> {
  constructor(
    k: GuestKernel,
    task: Task,
    name: string,
    private readonly argsFn: () => string,
    private readonly bodyFn: (done: Done<T>) => void,
    private readonly ret: RetOf<T>,
  ) {
    super(k, task, name);
  }

  args(): string {
    return this.argsFn();
  }

  protected body(done: Done<T>): void {
    this.bodyFn(done);
  }

  protected retOf(v: T): number {
    return this.ret(v);
  }
}

/** Shorthands for bodies. */
export const ok = <T>(v: T): E.Either<Errno, T> => E.right(v);
export const fail = <T = never>(e: Errno): E.Either<Errno, T> => E.left(e);
