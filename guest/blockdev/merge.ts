/**
 * Merging (block/blk-merge.c): a bio joins a request that ends where it starts (back
 * merge) or starts where it ends (front merge); two adjacent requests become one
 * (attempt_merge). Only requests and bios of the same operation merge; never a flush,
 * a write-zeroes, or anything with REQ_PREFLUSH / REQ_FUA (REQ_NOMERGE_FLAGS). The
 * result stays within the queue limits: the operation's max sectors and, for data,
 * max_segments. A request that once failed a merge on its limits is marked REQ_NOMERGE
 * (req_set_nomerge) and never tried again.
 */
import { REQ_META, REQ_NOMERGE_FLAGS, REQ_SYNC } from './bio.js';
import type { BioRef } from './bio-ref.js';
import { maxSectorsFor, type QueueLimits } from './limits.js';
import type { MqRequest } from './mq-request.js';

/** REQ_NOMERGE: set on a request that hit its limits (req_set_nomerge). */
export const REQ_NOMERGE = 32;

export type MergeDir = 'back' | 'front';

/** rq_mergeable. */
export function rqMergeable(rq: MqRequest): boolean {
  return rq.op !== 'flush' && rq.op !== 'write-zeroes' && (rq.flags & (REQ_NOMERGE_FLAGS | REQ_NOMERGE)) === 0;
}

/** bio_mergeable (plus: flushes and write-zeroes never merge). */
export function bioMergeable(b: BioRef): boolean {
  return b.op !== 'flush' && b.op !== 'write-zeroes' && (b.flags & REQ_NOMERGE_FLAGS) === 0;
}

/** blk_rq_merge_ok + blk_try_merge: whether and how `b` could join `rq`, limits aside. */
export function mergeDirection(rq: MqRequest, b: BioRef): MergeDir | undefined {
  if (rq.op !== b.op || !rqMergeable(rq) || !bioMergeable(b)) return undefined;
  if (rq.sector + rq.sectors === b.sector) return 'back';
  if (rq.sector - b.sectors === b.sector) return 'front';
  return undefined;
}

function withinLimits(lim: QueueLimits, rq: MqRequest, sectors: number, segs: number): boolean {
  if (rq.sectors + sectors > maxSectorsFor(lim, rq.op)) return false;
  // A discard request carries ranges, not data segments (ll_new_hw_segment).
  return rq.op === 'discard' || rq.nrSegs + segs <= lim.maxSegments;
}

/**
 * bio_attempt_back_merge / bio_attempt_front_merge: merge `b` into `rq` if it is
 * adjacent and the result fits. Returns the direction merged, or undefined.
 */
export function attemptBioMerge(lim: QueueLimits, rq: MqRequest, b: BioRef): MergeDir | undefined {
  const dir = mergeDirection(rq, b);
  if (dir === undefined) return undefined;
  if (!withinLimits(lim, rq, b.sectors, b.nrSegs)) {
    rq.flags |= REQ_NOMERGE;
    return undefined;
  }
  if (dir === 'back') rq.bios.push(b);
  else {
    rq.bios.unshift(b);
    rq.sector = b.sector;
  }
  rq.sectors += b.sectors;
  rq.nrSegs += b.nrSegs;
  rq.flags |= b.flags & (REQ_SYNC | REQ_META);
  return dir;
}

/**
 * attempt_merge: append `next` (which must start where `rq` ends) to `rq`. The merged
 * request keeps the earlier start time. Returns true when merged (`next` then holds no
 * bios and must be freed by the caller).
 */
export function attemptRequestMerge(lim: QueueLimits, rq: MqRequest, next: MqRequest): boolean {
  if (rq === next || rq.op !== next.op || !rqMergeable(rq) || !rqMergeable(next)) return false;
  if (rq.sector + rq.sectors !== next.sector) return false;
  if (!withinLimits(lim, rq, next.sectors, next.nrSegs)) return false;
  for (const b of next.bios) rq.bios.push(b);
  rq.sectors += next.sectors;
  rq.nrSegs += next.nrSegs;
  rq.flags |= next.flags & (REQ_SYNC | REQ_META);
  if (next.submittedAt < rq.submittedAt) rq.submittedAt = next.submittedAt;
  // `next` keeps its range (for the trace and the scheduler's lookups) but no bios.
  next.bios = [];
  return true;
}
