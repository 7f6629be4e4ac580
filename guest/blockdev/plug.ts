/**
 * Per-task plugging (block/blk-core.c blk_start_plug / blk_finish_plug, blk-mq.c
 * blk_add_rq_to_plug, blk_attempt_plug_merge): while a task holds a plug, the requests
 * it makes collect in the plug instead of going to the queue, so that bios that follow
 * each other merge and the batch reaches the driver together, with `last` on its final
 * request.
 *
 * The plug is flushed when:
 * - a request is added to a plug that already holds BLK_MAX_REQUEST_COUNT (16)
 *   requests — twice that once the plug holds requests for more than one queue
 *   (blk_plug_max_rq_count: `multiple_queues` means several request_queues, i.e.
 *   several disks, as md arrays have — not several hardware queues of one disk);
 * - a request is added after one of at least BLK_PLUG_FLUSH_SIZE (128 KiB);
 * - the task finishes the outermost plug (`finish`), or sleeps (`schedule`: Task.sleep
 *   calls PlugHolder.flush, as schedule() calls blk_flush_plug).
 *
 * A plug is the task's, not a device's: it may hold requests of several devices; a
 * flush hands each device its own, in the order they were made.
 */
import type { PlugFlushReason } from '../../sim/trace.js';
import type { PlugHolder, Task } from '../kernel/task.js';
import type { BioRef } from './bio-ref.js';
import type { QueueLimits } from './limits.js';
import { attemptBioMerge, type MergeDir } from './merge.js';
import type { MqRequest, RequestOwner } from './mq-request.js';

/** BLK_MAX_REQUEST_COUNT (include/linux/blkdev.h, Linux 5.x; 6.x doubled it to 32). */
export const BLK_MAX_REQUEST_COUNT = 16;
/** BLK_PLUG_FLUSH_SIZE: 128 KiB. */
export const BLK_PLUG_FLUSH_SIZE = 128 * 1024;

export type { PlugFlushReason };


/** What a queue offers the plug. */
export interface PluggableQueue extends RequestOwner {
  readonly limits: QueueLimits;
  /** A bio was merged into a plugged request (for the trace). */
  plugMerged(rq: MqRequest, dir: MergeDir, b: BioRef): void;
  /** blk_mq_flush_plug_list for this queue: take these requests, in order. */
  plugFlushed(rqs: MqRequest[], reason: PlugFlushReason, task: Task): void;
}

export class Plug implements PlugHolder {
  /** Plugged requests, oldest first. */
  private rqs: MqRequest[] = [];
  /** Nesting depth: only the outermost blk_finish_plug flushes. */
  depth = 1;
  /** The plug holds (or held, since it started) requests of more than one queue. */
  multipleQueues = false;

  constructor(readonly task: Task) {}

  get count(): number {
    return this.rqs.length;
  }

  /** blk_plug_max_rq_count. */
  get maxCount(): number {
    return this.multipleQueues ? BLK_MAX_REQUEST_COUNT * 2 : BLK_MAX_REQUEST_COUNT;
  }

  /** PlugHolder: the task is about to sleep (`fromSchedule`) or someone flushes explicitly. */
  flush(fromSchedule: boolean): void {
    this.flushAll(fromSchedule ? 'schedule' : 'finish');
  }

  /** blk_flush_plug: hand every queue its requests. */
  flushAll(reason: PlugFlushReason): void {
    if (this.rqs.length === 0) return;
    const rqs = this.rqs;
    this.rqs = [];
    const first = rqs[0].owner as PluggableQueue;
    if (!this.multipleQueues) {
      first.plugFlushed(rqs, reason, this.task);
      return;
    }
    const byQueue = new Map<PluggableQueue, MqRequest[]>();
    for (const rq of rqs) {
      const q = rq.owner as PluggableQueue;
      const l = byQueue.get(q);
      if (l) l.push(rq);
      else byQueue.set(q, [rq]);
    }
    for (const [q, l] of byQueue) q.plugFlushed(l, reason, this.task);
  }

  /** blk_add_rq_to_plug: flush first if the plug is full or its last request is big. */
  add(rq: MqRequest): void {
    const n = this.rqs.length;
    let last = n > 0 ? this.rqs[n - 1] : undefined;
    if (last !== undefined) {
      if (n >= this.maxCount) this.flushAll('count');
      else if (last.sectors * 512 >= BLK_PLUG_FLUSH_SIZE) this.flushAll('size');
      if (this.rqs.length === 0) last = undefined;
    }
    if (!this.multipleQueues && last !== undefined && last.owner !== rq.owner) this.multipleQueues = true;
    this.rqs.push(rq);
  }

  /** blk_attempt_plug_merge: try the plugged requests of `q`, newest first. */
  tryMerge(q: PluggableQueue, b: BioRef): boolean {
    for (let i = this.rqs.length - 1; i >= 0; i--) {
      const rq = this.rqs[i];
      if (rq.owner !== q) continue;
      const dir = attemptBioMerge(q.limits, rq, b);
      if (dir !== undefined) {
        q.plugMerged(rq, dir, b);
        return true;
      }
    }
    return false;
  }
}

/** The task's plug, if it holds one of ours. */
export function currentPlug(task: Task): Plug | undefined {
  const p = task.plug;
  return p instanceof Plug ? p : undefined;
}

/** blk_start_plug: a nested plug only deepens the one the task holds. */
export function blkStartPlug(task: Task): void {
  const p = currentPlug(task);
  if (p) p.depth++;
  else if (task.plug === undefined) task.plug = new Plug(task);
  else throw new Error(`task ${task.pid}: holds a plug of another kind`);
}

/** blk_finish_plug: the outermost finish flushes and removes the plug. */
export function blkFinishPlug(task: Task): void {
  const p = currentPlug(task);
  if (!p) throw new Error(`task ${task.pid}: blk_finish_plug without blk_start_plug`);
  if (--p.depth > 0) return;
  p.flushAll('finish');
  task.plug = undefined;
}
