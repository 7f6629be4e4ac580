/**
 * The guest block device (struct block_device with its request_queue): what the page
 * cache, file systems and direct I/O submit bios to. This is the layer's boundary, so
 * it speaks Observables: `submitBio` returns one that emits the bio's status once and
 * completes. Inside, the per-bio path is plain callbacks (`submitBioCb`, bi_end_io),
 * which the hot paths above may use directly.
 *
 * Submission is eager, as submit_bio is: the bio enters the block layer when
 * `submitBio` is called, whether or not anyone subscribes; the Observable replays the
 * status to late subscribers. A bio the layer refuses (past the end, misaligned, an
 * operation the device lacks) or an empty flush on a device without a write cache
 * completes before `submitBio` returns, as bio_endio does inside submit_bio_noacct.
 */
import { Observable, type Subscriber } from 'rxjs';
import type { GuestKernel } from '../kernel/kernel.js';
import type { Task } from '../kernel/task.js';
import type { Bio } from './bio.js';
import type { EndIo } from './bio-ref.js';
import type { SchedulerName } from './elevator.js';
import type { QueueLimits } from './limits.js';
import { blkFinishPlug, blkStartPlug } from './plug.js';
import type { BlkStatus } from './request.js';
import { RequestQueue, type RequestQueueSpec } from './request-queue.js';
import { BlockStatsSink, type BlockDeviceStats } from './stats.js';

/** The contract (docs/design/guest-storage-stack.md). */
export interface GuestBlockDevice {
  readonly name: string;
  /** 512-byte sectors. */
  readonly capacitySectors: number;
  readonly limits: QueueLimits;
  /** submit_bio: the bio's status, once. */
  submitBio(task: Task, bio: Bio): Observable<BlkStatus>;
  /** blk_start_plug / blk_finish_plug (the plug is the task's; nesting only deepens it). */
  startPlug(task: Task): void;
  finishPlug(task: Task): void;
  /** echo <name> > /sys/block/<dev>/queue/scheduler */
  setScheduler(name: SchedulerName): void;
  /** Counts from the trace (this device's events since it was created). */
  readonly stats: BlockDeviceStats;
  /**
   * bd_holder: who claimed the device exclusively (a device-mapper map over it); while
   * held, mount and mkfs refuse it with EBUSY, as Linux's exclusive open does.
   */
  holder: string | undefined;
}

export class BlockDevice implements GuestBlockDevice {
  holder: string | undefined = undefined;
  readonly queue: RequestQueue;
  private readonly statsSink: BlockStatsSink;

  constructor(k: GuestKernel, spec: RequestQueueSpec) {
    this.queue = new RequestQueue(k, spec);
    this.statsSink = new BlockStatsSink(k.trace, spec.name);
  }

  get name(): string {
    return this.queue.name;
  }

  get capacitySectors(): number {
    return this.queue.capacitySectors;
  }

  get limits(): QueueLimits {
    return this.queue.limits;
  }

  get stats(): BlockDeviceStats {
    return this.statsSink.stats;
  }

  /** /sys/block/<dev>/queue/scheduler (the one in use). */
  get scheduler(): SchedulerName {
    return this.queue.scheduler;
  }

  /** /sys/block/<dev>/queue/io_timeout, in ms. */
  get timeoutMs(): number {
    return this.queue.timeouts.timeoutMs;
  }

  set timeoutMs(ms: number) {
    this.queue.timeouts.timeoutMs = ms;
  }

  submitBio(task: Task, bio: Bio): Observable<BlkStatus> {
    let result: BlkStatus | undefined;
    let waiting: Subscriber<BlkStatus>[] | undefined;
    this.queue.submit(task, bio, (status) => {
      result = status;
      const subs = waiting;
      waiting = undefined;
      if (subs) for (const s of subs) {
        s.next(status);
        s.complete();
      }
    });
    return new Observable<BlkStatus>((s) => {
      if (result !== undefined) {
        s.next(result);
        s.complete();
        return undefined;
      }
      (waiting ??= []).push(s);
      return () => {
        if (waiting) waiting = waiting.filter((w) => w !== s);
      };
    });
  }

  /** submit_bio with a completion callback (bi_end_io): no Observable, for hot paths. */
  submitBioCb(task: Task, bio: Bio, endIo: EndIo): void {
    this.queue.submit(task, bio, endIo);
  }

  startPlug(task: Task): void {
    blkStartPlug(task);
  }

  finishPlug(task: Task): void {
    blkFinishPlug(task);
  }

  setScheduler(name: SchedulerName): void {
    this.queue.setScheduler(name);
  }

  /** Stop counting (the device goes away). */
  detach(): void {
    this.statsSink.detach();
  }
}
