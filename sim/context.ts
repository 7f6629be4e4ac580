/**
 * Execution contexts: the serial resources work is charged to — each vCPU thread, QEMU's
 * main loop (the holder of the big QEMU lock), each iothread, each vhost worker, the host
 * kernel. A context does one thing at a time; work that arrives while it is busy waits.
 * That waiting is how the BQL, iothreads and vhost differ in time, not only in counts.
 *
 * `run(what, fn)` starts `fn` when the context is free, at local time = start; `fn`
 * charges its costs with `sim.advance`; when it returns the context is busy until the
 * local time it reached. A `work` trace event records the span.
 *
 * `hold(from)` is for a lock taken by another thread: a vCPU handling a heavyweight exit
 * takes the BQL, so the main loop cannot run during that span (and the vCPU waits for
 * the main loop to let go first).
 */
import type { Simulator } from './simulator.js';
import type { Trace } from './trace.js';

export type ContextKind = 'vcpu' | 'main-loop' | 'iothread' | 'vhost' | 'kernel' | 'backend';

export class ExecutionContext {
  /** Virtual time at which the context is next free. */
  freeAt = 0;
  /** Total busy time charged so far. */
  busyNs = 0;

  constructor(
    private readonly sim: Simulator,
    private readonly trace: Trace,
    readonly name: string,
    readonly kind: ContextKind,
  ) {}

  /**
   * Run `fn` on this context as soon as it is free (and not before the current local
   * time). Work queued behind other work whose length was not known yet is re-queued
   * until the context is really free, so it runs at an event time equal to its start:
   * nothing another context does between those instants can see its effects early.
   */
  run(what: string, fn: () => void): void {
    const start = Math.max(this.sim.now, this.freeAt);
    this.sim.at(start, () => this.startWhenFree(what, fn));
  }

  private startWhenFree(what: string, fn: () => void): void {
    if (this.freeAt > this.sim.now) {
      this.sim.at(this.freeAt, () => this.startWhenFree(what, fn));
      return;
    }
    this.exec(what, fn);
  }

  /** Run `fn` now, inline, as work of this context (the caller is already at the right time). */
  exec(what: string, fn: () => void): void {
    this.sim.advanceTo(this.freeAt);
    const start = this.sim.now;
    fn();
    this.account(what, start, this.sim.now);
  }

  /**
   * Take this context as a lock from another thread's work: wait until it is free, then
   * call `fn`; the context stays busy until `fn` returns (in local time).
   */
  hold(what: string, fn: () => void): void {
    this.exec(what, fn);
  }

  private account(what: string, start: number, end: number): void {
    if (end > this.freeAt) this.freeAt = end;
    const dur = end - start;
    this.busyNs += dur;
    if (dur > 0 && this.trace.active) this.trace.emit({ kind: 'work', t: start, ctx: this.name, durNs: dur, what });
  }
}
