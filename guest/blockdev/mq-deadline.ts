/**
 * mq-deadline (block/mq-deadline.c, the single-priority form of Linux 5.x): requests
 * are kept twice per direction, sorted by sector and in arrival order with a deadline
 * (read_expire 500 ms, write_expire 5 s). Dispatch continues a batch of up to
 * fifo_batch (16) requests in ascending sector order; a new batch picks reads unless
 * writes have been passed over writes_starved (2) times, and starts from the oldest
 * request of the direction when its deadline has passed or the sorted order ran out.
 * Bios back-merge into the request that ends where they start and front-merge into the
 * one that starts where they end, both found in the sort order (Linux finds the first
 * through its elv_rqhash of end sectors; for requests that do not overlap the sort
 * order finds the same one); a merge that closes a gap joins the two neighbours.
 */
import { NS_PER_MS } from '../../sim/scheduler.js';
import type { BioRef } from './bio-ref.js';
import type { Elevator, ElevatorHost } from './elevator.js';
import { attemptBioMerge, attemptRequestMerge, mergeDirection, rqMergeable, type MergeDir } from './merge.js';
import type { MqRequest } from './mq-request.js';

/** Defaults (mq-deadline.c): expiries in ms as sysfs shows them. */
export const DEADLINE_DEFAULTS = { read_expire: 500, write_expire: 5000, writes_starved: 2, fifo_batch: 16, front_merges: 1 } as const;

const READ = 0;
const WRITE = 1;
const dirOf = (op: string): number => (op === 'read' ? READ : WRITE);

