/**
 * The multi-queue block layer, as much of it as a driver-facing block device needs
 * (block/blk-mq.c): a tag set of `queueDepth` tags per hardware queue, software queues
 * per CPU mapped onto hardware queues, dispatch of a batch with `last` on its final
 * request, requeue and queue stop on BLK_STS_DEV_RESOURCE, restart after completions.
 * (Plugging, merging and I/O schedulers are the guest storage stack's next layer.)
 */
import type { Clock } from '../../sim/clock.js';
import type { CostModel } from '../../sim/costs.js';
import type { Simulator } from '../../sim/simulator.js';
import type { Trace } from '../../sim/trace.js';
import type { BlkIo, BlkMqOps, BlkRequest, BlkStatus } from './request.js';

interface HwQueue {
  freeTags: number[];
  /** Requests that have a tag but the driver has not taken yet (hctx->dispatch). */
  dispatch: BlkRequest[];
  /** Requests waiting for a tag. */
  waiting: BlkRequest[];
  stopped: boolean;
  /** Inside run(): a completion during dispatch must not re-enter it. */
  running: boolean;
}

export interface BlkMqOptions {
  name: string;
  nrHwQueues: number;
  queueDepth: number;
  /** Map a CPU to its hardware queue (blk_mq_map_queues). */
  cpuToHwq(cpu: number): number;
  /** The guest's time, which request timeouts count (default: the simulator's). */
  clock?: Clock;
}

export class BlkMq {
  private readonly hwqs: HwQueue[];
  private ops: BlkMqOps | undefined;
  private tagBase = 0;
  /** Called when a completion frees a tag nobody was waiting for (the I/O scheduler's restart). */
  private tagFreed: ((hwq: number) => void) | undefined;
  /* Costs charged per request, looked up once. */
  private readonly submitNs: number;
  private readonly completeNs: number;
  /** The time request timeouts count (the guest's clock, or the simulator's). */
  private readonly clock: Clock;

  constructor(
    private readonly sim: Simulator,
    private readonly trace: Trace,
    private readonly costs: CostModel,
    readonly opts: BlkMqOptions,
  ) {
    this.submitNs = costs.ns('guest.blk.submit');
    this.completeNs = costs.ns('guest.blk.complete');
    this.clock = opts.clock ?? sim;
    this.hwqs = Array.from({ length: opts.nrHwQueues }, () => ({
      freeTags: Array.from({ length: opts.queueDepth }, (_, i) => opts.queueDepth - 1 - i),
      dispatch: [],
      waiting: [],
      stopped: false,
      running: false,
    }));
  }

  setOps(ops: BlkMqOps): void {
    this.ops = ops;
  }

  /** A fresh request id, for requests the block layer builds before they reach blk-mq. */
  newId(): number {
    return this.tagBase++;
  }

  /** Driver tags free on hardware queue `hwq`. */
  freeTagCount(hwq: number): number {
    return this.hwqs[hwq].freeTags.length;
  }

  /** The driver stopped `hwq` (BLK_STS_DEV_RESOURCE) and has not restarted it. */
  isStopped(hwq: number): boolean {
    return this.hwqs[hwq].stopped;
  }

  /** Install the hook run after a completion frees a tag no waiting request took (SCHED_RESTART). */
  onTagFreed(fn: ((hwq: number) => void) | undefined): void {
    this.tagFreed = fn;
  }

  /**
   * Issue requests the block layer built (from merged bios, by the I/O scheduler or the
   * flush machinery) on hardware queue `hwq`: each gets a tag or waits for one, and the
   * batch is dispatched together, the last one marked. Each request's `id` must come
   * from `newId()`, its `hwq` must be `hwq` and its `tag` -1.
   */
  issue(hwq: number, rqs: readonly BlkRequest[]): void {
    const q = this.hwqs[hwq];
    for (const rq of rqs) this.enqueue(q, rq);
    this.run(hwq);
  }

