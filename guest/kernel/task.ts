/**
 * A guest task (a thread, Linux's task_struct as far as storage cares): it runs on one
 * CPU, may hold a block plug (blk_start_plug), and sleeps while it waits for I/O. Its
 * work is queued on its CPU; when it sleeps with a plug held, the plug is flushed first
 * (blk_flush_plug from schedule()), exactly as Linux does.
 */
import type { GuestCpu, Runnable } from './cpu.js';

/** What a plug holder must do when its task goes to sleep. */
export interface PlugHolder {
  /** Flush plugged requests to the queue; `fromSchedule` is true when the task is about to sleep. */
  flush(fromSchedule: boolean): void;
}

export class Task implements Runnable {
  /** The plug this task holds (blk_start_plug), if any. */
  plug: PlugHolder | undefined;
  private sleeping = false;

  constructor(
    readonly pid: number,
    readonly name: string,
    readonly cpu: GuestCpu,
  ) {}

  get isSleeping(): boolean {
    return this.sleeping;
  }

  /** `name: what` per `what`, built once (work labels are a handful of constants). */
  private readonly labels = new Map<string, string>();

  /** Run work as this task on its CPU. */
  run(what: string, fn: () => void): void {
    let label = this.labels.get(what);
    if (label === undefined) this.labels.set(what, (label = `${this.name}: ${what}`));
    this.cpu.schedule(label, fn, this);
  }

  /** Its CPU starts work of this task: it is running, not sleeping. */
  running(): void {
    this.sleeping = false;
  }

  /** The task blocks (waits for I/O or a lock): flush its plug first, as schedule() does. */
  sleep(): void {
    this.plug?.flush(true);
    this.sleeping = true;
  }
}
