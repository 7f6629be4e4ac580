/**
 * Sequencing PREFLUSH and FUA (block/blk-flush.c). A request with REQ_PREFLUSH or
 * REQ_FUA is decomposed into up to three steps, by what the device can do:
 *
 * | device                          | REQ_PREFLUSH          | REQ_FUA                     |
 * |---------------------------------|-----------------------|-----------------------------|
 * | no volatile write cache         | dropped               | dropped                     |
 * | write cache, FUA supported      | a flush before (PRE)  | passed down with the data   |
 * | write cache, no FUA (virtio-blk)| a flush before (PRE)  | a flush after (POSTFLUSH)   |
 *
 * (The first row is applied at submission: such bios never get here; an empty one
 * completes at once.) Flushes are shared: requests waiting for a flush queue on the
 * pending list; at most one flush is in flight (C1); a flush is held back while any
 * sequenced request is writing its data, so requests that shared a PREFLUSH share the
 * POSTFLUSH too (C2), unless the oldest has waited FLUSH_PENDING_TIMEOUT (5 s) (C3).
 * When a flush completes, every request that waited for it moves to its next step. The
 * data step bypasses the I/O scheduler. The submitter hears of the request only when
 * its whole sequence is done.
 */
import { NS_PER_MS } from '../../sim/scheduler.js';
import { REQ_FUA, REQ_PREFLUSH } from './bio.js';
import type { QueueLimits } from './limits.js';
import type { MqRequest } from './mq-request.js';
import type { BlkRequest, BlkStatus } from './request.js';

export const REQ_FSEQ_PREFLUSH = 1;
export const REQ_FSEQ_DATA = 2;
export const REQ_FSEQ_POSTFLUSH = 4;
export const REQ_FSEQ_DONE = 8;
export const REQ_FSEQ_ACTIONS = REQ_FSEQ_PREFLUSH | REQ_FSEQ_DATA | REQ_FSEQ_POSTFLUSH;
/** FLUSH_PENDING_TIMEOUT: 5 s. */
export const FLUSH_PENDING_TIMEOUT_NS = 5000 * NS_PER_MS;

/** blk_flush_policy: the steps `rq` needs on a device with these limits. */
export function flushPolicy(lim: QueueLimits, rq: MqRequest): number {
  let policy = 0;
  if (rq.sectors > 0) policy |= REQ_FSEQ_DATA;
  if (lim.writeCache) {
    if (rq.flags & REQ_PREFLUSH) policy |= REQ_FSEQ_PREFLUSH;
    if (!lim.fua && rq.flags & REQ_FUA) policy |= REQ_FSEQ_POSTFLUSH;
  }
  return policy;
}

/** What the flush machinery needs of its queue. */
export interface FlushHost {
  readonly limits: QueueLimits;
  now(): number;
  /** Hand a request to its hardware queue, bypassing the I/O scheduler. */
  issue(rq: MqRequest): void;
  /** A flush request (REQ_OP_FLUSH) on `first`'s hardware queue, completing to `done`. */
  newFlushRequest(first: MqRequest, done: (status: BlkStatus, rq: BlkRequest) => void): MqRequest;
  /** A flush was issued for `waiting` requests (for the trace). */
  flushIssued(flushRq: MqRequest, waiting: number): void;
  /** The driver finished `rq` (one step of a sequence): stop its timeout clock. */
  retired(rq: MqRequest): void;
  /** `rq`'s whole sequence is over: complete its bios and free it. */
  end(rq: MqRequest, status: BlkStatus): void;
}

/** The lowest step not yet done (blk_flush_cur_seq). */
function curSeq(rq: MqRequest): number {
  let s = 1;
  while (rq.flushSeq & s) s <<= 1;
  return s;
}

/** One hardware queue's flush state (struct blk_flush_queue). */
export class FlushQueue {
  private readonly pending: MqRequest[][] = [[], []];
  private pendingIdx = 0;
  private runningIdx = 0;
  private pendingSince = 0;
  private dataInFlight = 0;

  constructor(private readonly host: FlushHost) {}

  /** Requests waiting for the next flush. */
  get waiting(): number {
    return this.pending[this.pendingIdx].length;
  }

  /** blk_insert_flush for a request whose policy includes a flush. */
  insert(rq: MqRequest, policy: number): void {
    // The driver sees neither flag; it gets FUA only when it does FUA itself.
    rq.flags &= ~REQ_PREFLUSH;
    if (!this.host.limits.fua) rq.flags &= ~REQ_FUA;
    rq.flushSeq = 0;
    this.completeSeq(rq, REQ_FSEQ_ACTIONS & ~policy, 'ok');
  }

  /** blk_flush_complete_seq: `rq` finished `seq`; send it to its next step. */
  private completeSeq(rq: MqRequest, seq: number, status: BlkStatus): void {
    rq.flushSeq |= seq;
    const next = status === 'ok' ? curSeq(rq) : REQ_FSEQ_DONE;
    switch (next) {
      case REQ_FSEQ_PREFLUSH:
      case REQ_FSEQ_POSTFLUSH: {
        const pending = this.pending[this.pendingIdx];
        if (pending.length === 0) this.pendingSince = this.host.now();
        pending.push(rq);
        break;
      }
      case REQ_FSEQ_DATA:
        this.dataInFlight++;
        rq.done = this.dataDone;
        this.host.issue(rq);
        break;
      default:
        this.host.end(rq, status);
        break;
    }
    this.kick();
  }

  /** mq_flush_data_end_io. */
  private readonly dataDone = (status: BlkStatus, brq: BlkRequest): void => {
    const rq = brq as MqRequest;
    this.host.retired(rq);
    this.dataInFlight--;
    this.completeSeq(rq, REQ_FSEQ_DATA, status);
  };

  /** flush_end_io: every request that waited for this flush moves on. */
  private readonly flushDone = (status: BlkStatus, brq: BlkRequest): void => {
    this.host.retired(brq as MqRequest);
    const running = this.pending[this.runningIdx];
    this.pending[this.runningIdx] = [];
    this.runningIdx ^= 1;
    for (const rq of running) this.completeSeq(rq, curSeq(rq), status);
    this.kick();
  };

  /** blk_kick_flush: issue a flush if none is in flight and the conditions allow. */
  private kick(): void {
    const pending = this.pending[this.pendingIdx];
    if (this.pendingIdx !== this.runningIdx || pending.length === 0) return;
    if (this.dataInFlight > 0 && this.host.now() < this.pendingSince + FLUSH_PENDING_TIMEOUT_NS) return;
    this.pendingIdx ^= 1;
    const flushRq = this.host.newFlushRequest(pending[0], this.flushDone);
    this.host.flushIssued(flushRq, pending.length);
    this.host.issue(flushRq);
  }
}
