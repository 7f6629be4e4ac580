/**
 * `wakeOn(task)`: deliver each notification as work of `task` on its CPU — the waiting
 * task is woken and carries on there, instead of inside the interrupt handler that
 * completed its I/O. Order is kept (a CPU runs its work in order). The wakeup's cost is
 * the caller's to charge ('guest.task.wakeup').
 */
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { Task } from '../../kernel/task.js';

export function wakeOn<T>(task: Task): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((sub) =>
      source.subscribe({
        next: (v) => task.run('wake', () => sub.next(v)),
        error: (e: unknown) => task.run('wake', () => sub.error(e)),
        complete: () => task.run('wake', () => sub.complete()),
      }),
    );
}
