/**
 * System-call latencies by name over the measured window, from the `syscall` trace
 * events: a call's latency is the virtual time from its `enter` to its `exit` event (a
 * task is in one call at a time). `Metrics` keeps the sums; this keeps each latency, so a
 * report can give percentiles. Like `Metrics`, it starts again at each `phase: run` and
 * stops at `phase: done`; a call that entered before the window and returns in it counts.
 */
import type { TraceEvent, TraceSink } from '../sim/trace.js';

export class SyscallLatencies {
  private inWindow = false;
  private readonly entered = new Map<number, number>();
  /** Latencies (ns) of the calls that returned in the window, by name. */
  byName = new Map<string, number[]>();

  readonly sink: TraceSink = (e: TraceEvent) => {
    if (e.kind === 'phase') {
      if (e.name === 'run') {
        this.inWindow = true;
        this.byName = new Map();
      } else if (e.name === 'done') this.inWindow = false;
      return;
    }
    if (e.kind !== 'syscall') return;
    if (e.phase === 'enter') {
      this.entered.set(e.pid, e.t);
      return;
    }
    const start = this.entered.get(e.pid);
    this.entered.delete(e.pid);
    if (!this.inWindow || start === undefined) return;
    let list = this.byName.get(e.name);
    if (!list) this.byName.set(e.name, (list = []));
    list.push(e.t - start);
  };
}
