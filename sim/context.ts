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
import type { Simulator, Timer } from './simulator.js';
import type { Trace } from './trace.js';

export type ContextKind = 'vcpu' | 'main-loop' | 'iothread' | 'vhost' | 'kernel' | 'backend';

interface Pending {
  at: number;
  seq: number;
  what: string;
  fn: () => void;
}

export class ExecutionContext {
  /** Virtual time at which the context is next free. */
  freeAt = 0;
  /** Total busy time charged so far. */
  busyNs = 0;
  /** Work waiting for the context, in the order it was asked for. */
  private readonly pending: Pending[] = [];
  private seq = 0;
  private timer: Timer | undefined;

  constructor(
    private readonly sim: Simulator,
    private readonly trace: Trace,
    readonly name: string,
    readonly kind: ContextKind,
  ) {}

  /**
   * Run `fn` on this context as soon as it is free, and not before the local time at which
   * it was asked for. Waiting work is served in the order it was asked for (by virtual
   * time, then arrival), each piece at an event time equal to its start, so nothing
   * another context does in between can see its effects early, and work that keeps
   * re-queueing itself cannot overtake work that was waiting before it.
   */
  run(what: string, fn: () => void): void {
    const w: Pending = { at: this.sim.now, seq: this.seq++, what, fn };
    const q = this.pending;
    let i = q.length;
    while (i > 0 && (q[i - 1].at > w.at || (q[i - 1].at === w.at && q[i - 1].seq > w.seq))) i--;
    q.splice(i, 0, w);
    this.arm();
  }

  /** Make sure a dispatch is scheduled for the first waiting piece of work. */
  private arm(): void {
    if (this.pending.length === 0) return;
    const t = Math.max(this.pending[0].at, this.freeAt);
    if (this.timer !== undefined && this.timer.time <= t) return;
    this.timer?.cancel();
    this.timer = this.sim.at(t, this.dispatch);
  }

  private readonly dispatch = (): void => {
    this.timer = undefined;
    const w = this.pending[0];
    if (w !== undefined && w.at <= this.sim.now && this.freeAt <= this.sim.now) {
      this.pending.shift();
      this.exec(w.what, w.fn);
    }
    this.arm();
  };

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