  /** The request enters its hardware queue: traced, then a tag (dispatch list) or the wait for one. */
  private enqueue(q: HwQueue, rq: BlkRequest): void {
    if (this.trace.active) this.trace.emitIoSubmit(this.sim.now, this.opts.name, rq.id, rq.op, rq.sector, rq.sectors);
    const tag = q.freeTags.pop();
    if (tag === undefined) q.waiting.push(rq);
    else {
      rq.tag = tag;
      q.dispatch.push(rq);
    }
  }

  /**
   * Submit a batch of I/Os from `cpu` (one io_submit, one plug): each gets a tag on the
   * CPU's hardware queue and the batch is dispatched together, the last one marked.
   */
  submit(cpu: number, ios: readonly BlkIo[], done: (status: BlkStatus, rq: BlkRequest) => void): void {
    const hwq = this.opts.cpuToHwq(cpu) % this.hwqs.length;
    const q = this.hwqs[hwq];
    for (const io of ios) {
      this.sim.advance(this.submitNs);
      const rq: BlkRequest = {
        op: io.op,
        sector: io.sector,
        sectors: io.sectors,
        sg: io.sg,
        unmap: io.unmap,
        fua: io.fua,
        id: this.tagBase++,
        tag: -1,
        hwq,
        submittedAt: this.sim.now,
        // Present from the start, so every request has one shape.
        startedAt: undefined,
        resultLen: 0,
        done,
      };
      this.enqueue(q, rq);
    }
    this.run(hwq);
  }

  /** blk_mq_run_hw_queue: hand the dispatch list to the driver, marking the last one. */
  run(hwq: number): void {
    const q = this.hwqs[hwq];
    const ops = this.ops!;
    if (q.stopped || q.running || q.dispatch.length === 0) return;
    q.running = true;
    // Requests the driver queued since it was last told to kick (blk_mq_dispatch_rq_list's `queued`).
    let queuedWithoutLast = false;
    let lastStatus: BlkStatus = 'ok';
    while (q.dispatch.length > 0) {
      const rq = q.dispatch[0];
      const last = q.dispatch.length === 1;
      if (this.trace.active) this.trace.emit({ kind: 'io-dispatch', t: this.sim.now, dev: this.opts.name, tag: rq.id, hwq, last });
      const st = ops.queueRq(hwq, rq, last);
      lastStatus = st;
      if (st === 'resource') {
        q.stopped = true;
        break;
      }
      q.dispatch.shift();
      if (st !== 'ok') this.finish(rq, st);
      else {
        rq.startedAt = this.clock.now;
        queuedWithoutLast = !last;
      }
    }
    q.running = false;
    // The batch ended without the driver seeing `last` on a request it accepted: let it kick.
    if (queuedWithoutLast && lastStatus !== 'ok') ops.commitRqs(hwq);
  }

  /** The driver completed `rq` (from its interrupt handler). */
  complete(rq: BlkRequest, status: BlkStatus): void {
    this.sim.advance(this.completeNs);
    this.finish(rq, status);
  }

  private finish(rq: BlkRequest, status: BlkStatus): void {
    const q = this.hwqs[rq.hwq];
    if (this.trace.active) this.trace.emitIoComplete(this.sim.now, this.opts.name, rq.id, rq.op, status, this.sim.now - rq.submittedAt);
    q.freeTags.push(rq.tag);
    const next = q.waiting.shift();
    if (next) {
      // The task waiting for a tag gets this one and issues its request.
      next.tag = q.freeTags.pop()!;
      q.dispatch.push(next);
    }
    rq.done(status, rq);
    if (next) this.run(rq.hwq);
    else this.tagFreed?.(rq.hwq);
  }

  /** blk_mq_start_stopped_hw_queues: the driver has room again. */
  startStoppedQueues(): void {
    for (let i = 0; i < this.hwqs.length; i++) {
      const q = this.hwqs[i];
      if (q.stopped) {
        q.stopped = false;
        this.run(i);
      } else if (q.dispatch.length > 0) this.run(i);
    }
  }
}
