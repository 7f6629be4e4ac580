/**
 * The dispatch half of a request queue (block/blk-mq-sched.c and blk-mq.c's hardware
 * queue runs): inserting requests into the I/O scheduler or the software queues,
 * running a hardware queue — now, or later from kblockd — and handing requests to
 * blk-mq with their timeout clocks, and switching schedulers.
 *
 * Running a hardware queue with a scheduler takes as many requests from it as there are
 * free driver tags and hands them to blk-mq as one batch (`last` on the final one); a
 * completion that frees a tag restarts the queue asynchronously (SCHED_RESTART, run by
 * kblockd). Without a scheduler, what waits in the software queues goes out together.
 */
import type { BlkMq } from './blk-mq.js';
import { ELEVATORS, type Elevator, type ElevatorHost, type SchedulerName } from './elevator.js';
import { prepareForDriver, type MqRequest } from './mq-request.js';
import type { RequestTimeouts } from './rq-timeout.js';
import { SoftwareQueues } from './sw-queues.js';
import type { GuestCpu } from '../kernel/cpu.js';
import type { GuestKernel } from '../kernel/kernel.js';

export class MqDispatch {
  elevator: Elevator | undefined;
  /** Per-CPU software queues (blk_mq_ctx): requests waiting for an asynchronous run, without a scheduler. */
  readonly swq: SoftwareQueues;
  readonly nrHwQueues: number;
  private readonly runPending: boolean[];
  /** A one-request list, reused for the common single-request issue. */
  private readonly one: MqRequest[] = [];

  constructor(
    private readonly k: GuestKernel,
    private readonly blk: BlkMq,
    /** The queue: its name, limits, and the scheduler's callbacks. */
    private readonly host: ElevatorHost & { readonly name: string },
    private readonly timeouts: RequestTimeouts,
    scheduler: SchedulerName,
  ) {
    this.nrHwQueues = blk.opts.nrHwQueues;
    this.swq = new SoftwareQueues(k.cpus.length, (cpu) => this.hwqOf(cpu));
    this.runPending = Array.from({ length: this.nrHwQueues }, () => false);
    this.elevator = this.makeElevator(scheduler);
    blk.onTagFreed((hwq) => {
      if (this.elevator?.hasWork()) this.runAsync(hwq, this.k.current);
    });
  }

  get scheduler(): SchedulerName {
    return this.elevator?.name ?? 'none';
  }

  /** The hardware queue CPU `cpu` submits to (blk_mq_map_queues). */
  hwqOf(cpu: number): number {
    return this.blk.opts.cpuToHwq(cpu) % this.nrHwQueues;
  }

  /** blk_mq_sched_insert_request. */
  insert(rq: MqRequest): void {
    const { sim, costs, trace } = this.k;
    sim.advance(costs.ns('guest.blk.sched.insert'));
    if (this.elevator!.insert(rq, false) && trace.active) trace.emit({ kind: 'sched', t: sim.now, dev: this.host.name, sched: this.scheduler, tag: rq.id, action: 'insert' });
  }

  /** blk_mq_flush_plug_list's second half: a plug's requests for this queue; `async` when the task is going to sleep. */
  insertPlugged(rqs: MqRequest[], async: boolean, cpu: GuestCpu): void {
    if (this.elevator) {
      for (const rq of rqs) this.insert(rq);
      for (let h = 0; h < this.nrHwQueues; h++) if (rqs.some((r) => r.hwq === h)) (async ? this.runAsync(h, cpu) : this.runHwQueue(h));
    } else if (async) {
      for (const rq of rqs) this.swq.add(rq);
      this.runAsync(rqs[0].hwq, cpu);
    } else if (rqs.every((r) => r.hwq === rqs[0].hwq)) this.issueList(rqs[0].hwq, rqs);
    else for (let h = 0; h < this.nrHwQueues; h++) this.issueList(h, rqs.filter((r) => r.hwq === h));
  }

  /** blk_mq_run_hw_queue, run later on `cpu` (kblockd). */
  runAsync(hwq: number, cpu: GuestCpu): void {
    if (this.runPending[hwq]) return;
    this.runPending[hwq] = true;
    cpu.schedule(`kblockd: run ${this.host.name} hctx${hwq}`, () => {
      this.runPending[hwq] = false;
      this.runHwQueue(hwq);
    });
  }

  /** blk_mq_run_hw_queue: move what waits (software queues, or the scheduler up to the free driver tags) to blk-mq. */
  runHwQueue(hwq: number): void {
    const el = this.elevator;
    if (el === undefined) {
      this.issueList(hwq, this.swq.take(hwq));
      return;
    }
    if (this.blk.isStopped(hwq)) return;
    const { sim, costs, trace } = this.k;
    const batch: MqRequest[] = [];
    for (let free = this.blk.freeTagCount(hwq); batch.length < free; ) {
      const rq = el.dispatch();
      if (rq === undefined) break;
      sim.advance(costs.ns('guest.blk.sched.dispatch'));
      if (trace.active) trace.emit({ kind: 'sched', t: sim.now, dev: this.host.name, sched: el.name, tag: rq.id, action: 'dispatch' });
      rq.hwq = hwq;
      batch.push(rq);
    }
    if (batch.length > 0) this.issueList(hwq, batch);
  }

  /** blk_mq_try_issue_directly: one request straight to blk-mq. */
  issueOne(rq: MqRequest): void {
    // BlkMq.issue reads the list before it dispatches anything, so the list can be reused.
    this.one[0] = rq;
    this.issueList(rq.hwq, this.one);
  }

  /** Hand requests to blk-mq: their final shape for the driver, their timeout clocks. */
  issueList(hwq: number, rqs: MqRequest[]): void {
    if (rqs.length === 0) return;
    const mss = this.host.limits.maxSegmentSize;
    for (const rq of rqs) {
      prepareForDriver(rq, mss);
      this.timeouts.track(rq);
    }
    this.blk.issue(hwq, rqs);
  }

  private makeElevator(name: SchedulerName): Elevator | undefined {
    return name === 'none' ? undefined : ELEVATORS[name](this.host);
  }

  /** elevator_switch: what the old scheduler held goes to the hardware queues (the switch drains the queue). */
  switchTo(name: SchedulerName): void {
    if (name === this.scheduler) return;
    const held = this.elevator?.drain() ?? [];
    this.elevator = this.makeElevator(name);
    for (let h = 0; h < this.nrHwQueues; h++) this.issueList(h, held.filter((r) => r.hwq === h));
  }
}
