/**
 * The discrete-event kernel: a virtual clock in integer nanoseconds and a heap of
 * timed callbacks. Nothing here reads the wall clock.
 *
 * Two notions of "now":
 * - the *event time*: the time of the event being dispatched; the heap never goes back
 *   behind it;
 * - the *local time* (`now`): work running inside an event (a vCPU executing guest code,
 *   QEMU handling an exit) advances it with `advance()` as it is charged modelled costs.
 *   Anything that work schedules "now" lands at its local time. Between events the two
 *   are equal. This is temporal decoupling: one callback models a stretch of CPU time
 *   without a heap operation per instruction.
 */
import { TimeHeap, type HeapEntry } from './heap.js';

class Scheduled implements HeapEntry, Timer {
  cancelled = false;
  /** Made by `post`: recycled once it has run or been skipped. */
  pooled = false;
  constructor(
    public time: number,
    public seq: number,
    public fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

const noop = (): void => undefined;

/** Spare entries kept for `post`. */
const SPARE_MAX = 1024;

/** A handle to a scheduled callback. */
export interface Timer {
  readonly time: number;
  cancel(): void;
}

export class Simulator {
  private readonly heap = new TimeHeap<Scheduled>();
  private seq = 0;
  private eventTime = 0;
  private localTime = 0;
  private dispatched = 0;
  private readonly spare: Scheduled[] = [];

  /** The current virtual time in nanoseconds (local time inside running work). */
  get now(): number {
    return this.localTime;
  }

  /** How many events have been dispatched so far. */
  get eventsDispatched(): number {
    return this.dispatched;
  }

  /** Number of callbacks still waiting. */
  get pending(): number {
    return this.heap.size;
  }

  /** Charge `ns` of modelled time to the work now running. */
  advance(ns: number): void {
    if (!(ns >= 0)) throw new Error(`simulator: cannot advance by ${ns} ns`);
    this.localTime += Math.round(ns);
  }

  /** Move local time forward to `t` if it is later (waiting for a resource). */
  advanceTo(t: number): void {
    if (t > this.localTime) this.localTime = t;
  }

  /** Run `fn` at absolute virtual time `at` (not before the current event time). */
  at(at: number, fn: () => void): Timer {
    const time = Math.max(Math.round(at), this.eventTime);
    const entry = new Scheduled(time, this.seq++, fn);
    this.heap.push(entry);
    return entry;
  }

  /**
   * Like `at`, for callers that keep no handle past its use: the returned handle may be
   * cancelled only until `fn` runs, and must not be touched after it runs or is
   * cancelled, because the entry is then reused. Nothing is allocated per event.
   */
  post(at: number, fn: () => void): Timer {
    const time = Math.max(Math.round(at), this.eventTime);
    const seq = this.seq++;
    let entry = this.spare.pop();
    if (entry === undefined) entry = new Scheduled(time, seq, fn);
    else {
      entry.time = time;
      entry.seq = seq;
      entry.fn = fn;
    }
    entry.pooled = true;
    this.heap.push(entry);
    return entry;
  }

  /** `post` at `delayNs` after the current local time. */
  postAfter(delayNs: number, fn: () => void): Timer {
    return this.post(this.localTime + Math.max(0, delayNs), fn);
  }

  private recycle(e: Scheduled): void {
    e.fn = noop;
    e.cancelled = false;
    if (this.spare.length < SPARE_MAX) this.spare.push(e);
  }

  /** Run `fn` `delayNs` after the current local time. */
  after(delayNs: number, fn: () => void): Timer {
    return this.at(this.localTime + Math.max(0, delayNs), fn);
  }

  /** Dispatch one event. Returns false when nothing is left. */
  step(): boolean {
    for (;;) {
      const e = this.heap.pop();
      if (!e) return false;
      if (e.cancelled) {
        if (e.pooled) this.recycle(e);
        continue;
      }
      this.eventTime = e.time;
      this.localTime = e.time;
      this.dispatched++;
      const fn = e.fn;
      if (e.pooled) this.recycle(e);
      fn();
      this.localTime = this.eventTime;
      return true;
    }
  }

  /**
   * Dispatch events until the heap is empty, `until` (absolute ns) is reached, or
   * `stop()` returns true. Returns the number of events dispatched.
   */
  run(opts: { until?: number; stop?: () => boolean; maxEvents?: number } = {}): number {
    const until = opts.until ?? Infinity;
    const max = opts.maxEvents ?? Infinity;
    let n = 0;
    while (n < max) {
      if (opts.stop?.()) break;
      const next = this.heap.peek();
      if (!next) break;
      if (next.time > until) {
        this.eventTime = this.localTime = Math.max(this.eventTime, until);
        break;
      }
      if (this.step()) n++;
    }
    return n;
  }
}
