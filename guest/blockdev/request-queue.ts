/**
 * A disk's request queue over blk-mq (block/blk-mq.c blk_mq_submit_bio and the paths it
 * takes). For each bio, in Linux's order:
 *
 * 1. checks (submit_bio_noacct): past the end of the device or not aligned to the
 *    logical block → BLK_STS_IOERR; discard / write-zeroes the device cannot do →
 *    BLK_STS_NOTSUPP; without a volatile write cache PREFLUSH and FUA are dropped and an
 *    empty flush completes at once;
 * 2. split to the queue limits (bio-split.ts);
 * 3. PREFLUSH / FUA bios go to the flush machinery (blk-flush.ts), bypassing plug and
 *    scheduler;
 * 4. merge into a request in the task's plug, else into one the I/O scheduler (or, with
 *    none, the CPU's software queue) holds;
 * 5. a new request: into the plug if the task holds one; else into the scheduler and
 *    the hardware queue is run; else (none) straight to the hardware queue
 *    (mq-dispatch.ts does the dispatching).
 *
 * With a scheduler, requests come from a pool of nr_requests (2 × min(queue_depth, 128)
 * per hardware queue); a bio that finds it empty waits, and the task's plug is flushed
 * as its sleep would. Completion ends the request's bios and frees it.
 */
import type { Bio } from './bio.js';
import { bioFlags, flagsText, REQ_FUA, REQ_PREFLUSH } from './bio.js';
import { checkBio } from './bio-check.js';
import { BioRef, endBio, type EndIo } from './bio-ref.js';
import { fitsLimits, splitBio } from './bio-split.js';
import { FlushQueue, flushPolicy, REQ_FSEQ_POSTFLUSH, REQ_FSEQ_PREFLUSH, type FlushHost } from './blk-flush.js';
import type { BlkMq } from './blk-mq.js';
import { elevatorGetDefault, type ElevatorHost, type SchedulerName } from './elevator.js';
import type { QueueLimits } from './limits.js';
import { bioMergeable, type MergeDir } from './merge.js';
import { MqDispatch } from './mq-dispatch.js';
import { flushRequest, requestFromBio, type MqRequest } from './mq-request.js';
import { currentPlug, type PluggableQueue, type PlugFlushReason } from './plug.js';
import type { BlkMqOps, BlkRequest, BlkStatus } from './request.js';
import { BLK_DEFAULT_TIMEOUT_MS, RequestTimeouts } from './rq-timeout.js';
import { segmentCount } from './sg.js';
import { virtualScheduler } from '../../sim/scheduler.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { Task } from '../kernel/task.js';

/** BLKDEV_DEFAULT_RQ: the scheduler's request pool is twice min(queue_depth, this) per hardware queue. */
export const BLKDEV_DEFAULT_RQ = 128;

export interface RequestQueueSpec {
  name: string;
  capacitySectors: number;
  limits: QueueLimits;
  /** The driver's blk-mq core (tags, hardware queues, queue_rq). */
  blk: BlkMq;
  /** The driver's operations, for its `timeout` handler (none: timers are reset). */
  ops?: BlkMqOps;
  /** Default: elevator_get_default. */
  scheduler?: SchedulerName;
  /** /sys/block/<dev>/queue/io_timeout; default 30 s. */
  timeoutMs?: number;
}

export class RequestQueue implements PluggableQueue, ElevatorHost, FlushHost {
  readonly name: string;
  readonly limits: QueueLimits;
  readonly capacitySectors: number;
  readonly nrHwQueues: number;
  readonly timeouts: RequestTimeouts;
  private readonly hw: MqDispatch;
  private readonly blk: BlkMq;
  private readonly ops: BlkMqOps | undefined;
  private readonly flushQs: FlushQueue[];
  private bioSeq = 0;
  /** Requests allocated and not yet freed. */
  private inUse = 0;
  /** Bios waiting for a request from the scheduler's pool, with their CPU. */
  private readonly waiters: { b: BioRef; cpu: number }[] = [];

  constructor(
    private readonly k: GuestKernel,
    spec: RequestQueueSpec,
  ) {
    this.name = spec.name;
    this.limits = spec.limits;
    this.capacitySectors = spec.capacitySectors;
    this.blk = spec.blk;
    this.ops = spec.ops;
    this.nrHwQueues = spec.blk.opts.nrHwQueues;
    this.flushQs = Array.from({ length: this.nrHwQueues }, () => new FlushQueue(this));
    this.timeouts = new RequestTimeouts(virtualScheduler(k.clock), () => k.clock.now, spec.timeoutMs ?? BLK_DEFAULT_TIMEOUT_MS, this.expired);
    this.hw = new MqDispatch(k, spec.blk, this, this.timeouts, spec.scheduler ?? elevatorGetDefault(this.nrHwQueues));
  }

