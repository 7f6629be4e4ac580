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
 *
 * `pause()` stops the thread between pieces of work (QEMU's pause_all_vcpus when the VM
 * stops): what is asked of it meanwhile waits, in order, until `resume()`.
 */
import type { Simulator, Timer } from './simulator.js';
import type { Trace } from './trace.js';

export type ContextKind = 'vcpu' | 'main-loop' | 'iothread' | 'vhost' | 'kernel' | 'backend';

interface Pending {
  at: number;
  seq: number;
  what: string;
  fn: () => void;
  pre: (() => void) | undefined;
}

/** Spare Pending records are kept for reuse, at most this many per context. */
const SPARE_MAX = 64;

const noop = (): void => undefined;

export class ExecutionContext {
  /** Virtual time at which the context is next free. */
  freeAt = 0;
  /** Total busy time charged so far. */
  busyNs = 0;
  /** Work waiting for the context, in the order it was asked for. */
  private readonly pending: Pending[] = [];
  /** Pending records done with, reused by `run` (work is queued once per guest step: no allocation for it). */
  private readonly spare: Pending[] = [];
  private seq = 0;
  private timer: Timer | undefined;
  private stopped = false;

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
   *
   * `pre`, when given, runs just before `fn` inside the same span (a caller's fixed prologue,
   * passed separately so that it need not wrap `fn` in a new closure).
   */
  run(what: string, fn: () => void, pre?: () => void): void {
    const at = this.sim.now;
    const seq = this.seq++;
    let w = this.spare.pop();
    if (w === undefined) w = { at, seq, what, fn, pre };
    else {
      w.at = at;
      w.seq = seq;
      w.what = what;
      w.fn = fn;
      w.pre = pre;
    }
    const q = this.pending;
    let i = q.length;
    // seq only grows, so the new piece goes behind every piece asked for at or before `at`.
    while (i > 0 && q[i - 1].at > at) i--;
    if (i === q.length) q.push(w);
    else q.splice(i, 0, w);
    this.arm();
  }

  /** Stop taking work (the piece running, if any, finishes): see above. */
  pause(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Take work again: what waited runs in the order it was asked for, from now on. */
  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm();
  }

  get paused(): boolean {
    return this.stopped;
  }

  /** Make sure a dispatch is scheduled for the first waiting piece of work. */
  private arm(): void {
    if (this.pending.length === 0 || this.stopped) return;
    const t = Math.max(this.pending[0].at, this.freeAt);
    if (this.timer !== undefined && this.timer.time <= t) return;
    this.timer?.cancel();
    // The handle is dropped when the dispatch runs or is cancelled, as `post` requires.
    this.timer = this.sim.post(t, this.dispatch);
  }

  private readonly dispatch = (): void => {
    this.timer = undefined;
    const w = this.pending[0];
    if (w !== undefined && w.at <= this.sim.now && this.freeAt <= this.sim.now) {
      this.pending.shift();
      const { what, fn, pre } = w;
      w.fn = noop;
      w.pre = undefined;
      if (this.spare.length < SPARE_MAX) this.spare.push(w);
      this.exec(what, fn, pre);
    }
    this.arm();
  };

  /** Run `fn` now, inline, as work of this context (the caller is already at the right time). */
  exec(what: string, fn: () => void, pre?: () => void): void {
    this.sim.advanceTo(this.freeAt);
    const start = this.sim.now;
    if (pre !== undefined) pre();
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
    if (dur > 0 && this.trace.active) this.trace.emitWork(start, this.name, dur, what);
  }
}
