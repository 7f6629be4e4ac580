/**
 * Per-CPU software queues (struct blk_mq_ctx), as a queue without an I/O scheduler uses
 * them: requests a plug flushed from schedule() wait here for the hardware queue run
 * that kblockd does next, and bios may merge into them meanwhile (blk_bio_list_merge
 * looks at the newest few). Each CPU's queue feeds the hardware queue it maps to.
 */
import type { BioRef } from './bio-ref.js';
import type { QueueLimits } from './limits.js';
import { attemptBioMerge, type MergeDir } from './merge.js';
import type { MqRequest } from './mq-request.js';

/** blk_bio_list_merge looks at this many of a software queue's newest requests. */
export const SWQ_MERGE_DEPTH = 8;

export class SoftwareQueues {
  private readonly lists: MqRequest[][];

  constructor(
    nrCpus: number,
    /** The hardware queue a CPU's software queue feeds (blk_mq_map_queues). */
    private readonly hwqOf: (cpu: number) => number,
  ) {
    this.lists = Array.from({ length: nrCpus }, () => []);
  }

  /** CPU `cpu`'s software queue holds requests. */
  busy(cpu: number): boolean {
    return this.lists[cpu].length > 0;
  }

  /** blk_mq_insert_requests: onto the software queue of the CPU that made the request. */
  add(rq: MqRequest): void {
    this.lists[rq.cpu].push(rq);
  }

  /** blk_bio_list_merge: merge `b` into one of CPU `cpu`'s newest requests. */
  merge(lim: QueueLimits, cpu: number, b: BioRef, merged: (rq: MqRequest, dir: MergeDir) => void): boolean {
    const l = this.lists[cpu];
    for (let i = l.length - 1, n = 0; i >= 0 && n < SWQ_MERGE_DEPTH; i--, n++) {
      const dir = attemptBioMerge(lim, l[i], b);
      if (dir !== undefined) {
        merged(l[i], dir);
        return true;
      }
    }
    return false;
  }

  /** blk_mq_flush_busy_ctxs: everything waiting for hardware queue `hwq`, CPU by CPU. */
  take(hwq: number): MqRequest[] {
    const out: MqRequest[] = [];
    for (let c = 0; c < this.lists.length; c++) if (this.lists[c].length > 0 && this.hwqOf(c) === hwq) out.push(...this.lists[c].splice(0));
    return out;
  }
}
