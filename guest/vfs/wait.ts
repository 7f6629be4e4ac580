/**
 * How a task waits inside the kernel: a sleeping lock (the inode's i_rwsem, taken by
 * writers and truncate) and a latch (a batch of I/O in flight that others may wait for:
 * ordered-mode data a journal commit must see land first). Waiters resume as their own
 * task, on its CPU, the way a woken task is scheduled.
 */
import type { Observable } from 'rxjs';
import type { Task } from '../kernel/task.js';

/** A FIFO sleeping lock (a mutex / write-held rw_semaphore). */
export class SleepLock {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  get locked(): boolean {
    return this.held;
  }

  /** Take the lock as `task`, then run `fn`: at once when it is free, else on the task when it is handed over. */
  acquire(task: Task, fn: () => void): void {
    if (!this.held) {
      this.held = true;
      fn();
      return;
    }
    task.sleep();
    this.waiters.push(() => task.run('lock acquired', fn));
  }

  /** Let go; the longest waiter gets it. */
  release(): void {
    if (!this.held) throw new Error('vfs: releasing a lock that is not held');
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

/** A count of things in flight; waiters run (inline, in whatever context ends the last one) when it reaches zero. */
export class Latch {
  private waiters: (() => void)[] = [];

  constructor(private left: number) {}

  get done(): boolean {
    return this.left <= 0;
  }

  countDown(): void {
    if (this.left <= 0) throw new Error('vfs: latch counted down past zero');
    if (--this.left === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    }
  }

  wait(fn: () => void): void {
    if (this.left <= 0) fn();
    else this.waiters.push(fn);
  }
}

/** Run `fn` (inline) once every latch is done. */
export function waitAll(latches: readonly Latch[], fn: () => void): void {
  let left = latches.length + 1;
  const one = (): void => {
    if (--left === 0) fn();
  };
  for (const l of latches) l.wait(one);
  one();
}

/** Subscribe to `o` and call `fn` with its first value (an operation's one result). */
export function once<T>(o: Observable<T>, fn: (v: T) => void): void {
  let seen = false;
  o.subscribe((v) => {
    if (seen) return;
    seen = true;
    fn(v);
  });
}

/**
 * `fn` continued as `task` after a wait: the task sleeps now, and `resume` (called from
 * whatever context ends the wait) schedules `fn` on the task's CPU.
 */
export function sleepThen<A extends unknown[]>(task: Task, what: string, fn: (...a: A) => void): (...a: A) => void {
  task.sleep();
  return (...a: A) => task.run(what, () => fn(...a));
}