  get scheduler(): SchedulerName {
    return this.hw.scheduler;
  }

  /** The scheduler's tunables (/sys/block/<dev>/queue/iosched/), empty for none. */
  get tunables(): Record<string, number> {
    return this.hw.elevator?.tunables ?? {};
  }

  /** nr_requests: the request pool with a scheduler (without one, the driver tags bound requests). */
  get nrRequests(): number {
    return this.hw.elevator ? this.nrHwQueues * 2 * Math.min(this.blk.opts.queueDepth, BLKDEV_DEFAULT_RQ) : Infinity;
  }

  now(): number {
    return this.k.clock.now;
  }

  // ---- submission ----

  /** submit_bio: `endIo` runs once with the bio's status (at once for a refused bio or an empty flush without a cache). */
  submit(task: Task, bio: Bio, endIo: EndIo): void {
    const { sim, costs, trace } = this.k;
    sim.advance(costs.ns('guest.blk.bio'));
    const id = this.bioSeq++;
    let flags = bioFlags(bio);
    if (trace.active) trace.emit({ kind: 'bio', t: sim.now, dev: this.name, bio: id, task: task.pid, op: bio.op, sector: bio.sector, sectors: bio.sectors, flags: flagsText(flags) });
    const refused = checkBio(this.name, bio, this.capacitySectors, this.limits);
    if (refused !== undefined) return endIo(refused);
    if (flags & (REQ_PREFLUSH | REQ_FUA) && !this.limits.writeCache) flags &= ~(REQ_PREFLUSH | REQ_FUA);
    if (bio.sectors === 0 && !(flags & REQ_PREFLUSH)) return endIo('ok');
    const nrSegs = bio.op === 'read' || bio.op === 'write' ? segmentCount(bio.segments, this.limits.maxSegmentSize) : 0;
    const b = new BioRef(id, bio.op, bio.sector, bio.sectors, bio.segments, nrSegs, flags, undefined, endIo);
    if (fitsLimits(b, this.limits)) return this.submitOne(task, b);
    const parts = splitBio(b, this.limits);
    if (trace.active) trace.emit({ kind: 'bio-split', t: sim.now, dev: this.name, bio: id, parts: parts.length });
    for (const p of parts) {
      sim.advance(costs.ns('guest.blk.split'));
      this.submitOne(task, p);
    }
  }

  /** blk_mq_submit_bio for a bio that fits the limits. */
  private submitOne(task: Task, b: BioRef): void {
    const cpu = task.cpu.index;
    if (b.flags & (REQ_PREFLUSH | REQ_FUA)) return this.submitFlush(b, cpu);
    const plug = currentPlug(task);
    const el = this.hw.elevator;
    if (bioMergeable(b)) {
      const costs = this.k.costs;
      if (plug !== undefined && plug.count > 0) {
        this.k.sim.advance(costs.ns('guest.blk.merge'));
        if (plug.tryMerge(this, b)) return;
      }
      if (el ? el.hasWork() : this.hw.swq.busy(cpu)) {
        this.k.sim.advance(costs.ns('guest.blk.merge'));
        if (el ? el.bioMerge(b) : this.hw.swq.merge(this.limits, cpu, b, (rq, dir) => this.merged(rq, dir, 'bio', b.sectors))) return;
      }
    }
    if (el && (this.inUse >= this.nrRequests || this.waiters.length > 0)) {
      // blk_mq_get_tag would sleep: the task's plug is flushed as schedule() does.
      this.waiters.push({ b, cpu });
      plug?.flushAll('wait');
      return;
    }
    const rq = this.allocRequest(b, cpu);
    if (plug !== undefined) plug.add(rq);
    else if (el) {
      this.hw.insert(rq);
      this.hw.runHwQueue(rq.hwq);
    } else this.hw.issueOne(rq);
  }

  private submitFlush(b: BioRef, cpu: number): void {
    const rq = this.allocRequest(b, cpu);
    const policy = flushPolicy(this.limits, rq);
    if (policy & (REQ_FSEQ_PREFLUSH | REQ_FSEQ_POSTFLUSH)) this.flushQs[rq.hwq].insert(rq, policy);
    else this.hw.issueOne(rq); // FUA data on a device that does FUA: bypass the scheduler.
  }

