/**
 * A guest process written as straight-line code: a generator that yields what it waits
 * for, driven in virtual time. It is how fio's file jobs, the `iopath trace` op runner and
 * the setup steps (mkfs, mount, laying out files) are written:
 *
 * ```ts
 * function* job(): Proc<number> {
 *   const fd = yield* call(sys.open(task, '/mnt/f', O_RDWR | O_CREAT));   // blocks until it returns
 *   yield* submit(sys.pwrite(task, fd.right, buf, 0), 'w0');               // io_submit: does not block
 *   const done = yield* reap<Either<Errno, number>, string>(1);           // io_getevents(min_nr = 1)
 *   yield* sleep(5e9);                                                    // nanosleep
 * }
 * ```
 *
 * - `call` waits for the Observable's one emission (a system call returns).
 * - `submit` subscribes and goes on at once; the emission is queued as a completion
 *   (an I/O of an asynchronous engine in flight).
 * - `reap(min)` waits until at least `min` completions are queued and takes them all.
 * - `sleep(ns)` waits that long on the simulation clock.
 *
 * The driver never recurses: an Observable that emits while it is being subscribed (a
 * call refused at once) resumes the generator from the same loop, so a process of a
 * million calls runs in constant stack.
 */
import type { Observable, Subscription } from 'rxjs';
import { isStartable } from '../guest/vfs/syscalls-api.js';
import type { Simulator } from '../sim/simulator.js';

export type ProcStep =
  | { readonly kind: 'call'; readonly o: Observable<unknown> }
  | { readonly kind: 'submit'; readonly o: Observable<unknown>; readonly tag: unknown }
  | { readonly kind: 'reap'; readonly min: number }
  | { readonly kind: 'sleep'; readonly ns: number };

/** A process that finishes with an `R`. */
export type Proc<R> = Generator<ProcStep, R, unknown>;

/** A submitted call's result and the tag it was submitted with. */
export interface Completion<T, Tag> {
  readonly tag: Tag;
  readonly value: T;
}

/** Wait for `o`'s one emission. */
export function* call<T>(o: Observable<T>): Proc<T> {
  return (yield { kind: 'call', o }) as T;
}

/**
 * The step `call(o)` yields, for a hot loop to yield itself: `(yield callStep(o)) as T` is
 * `yield* call(o)` without a generator made per call.
 */
export function callStep(o: Observable<unknown>): ProcStep {
  return { kind: 'call', o };
}

/** Start `o` without waiting; its emission becomes a completion tagged `tag`. */
export function* submit<Tag>(o: Observable<unknown>, tag: Tag): Proc<void> {
  yield { kind: 'submit', o, tag };
}

/** Wait for at least `min` completions (0: take what is there) and take every queued one. */
export function* reap<T, Tag>(min: number): Proc<Completion<T, Tag>[]> {
  return (yield { kind: 'reap', min }) as Completion<T, Tag>[];
}

/** Sleep `ns` nanoseconds of virtual time. */
export function* sleep(ns: number): Proc<void> {
  yield { kind: 'sleep', ns };
}

/** Handle on a running process. */
export interface ProcHandle {
  /** Submitted calls not yet reaped (including completed ones waiting in the queue). */
  readonly outstanding: number;
  readonly finished: boolean;
}

/**
 * Subscribe to `o` for its first value (or an error before it), then unsubscribe: `take(1)`
 * without building an operator chain per call — or, for a call that can be started
 * without a subscription (a system call), start it.
 */
function firstValue<T>(o: Observable<T>, next: (v: T) => void, error: (e: unknown) => void): void {
  if (isStartable(o)) return o.start(next);
  let seen = false;
  let sub: Subscription | undefined;
  sub = o.subscribe({
    next: (v) => {
      if (seen) return;
      seen = true;
      next(v);
      sub?.unsubscribe();
    },
    error: (e: unknown) => {
      if (!seen) error(e);
    },
  });
  if (seen) sub.unsubscribe(); // it emitted while being subscribed
}

/** Run `proc` from now on; `done` gets its result. */
export function startProc<R>(sim: Simulator, proc: Proc<R>, done: (r: R) => void): ProcHandle {
  const completions: Completion<unknown, unknown>[] = [];
  let submitted = 0;
  let reapMin: number | undefined;
  let ready = true;
  let value: unknown;
  let running = false;
  let finished = false;

  const resume = (v: unknown): void => {
    value = v;
    ready = true;
    pump();
  };
  const takeCompletions = (): Completion<unknown, unknown>[] => {
    submitted -= completions.length;
    return completions.splice(0);
  };
  const handle = (step: ProcStep): void => {
    switch (step.kind) {
      case 'call':
        firstValue(step.o, resume, fault);
        return;
      case 'submit':
        submitted++;
        firstValue(
          step.o,
          (v) => {
            completions.push({ tag: step.tag, value: v });
            if (reapMin !== undefined && completions.length >= reapMin) {
              reapMin = undefined;
              resume(takeCompletions());
            }
          },
          fault,
        );
        value = undefined;
        ready = true;
        return;
      case 'reap':
        if (step.min > submitted) throw new Error(`proc: reap(${step.min}) with only ${submitted} calls outstanding would never return`);
        if (completions.length >= step.min) {
          value = takeCompletions();
          ready = true;
        } else reapMin = step.min;
        return;
      case 'sleep':
        sim.after(step.ns, () => resume(undefined));
        return;
    }
  };
  const fault = (e: unknown): never => {
    // A system call's Observable must emit a value (errors are errno values): an error is a simulator bug.
    throw e instanceof Error ? e : new Error(`proc: a call failed with ${String(e)}`);
  };
  const pump = (): void => {
    if (running) return;
    running = true;
    try {
      while (ready && !finished) {
        ready = false;
        const r = proc.next(value);
        value = undefined;
        if (r.done) {
          finished = true;
          done(r.value);
          break;
        }
        handle(r.value);
      }
    } finally {
      running = false;
    }
  };
  pump();
  return {
    get outstanding() {
      return submitted;
    },
    get finished() {
      return finished;
    },
  };
}
