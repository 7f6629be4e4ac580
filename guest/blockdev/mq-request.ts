/**
 * A request as the block layer builds it from bios (struct request before and after it
 * reaches blk-mq): the `BlkRequest` a driver sees, plus the bios it carries in sector
 * order, its segment count and REQ_* bits, the software queue (CPU) it was allocated
 * on, mq-deadline's FIFO deadline, its place in a flush sequence, and when its timeout
 * clock started.
 */
import type { SgElem } from '../../hw/memory.js';
import { REQ_FUA, REQ_NOUNMAP, type BioOp } from './bio.js';
import type { BioRef } from './bio-ref.js';
import type { BlkRequest, BlkStatus } from './request.js';
import { hasOversizedSegment, mapRequestSg } from './sg.js';

/** What a request needs of the queue that owns it. */
export interface RequestOwner {
  readonly name: string;
}

export interface MqRequest extends BlkRequest {
  op: BioOp;
  readonly owner: RequestOwner;
  /** The bios, in sector order (rq->bio … rq->biotail). */
  bios: BioRef[];
  /** Physical data segments (nr_phys_segments). */
  nrSegs: number;
  /** REQ_* bits (bio.ts, merge.ts). */
  flags: number;
  /** The CPU whose software queue it was allocated on (rq->mq_ctx). */
  readonly cpu: number;
  /** mq-deadline: when it expires (virtual ns). */
  fifoTime: number;
  /** blk-flush: the REQ_FSEQ_* steps done so far. */
  flushSeq: number;
  /** When the timeout clock last (re)started; -1 before the driver took it. */
  timerFrom: number;
  /** rq-timeout.ts's list of requests out at the driver. */
  tPrev: MqRequest | undefined;
  tNext: MqRequest | undefined;
  tracked: boolean;
}

/** What differs between requests at birth: their operation and data. */
interface RequestData {
  op: BioOp;
  sector: number;
  sectors: number;
  sg: SgElem[];
  bios: BioRef[];
  nrSegs: number;
  flags: number;
}

/** blk_mq_rq_ctx_init: every request starts from here (one shape for all of them). */
function newRequest(owner: RequestOwner, id: number, d: RequestData, cpu: number, hwq: number, now: number, done: (status: BlkStatus, rq: BlkRequest) => void): MqRequest {
  return {
    op: d.op,
    sector: d.sector,
    sectors: d.sectors,
    sg: d.sg,
    unmap: undefined,
    fua: undefined,
    id,
    tag: -1,
    hwq,
    submittedAt: now,
    resultLen: 0,
    done,
    owner,
    bios: d.bios,
    nrSegs: d.nrSegs,
    flags: d.flags,
    cpu,
    fifoTime: 0,
    flushSeq: 0,
    timerFrom: -1,
    tPrev: undefined,
    tNext: undefined,
    tracked: false,
  };
}

/** blk_mq_rq_ctx_init + blk_mq_bio_to_request: a request holding one bio. */
export function requestFromBio(
  owner: RequestOwner,
  id: number,
  b: BioRef,
  cpu: number,
  hwq: number,
  now: number,
  done: (status: BlkStatus, rq: BlkRequest) => void,
): MqRequest {
  return newRequest(owner, id, { op: b.op, sector: b.sector, sectors: b.sectors, sg: b.segs, bios: [b], nrSegs: b.nrSegs, flags: b.flags }, cpu, hwq, now, done);
}

/** An empty REQ_OP_FLUSH request (the flush machinery's flush_rq). */
export function flushRequest(owner: RequestOwner, id: number, cpu: number, hwq: number, now: number, done: (status: BlkStatus, rq: BlkRequest) => void): MqRequest {
  return newRequest(owner, id, { op: 'flush', sector: 0, sectors: 0, sg: [], bios: [], nrSegs: 0, flags: 0 }, cpu, hwq, now, done);
}

/** Fill in what the driver reads before the request leaves for blk-mq (blk_rq_map_sg, cmd flags). */
export function prepareForDriver(rq: MqRequest, maxSegmentSize: number): void {
  if (rq.bios.length > 1) {
    const lists: SgElem[][] = [];
    for (const b of rq.bios) lists.push(b.segs);
    rq.sg = mapRequestSg(lists, maxSegmentSize);
  } else if (rq.bios.length === 1 && hasOversizedSegment(rq.sg, maxSegmentSize)) rq.sg = mapRequestSg([rq.sg], maxSegmentSize);
  if (rq.op === 'write-zeroes') rq.unmap = (rq.flags & REQ_NOUNMAP) === 0;
  if (rq.flags & REQ_FUA) rq.fua = true;
}
