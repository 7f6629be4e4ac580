/**
 * Request timeouts (block/blk-timeout.c, blk-mq.c blk_mq_timeout_work): a request's
 * clock starts when the driver takes it (blk_mq_start_request); one timer per queue,
 * armed for the earliest deadline, scans the requests in flight when it fires. An
 * expired request goes to the driver's `timeout` handler; without one (virtio-blk has
 * none) the timer is reset (BLK_EH_RESET_TIMER), so such a request never completes
 * with a timeout — it just waits, as Linux's would, for the device.
 *
 * The timer runs on the simulation's rxjs scheduler. It is armed when the first request
 * goes out and re-armed when it fires with requests still in flight; a queue that went
 * idle keeps its armed timer until it fires (as Linux's q->timeout does), so running
 * the simulation until nothing is left reaches it, up to one timeout after the last I/O.
 */
import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import { NS_PER_MS } from '../../sim/scheduler.js';
import type { MqRequest } from './mq-request.js';

/** The default request timeout: 30 s (blk_queue_rq_timeout default, /sys/block/<dev>/queue/io_timeout). */
export const BLK_DEFAULT_TIMEOUT_MS = 30_000;

/** The links a tracked request carries (an intrusive list: no allocation, O(1) both ways). */
export interface TimeoutLinks {
  tPrev: MqRequest | undefined;
  tNext: MqRequest | undefined;
  tracked: boolean;
}

export class RequestTimeouts {
  private head: MqRequest | undefined;
  private tail: MqRequest | undefined;
  private count = 0;
  private armed: Subscription | undefined;
  private timeoutNs: number;

  constructor(
    private readonly scheduler: SchedulerLike,
    /** Virtual time now, in ns. */
    private readonly now: () => number,
    timeoutMs: number,
    /** Called for each request whose deadline has passed. */
    private readonly expired: (rq: MqRequest) => void,
  ) {
    this.timeoutNs = timeoutMs * NS_PER_MS;
  }

  get timeoutMs(): number {
    return this.timeoutNs / NS_PER_MS;
  }

  set timeoutMs(ms: number) {
    if (!(ms > 0)) throw new Error(`request timeout must be positive, got ${ms} ms`);
    this.timeoutNs = ms * NS_PER_MS;
  }

  get inFlight(): number {
    return this.count;
  }

  /** A request left for the driver. */
  track(rq: MqRequest): void {
    if (rq.tracked) return;
    rq.tracked = true;
    rq.tPrev = this.tail;
    rq.tNext = undefined;
    if (this.tail) this.tail.tNext = rq;
    else this.head = rq;
    this.tail = rq;
    this.count++;
    if (this.armed === undefined) this.arm(this.timeoutNs);
  }

  /** A request came back from the driver. */
  untrack(rq: MqRequest): void {
    if (!rq.tracked) return;
    rq.tracked = false;
    if (rq.tPrev) rq.tPrev.tNext = rq.tNext;
    else this.head = rq.tNext;
    if (rq.tNext) rq.tNext.tPrev = rq.tPrev;
    else this.tail = rq.tPrev;
    rq.tPrev = rq.tNext = undefined;
    this.count--;
  }

  private arm(delayNs: number): void {
    this.armed = timer(delayNs / NS_PER_MS, this.scheduler).subscribe(() => this.fire());
  }

  /** blk_mq_timeout_work: expire what is due, re-arm for the earliest deadline left. */
  private fire(): void {
    this.armed = undefined;
    const now = this.now();
    let next = Infinity;
    for (let rq = this.head; rq !== undefined; ) {
      const after = rq.tNext;
      const started = rq.startedAt;
      // Waiting for a tag or a dispatch: its clock has not started.
      const from = started === undefined ? now : Math.max(started, rq.timerFrom);
      const deadline = from + this.timeoutNs;
      if (deadline <= now) {
        this.expired(rq);
        if (rq.tracked) next = Math.min(next, Math.max(rq.timerFrom, now) + this.timeoutNs);
      } else next = Math.min(next, deadline);
      rq = rq.tracked ? rq.tNext : after;
    }
    if (this.count > 0) this.arm(Number.isFinite(next) ? Math.max(0, next - now) : this.timeoutNs);
  }
}
