/**
 * The block layer's own record of a bio in flight: the fields it reads on the hot path
 * (op, range, data, segment count, REQ_* bits), and the completion chain. A bio split
 * to the queue limits becomes parts that point at their parent; the parent ends when
 * its last part does, with the first error any part saw (bio_chain / bio_endio's
 * __bi_remaining).
 */
import type { SgElem } from '../../hw/memory.js';
import type { BioOp } from './bio.js';
import type { BlkStatus } from './request.js';

export type EndIo = (status: BlkStatus) => void;

export class BioRef {
  /** Parts (or this bio itself) still to complete. */
  remaining = 1;
  /** The first error seen (blk_status_t sticks at the first failure). */
  status: BlkStatus = 'ok';

  constructor(
    /** The bio's id in traces (parts of a split bio share it). */
    readonly id: number,
    readonly op: BioOp,
    public sector: number,
    public sectors: number,
    readonly segs: SgElem[],
    /** Physical segments (against max_segment_size). */
    readonly nrSegs: number,
    /** REQ_* bits (bio.ts). */
    public flags: number,
    readonly parent: BioRef | undefined,
    readonly endIo: EndIo | undefined,
  ) {}

  get end(): number {
    return this.sector + this.sectors;
  }
}

/** bio_endio: record `status`; when nothing remains, end the parent or call the submitter back. */
export function endBio(b: BioRef, status: BlkStatus): void {
  if (status !== 'ok' && b.status === 'ok') b.status = status;
  if (--b.remaining > 0) return;
  if (b.parent) endBio(b.parent, b.status);
  else b.endIo?.(b.status);
}
