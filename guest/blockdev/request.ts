/**
 * A block request as blk-mq hands it to a driver: an operation on a sector range with
 * its data buffers in guest memory, a tag, and a way back.
 */
import type { SgElem } from '../../hw/memory.js';
import type { IoOp } from '../../sim/trace.js';

/**
 * Block status as Linux's blk_status_t, the values this model uses. Beside the generic
 * `ioerr` (BLK_STS_IOERR), a SCSI disk says what kind of failure it was
 * (scsi_result_to_blk_status, guest/scsi/disposition.ts): `transport` (BLK_STS_TRANSPORT:
 * the path to the device failed), and errors the device itself reports, which another
 * path would meet too — `medium` (BLK_STS_MEDIUM), `target` (BLK_STS_TARGET), `nexus`
 * (BLK_STS_NEXUS, a reservation conflict; BLK_STS_RESV_CONFLICT since Linux 6.5), `nospc`
 * (BLK_STS_NOSPC, thin provisioning out of space), `protection` (BLK_STS_PROTECTION).
 * dm-multipath tells them apart with blk_path_error (guest/dm-multipath/path.ts).
 */
export type BlkStatus = 'ok' | 'ioerr' | 'notsupp' | 'resource' | 'timeout' | 'transport' | 'medium' | 'target' | 'nexus' | 'nospc' | 'protection';

export interface BlkIo {
  op: IoOp;
  /** First 512-byte sector. */
  sector: number;
  /** Length in 512-byte sectors (0 for flush / get-id). */
  sectors: number;
  /** Data buffers in guest memory (empty for flush, discard, write-zeroes). */
  sg: SgElem[];
  /** Write-zeroes may deallocate (REQ_NOUNMAP not set). */
  unmap?: boolean;
  /** Force unit access. */
  fua?: boolean;
}

export interface BlkRequest extends BlkIo {
  /** A unique id for traces. */
  id: number;
  tag: number;
  hwq: number;
  submittedAt: number;
  /** When the driver accepted it (blk_mq_start_request): its timeout clock starts here. */
  startedAt?: number;
  /** Bytes the device wrote for reads / get-id. */
  resultLen: number;
  done(status: BlkStatus, req: BlkRequest): void;
}

/** The driver's queue operations, called the way blk_mq_ops is. */
export interface BlkMqOps {
  /**
   * Queue one request on hardware queue `hwq`; `last` says no more follow in this batch,
   * so the driver should notify the device now (bd->last). `resource` means "no room,
   * retry after a completion" (BLK_STS_DEV_RESOURCE); the request stays owned by blk-mq.
   */
  queueRq(hwq: number, rq: BlkRequest, last: boolean): BlkStatus;
  /** The batch ended without a `last` request reaching the driver: kick what it queued. */
  commitRqs(hwq: number): void;
  /**
   * A request has not completed within the queue's timeout (blk_mq_ops.timeout). `done`:
   * the driver has completed it (or will), typically with `complete(rq, 'timeout')`;
   * `reset-timer`: give it another timeout. Optional: without it the timer is reset,
   * as Linux does for drivers (virtio-blk among them) that have no handler.
   */
  timeout?(hwq: number, rq: BlkRequest): 'done' | 'reset-timer';
}