  private allocRequest(b: BioRef, cpu: number): MqRequest {
    const { sim, costs, trace } = this.k;
    sim.advance(costs.ns('guest.blk.submit'));
    const rq = requestFromBio(this, this.blk.newId(), b, cpu, this.hw.hwqOf(cpu), sim.now, this.rqDone);
    this.inUse++;
    if (trace.active) trace.emit({ kind: 'rq-alloc', t: sim.now, dev: this.name, tag: rq.id, op: rq.op, sector: rq.sector, sectors: rq.sectors, cpu });
    return rq;
  }

  // ---- plug and scheduler callbacks ----

  plugMerged(rq: MqRequest, dir: MergeDir, b: BioRef): void {
    const { sim, trace } = this.k;
    if (trace.active) trace.emit({ kind: 'merge', t: sim.now, dev: this.name, tag: rq.id, where: 'plug', dir, what: 'bio', sectors: b.sectors });
  }

  merged(rq: MqRequest, dir: MergeDir, what: 'bio' | 'rq', sectors: number): void {
    const { sim, trace } = this.k;
    if (trace.active) trace.emit({ kind: 'merge', t: sim.now, dev: this.name, tag: rq.id, where: 'sched', dir, what, sectors });
  }

  /** blk_mq_flush_plug_list for this queue's requests; from schedule(), the hardware queue runs later, from kblockd. */
  plugFlushed(rqs: MqRequest[], reason: PlugFlushReason, task: Task): void {
    const { sim, trace } = this.k;
    if (trace.active) trace.emit({ kind: 'plug-flush', t: sim.now, dev: this.name, task: task.pid, requests: rqs.length, reason });
    this.hw.insertPlugged(rqs, reason === 'schedule' || reason === 'wait', task.cpu);
  }

  /** Run hardware queue `hwq` now (blk_mq_run_hw_queue). */
  runHwQueue(hwq: number): void {
    this.hw.runHwQueue(hwq);
  }

  // ---- completion ----

  /** The driver completed a request: end its bios, free it (blk_mq_end_request). */
  private readonly rqDone = (status: BlkStatus, brq: BlkRequest): void => {
    const rq = brq as MqRequest;
    this.timeouts.untrack(rq);
    this.end(rq, status);
  };

  end(rq: MqRequest, status: BlkStatus): void {
    for (const b of rq.bios) endBio(b, status);
    this.release(rq);
  }

  /** Free a request; a bio waiting for one gets it. */
  release(_rq: MqRequest): void {
    this.inUse--;
    if (this.waiters.length > 0 && this.inUse < this.nrRequests) this.serveWaiters();
  }

  private serveWaiters(): void {
    const touched = new Set<number>();
    while (this.waiters.length > 0 && this.inUse < this.nrRequests) {
      const { b, cpu } = this.waiters.shift()!;
      const rq = this.allocRequest(b, cpu);
      if (this.hw.elevator) {
        this.hw.insert(rq);
        touched.add(rq.hwq);
      } else this.hw.issueOne(rq);
    }
    for (const h of touched) this.hw.runAsync(h, this.k.current);
  }

  private readonly expired = (rq: MqRequest): void => {
    const action = this.ops?.timeout?.(rq.hwq, rq) ?? 'reset-timer';
    if (action === 'reset-timer') rq.timerFrom = this.k.clock.now;
    const { sim, trace } = this.k;
    if (trace.active) trace.emit({ kind: 'rq-timeout', t: sim.now, dev: this.name, tag: rq.id, action });
  };

  // ---- flush machinery host ----

  issue(rq: MqRequest): void {
    this.hw.issueOne(rq);
  }

  newFlushRequest(first: MqRequest, done: (status: BlkStatus, rq: BlkRequest) => void): MqRequest {
    this.k.sim.advance(this.k.costs.ns('guest.blk.flush'));
    return flushRequest(this, this.blk.newId(), first.cpu, first.hwq, this.k.sim.now, done);
  }

  flushIssued(flushRq: MqRequest, waiting: number): void {
    const { sim, trace } = this.k;
    if (trace.active) trace.emit({ kind: 'flush', t: sim.now, dev: this.name, tag: flushRq.id, hwq: flushRq.hwq, waiting });
  }

  retired(rq: MqRequest): void {
    this.timeouts.untrack(rq);
  }

  /** echo <name> > /sys/block/<dev>/queue/scheduler */
  setScheduler(name: SchedulerName): void {
    this.hw.switchTo(name);
    if (this.waiters.length > 0) this.serveWaiters();
  }
}
