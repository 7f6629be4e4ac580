/**
 * I/O schedulers (block/elevator.c): the operations blk-mq calls on a queue's scheduler
 * (struct elevator_mq_ops, the part this model uses), the registry of schedulers by
 * name, and elevator_get_default's choice. `none` is no scheduler at all (q->elevator
 * is NULL): requests go from the plug or the submitter straight to a hardware queue.
 *
 * Guarantees the queue gives a scheduler: every request it is handed is a data,
 * discard or write-zeroes request that is not part of a flush sequence; a request the
 * scheduler merges away is handed back through `release` and never dispatched; the
 * queue asks for `dispatch` only when a hardware queue has a free driver tag.
 */
import type { BioRef } from './bio-ref.js';
import type { QueueLimits } from './limits.js';
import type { MergeDir } from './merge.js';
import type { MqRequest } from './mq-request.js';
import { createMqDeadline } from './mq-deadline.js';

export type SchedulerName = 'none' | 'mq-deadline';

export const SCHEDULER_NAMES: readonly SchedulerName[] = ['none', 'mq-deadline'];

/** What a scheduler may ask of its queue. */
export interface ElevatorHost {
  readonly limits: QueueLimits;
  /** The virtual time now (ns). */
  now(): number;
  /** A bio or a request was merged into `rq` inside the scheduler (for the trace). */
  merged(rq: MqRequest, dir: MergeDir, what: 'bio' | 'rq', sectors: number): void;
  /** `rq` was merged into another and is empty: free it. */
  release(rq: MqRequest): void;
}

export interface Elevator {
  readonly name: Exclude<SchedulerName, 'none'>;
  /** bio_merge: merge `b` into a queued request. True when merged. */
  bioMerge(b: BioRef): boolean;
  /**
   * insert_requests: queue `rq`, unless it merges into a queued request (then it is
   * released and this returns false); `atHead` puts it before everything.
   */
  insert(rq: MqRequest, atHead: boolean): boolean;
  /** dispatch_request: the next request to hand to a hardware queue, if any. */
  dispatch(): MqRequest | undefined;
  /** has_work. */
  hasWork(): boolean;
  /** Remove and return everything queued (a scheduler switch). */
  drain(): MqRequest[];
  /** The tunables under /sys/block/<dev>/queue/iosched/, by name. */
  readonly tunables: Record<string, number>;
}

/** The scheduler registry: a name → a constructor (elv_register). */
export const ELEVATORS: Readonly<Record<Exclude<SchedulerName, 'none'>, (host: ElevatorHost) => Elevator>> = {
  'mq-deadline': createMqDeadline,
};

/**
 * elevator_get_default: one hardware queue (or shared tags) → mq-deadline; several →
 * none (so virtio-blk with num-queues=1 gets mq-deadline, with more gets none).
 */
export function elevatorGetDefault(nrHwQueues: number): SchedulerName {
  return nrHwQueues === 1 ? 'mq-deadline' : 'none';
}

/** Parse a name as written to /sys/block/<dev>/queue/scheduler. */
export function parseSchedulerName(s: string): SchedulerName | undefined {
  const t = s.trim();
  return (SCHEDULER_NAMES as readonly string[]).includes(t) ? (t as SchedulerName) : undefined;
}
