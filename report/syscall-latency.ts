/**
 * System-call latencies by name over the measured window, from the `syscall` trace
 * events: a call's latency is the virtual time from its `enter` to its `exit` event (a
 * task is in one call at a time). `Metrics` keeps the sums; this keeps each latency, so a
 * report can give percentiles. Like `Metrics`, it starts again at each `phase: run` and
 * stops at `phase: done`; a call that entered before the window and returns in it counts.
 * It listens for those two kinds only, so the trace keeps its fast paths (events nobody
 * reads left unbuilt, Metrics' direct handlers) for every other kind.
 */
import { syscallTime } from '../sim/metrics.js';
import { sinkOf, type TraceSink } from '../sim/trace.js';

export class SyscallLatencies {
  private inWindow = false;
  private readonly entered = new Map<number, number>();
  /** Latencies (ns) of the calls that returned in the window, by name. */
  byName = new Map<string, number[]>();

  /** The list of the last name a call returned with (calls of one name come in long runs). */
  private lastName: string | undefined;
  private lastList: number[] = [];

  private syscall(t: number, pid: number, name: string, phase: 'enter' | 'exit'): void {
    const time = syscallTime(this.entered, t, pid, phase);
    if (!this.inWindow || time === undefined) return;
    let list = name === this.lastName ? this.lastList : this.byName.get(name);
    if (!list) this.byName.set(name, (list = []));
    this.lastName = name;
    this.lastList = list;
    list.push(time);
  }

  /** The `syscall` events' fields are all it needs: the trace may hand them over without an event (`DirectHandlers`). */
  readonly sink: TraceSink = sinkOf(
    {
      phase: (e) => {
        if (e.name === 'run') {
          this.inWindow = true;
          this.byName = new Map();
          this.lastName = undefined;
        } else if (e.name === 'done') this.inWindow = false;
      },
      syscall: (e) => this.syscall(e.t, e.pid, e.name, e.phase),
    },
    { syscall: (t, pid, name, phase) => this.syscall(t, pid, name, phase) },
  );
}