/** Index of the first request in `list` (sorted by sector) with sector > s (or >= s when `inclusive`). */
function bound(list: readonly MqRequest[], s: number, inclusive: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid].sector;
    if (v < s || (!inclusive && v === s)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where `rq` sits in `list` (found by identity; a front merge may have moved its sector before the reposition). */
function sortIndex(list: readonly MqRequest[], rq: MqRequest): number {
  for (let i = bound(list, rq.sector, true); i < list.length && list[i].sector === rq.sector; i++) if (list[i] === rq) return i;
  return list.indexOf(rq);
}

class MqDeadline implements Elevator {
  readonly name = 'mq-deadline' as const;
  readonly tunables: Record<string, number> = { ...DEADLINE_DEFAULTS };
  private readonly sort: MqRequest[][] = [[], []];
  private readonly fifo: MqRequest[][] = [[], []];
  private readonly nextRq: (MqRequest | undefined)[] = [undefined, undefined];
  private readonly dispatchList: MqRequest[] = [];
  private lastMerge: MqRequest | undefined;
  private batching = 0;
  private starved = 0;

  constructor(private readonly host: ElevatorHost) {}

  hasWork(): boolean {
    return this.dispatchList.length > 0 || this.fifo[READ].length > 0 || this.fifo[WRITE].length > 0;
  }

  // ---- sort order, fifo ----

  private latter(rq: MqRequest): MqRequest | undefined {
    const l = this.sort[dirOf(rq.op)];
    const i = sortIndex(l, rq);
    return i >= 0 ? l[i + 1] : undefined;
  }

  private former(rq: MqRequest): MqRequest | undefined {
    const l = this.sort[dirOf(rq.op)];
    const i = sortIndex(l, rq);
    return i > 0 ? l[i - 1] : undefined;
  }

  private addRb(rq: MqRequest): void {
    const l = this.sort[dirOf(rq.op)];
    l.splice(bound(l, rq.sector, false), 0, rq);
  }

  /** deadline_del_rq_rb (elv_rb_del alone when `keepNext`: a reposition leaves the batch pointer). */
  private delRb(rq: MqRequest, keepNext = false): void {
    const d = dirOf(rq.op);
    const l = this.sort[d];
    const i = sortIndex(l, rq);
    if (i < 0) return;
    if (!keepNext && this.nextRq[d] === rq) this.nextRq[d] = l[i + 1];
    l.splice(i, 1);
  }

  /** elv_rqhash_find: a queued, mergeable request of `op`'s direction that ends at sector `s`. */
  private endingAt(op: string, s: number): MqRequest | undefined {
    const l = this.sort[dirOf(op)];
    // Requests that start below `s`, nearest first; with no overlaps the nearest is the one.
    for (let i = bound(l, s, true) - 1, n = 0; i >= 0 && n < 4; i--, n++) if (l[i].sector + l[i].sectors === s && rqMergeable(l[i])) return l[i];
    return undefined;
  }

  /** deadline_remove_request: off the sort list and the fifo. */
  private remove(rq: MqRequest): void {
    const f = this.fifo[dirOf(rq.op)];
    const i = f.indexOf(rq);
    if (i >= 0) f.splice(i, 1);
    this.delRb(rq);
    if (this.lastMerge === rq) this.lastMerge = undefined;
  }

  /** dd_merged_requests + elv_merge_requests: `next` went into `rq`; `rq` takes the earlier deadline. */
  private mergedRequests(rq: MqRequest, next: MqRequest): void {
    const f = this.fifo[dirOf(rq.op)];
    const ri = f.indexOf(rq);
    const ni = f.indexOf(next);
    if (ri >= 0 && ni >= 0 && next.fifoTime < rq.fifoTime) {
      f.splice(ri, 1);
      f.splice(f.indexOf(next), 0, rq);
      rq.fifoTime = next.fifoTime;
    }
    this.remove(next);
    this.lastMerge = rq;
    this.host.merged(rq, 'back', 'rq', next.sectors);
    this.host.release(next);
  }

  // ---- merging ----

  /** elv_merge: the one-hit cache, then a back merge, then a front merge. */
  private findMerge(b: BioRef): [MqRequest, MergeDir] | undefined {
    const lm = this.lastMerge;
    if (lm) {
      const dir = mergeDirection(lm, b);
      if (dir) return [lm, dir];
    }
    const back = this.endingAt(b.op, b.sector);
    if (back && mergeDirection(back, b) === 'back') return [back, 'back'];
    if (this.tunables.front_merges) {
      const l = this.sort[dirOf(b.op)];
      for (let i = bound(l, b.end, true); i < l.length && l[i].sector === b.end; i++) if (mergeDirection(l[i], b) === 'front') return [l[i], 'front'];
    }
    return undefined;
  }

  /** blk_mq_sched_try_merge. */
  bioMerge(b: BioRef): boolean {
    const found = this.findMerge(b);
    if (!found) return false;
    const [rq, dir] = found;
    if (attemptBioMerge(this.host.limits, rq, b) !== dir) return false;
    this.host.merged(rq, dir, 'bio', b.sectors);
    if (dir === 'back') {
      // attempt_back_merge: the bio may have closed the gap to the next request.
      const next = this.latter(rq);
      if (next && attemptRequestMerge(this.host.limits, rq, next)) this.mergedRequests(rq, next);
      else this.lastMerge = rq;
    } else {
      // attempt_front_merge, else dd_request_merged repositions the request in the sort order.
      const prev = this.former(rq);
      if (prev && attemptRequestMerge(this.host.limits, prev, rq)) this.mergedRequests(prev, rq);
      else {
        this.delRb(rq, true);
        this.addRb(rq);
        this.lastMerge = rq;
      }
    }
    return true;
  }

  /** elv_attempt_insert_merge: append `rq` to a queued request that ends where it starts, repeatedly. */
  private insertMerge(rq: MqRequest): boolean {
    const lim = this.host.limits;
    const lm = this.lastMerge;
    if (lm && attemptRequestMerge(lim, lm, rq)) {
      this.mergedRequests(lm, rq);
      return true;
    }
    let merged = false;
    let cur = rq;
    for (;;) {
      const into = this.endingAt(cur.op, cur.sector);
      if (!into || !attemptRequestMerge(lim, into, cur)) break;
      this.mergedRequests(into, cur);
      merged = true;
      cur = into;
    }
    return merged;
  }

  insert(rq: MqRequest, atHead: boolean): boolean {
    if (this.insertMerge(rq)) return false;
    if (atHead) {
      this.dispatchList.unshift(rq);
      return true;
    }
    const d = dirOf(rq.op);
    this.addRb(rq);
    if (rqMergeable(rq) && !this.lastMerge) this.lastMerge = rq;
    rq.fifoTime = this.host.now() + (d === READ ? this.tunables.read_expire : this.tunables.write_expire) * NS_PER_MS;
    this.fifo[d].push(rq);
    return true;
  }

  // ---- dispatch ----

  /** deadline_move_request: remember where the batch continues, take `rq` off the lists. */
  private move(rq: MqRequest): void {
    const d = dirOf(rq.op);
    this.nextRq[READ] = undefined;
    this.nextRq[WRITE] = undefined;
    this.nextRq[d] = this.latter(rq);
    this.remove(rq);
  }

  /** __dd_dispatch_request. */
  dispatch(): MqRequest | undefined {
    if (this.dispatchList.length > 0) return this.dispatchList.shift();
    let rq = this.nextRq[WRITE] ?? this.nextRq[READ];
    if (!(rq && this.batching < this.tunables.fifo_batch)) {
      let d: number;
      if (this.fifo[READ].length > 0) {
        d = READ;
        if (this.fifo[WRITE].length > 0 && this.starved++ >= this.tunables.writes_starved) d = WRITE;
      } else if (this.fifo[WRITE].length > 0) d = WRITE;
      else return undefined;
      if (d === WRITE) this.starved = 0;
      const next = this.nextRq[d];
      const oldest = this.fifo[d][0];
      // A deadline has expired, the last request was the other way, or the sorted order ran out: start from the oldest.
      rq = this.host.now() >= oldest.fifoTime || !next ? oldest : next;
      this.batching = 0;
    }
    this.batching++;
    this.move(rq);
    return rq;
  }

  drain(): MqRequest[] {
    const all = [...this.dispatchList, ...this.fifo[READ], ...this.fifo[WRITE]];
    this.dispatchList.length = 0;
    for (const l of [...this.sort, ...this.fifo]) l.length = 0;
    this.lastMerge = undefined;
    this.nextRq[READ] = this.nextRq[WRITE] = undefined;
    return all;
  }
}

export function createMqDeadline(host: ElevatorHost): Elevator {
  return new MqDeadline(host);
}
