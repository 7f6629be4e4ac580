/**
 * One SCSI command on its way through the guest (Linux's struct scsi_cmnd, include/scsi/
 * scsi_cmnd.h): the CDB, the data buffer and its direction, and what came back — the
 * result, split as Linux packs it (host byte << 16 | midlayer byte << 8 | SAM status),
 * the sense data and the residual.
 *
 * A command is built either by a block request (sd's init_command) or by the midlayer
 * itself (scsi_execute_cmd: INQUIRY, REPORT LUNS, READ CAPACITY, TEST UNIT READY…). The
 * low-level driver sees only this object and calls `scsiDone` when the device answers.
 */
import type { SgElem } from '../../hw/memory.js';
import { SCSI_SENSE_BUFFERSIZE } from '../../hw/scsi/sense.js';
import { DID_OK, SAM_STAT_GOOD } from '../../hw/scsi/status.js';
import type { BlkRequest } from '../blockdev/request.js';
import type { ScsiDevice } from './device.js';

/** DMA direction (enum dma_data_direction): which way the data moves. */
export type DmaDirection = 'none' | 'to-device' | 'from-device';

/** The midlayer's own result byte (enum scsi_ml_status), set when it converts a failure. */
export const SCSIML_STAT_OK = 0x00;
export const SCSIML_STAT_RESV_CONFLICT = 0x01;
export const SCSIML_STAT_NOSPC = 0x02;
export const SCSIML_STAT_MED_ERROR = 0x03;
export const SCSIML_STAT_TGT_FAILURE = 0x04;

/** SCSI_CMD_RETRIES_NO_LIMIT is not used here: every command has a finite `allowed`. */
export const SD_MAX_RETRIES = 5;
/** SD_TIMEOUT: 30 s for sd's own and the scan's commands. */
export const SD_TIMEOUT_MS = 30_000;

export interface ScsiCmnd {
  /**
   * Unique per host for the command's life: the low-level driver's tag (Linux uses the
   * address). A command reused by its tag's next request (lib.ts) gets a new one, so a
   * driver can tell a late answer for the tag's previous command from one for this.
   */
  id: number;
  readonly device: ScsiDevice;
  /** The CDB, 6..16 bytes (never more than the host's max_cmd_len). */
  cdb: Uint8Array;
  direction: DmaDirection;
  /** Data buffers in guest memory; empty for 'none'. */
  sg: SgElem[];
  /** Bytes the buffers hold (scsi_bufflen). */
  bufflen: number;
  /** The hardware queue (blk_mq_unique_tag_to_hwq) the command travels on. */
  hwq: number;
  /** SCMD_LAST: no more commands follow in this batch; the driver should kick. */
  last: boolean;
  /** DID_* (host_byte). */
  hostByte: number;
  /** SCSIML_STAT_* (scsi_ml_byte). */
  mlByte: number;
  /** SAM status (status_byte). */
  status: number;
  /** Sense bytes the driver copied (at most SCSI_SENSE_BUFFERSIZE). */
  sense: Uint8Array;
  /** Bytes of `bufflen` not transferred (scsi_get_resid). */
  resid: number;
  /** Retries so far and allowed (cmd->retries, cmd->allowed). */
  retries: number;
  allowed: number;
  /** Requeues for unit attentions / busy, bounded (a simulator guard: Linux bounds them by time only). */
  requeues: number;
  /** When the command was first built (jiffies_at_alloc), ns. */
  allocatedAt: number;
  /** Per-command timeout, ms (req->timeout). */
  timeoutMs: number;
  /** SCSI_EH_ABORT_SCHEDULED: the timeout handler has scheduled an abort. */
  abortScheduled: boolean;
  /** SCMD_STATE_COMPLETE: completion or timeout already claimed the command; a late scsi_done is ignored. */
  claimed: boolean;
  /** SCMD_STATE_INFLIGHT: handed to the low-level driver and not back yet. */
  inflight: boolean;
  /** The block request this command serves, if any. */
  rq: BlkRequest | undefined;
  /** Sent by the error handler itself (scsi_send_eh_cmnd): never retried nor escalated. */
  readonly eh?: boolean;
  /** The low-level driver's own state for the command (scsi_cmd_priv), kept while the command is reused. */
  hostPriv: unknown;
  /**
   * Its block request's tag went on with another command while this one was still out
   * (lib.ts): once back from the driver it is never sent again, and the driver may free
   * what it keeps for it.
   */
  retired: boolean;
  /** Where the midlayer sends the finished command. */
  finish(cmd: ScsiCmnd): void;
}

/** No sense (shared: sense is replaced by setSense, never written in place). */
const NO_SENSE = new Uint8Array(0);

export function newCmnd(init: {
  /** From the host's counter (ScsiHost.newCmndId). */
  id: number;
  device: ScsiDevice;
  cdb: Uint8Array;
  direction: DmaDirection;
  sg: SgElem[];
  hwq: number;
  now: number;
  allowed: number;
  timeoutMs: number;
  rq?: BlkRequest;
  eh?: boolean;
  finish(cmd: ScsiCmnd): void;
}): ScsiCmnd {
  let bufflen = 0;
  for (let i = 0; i < init.sg.length; i++) bufflen += init.sg[i].len;
  return {
    id: init.id,
    device: init.device,
    cdb: init.cdb,
    direction: init.direction,
    sg: init.sg,
    bufflen,
    hwq: init.hwq,
    last: true,
    hostByte: DID_OK,
    mlByte: SCSIML_STAT_OK,
    status: SAM_STAT_GOOD,
    sense: NO_SENSE,
    resid: 0,
    retries: 0,
    allowed: init.allowed,
    requeues: 0,
    allocatedAt: init.now,
    timeoutMs: init.timeoutMs,
    abortScheduled: false,
    claimed: false,
    inflight: false,
    rq: init.rq,
    eh: init.eh,
    hostPriv: undefined,
    retired: false,
    finish: init.finish,
  };
}

/**
 * Make a finished command of a block request's tag into the tag's next command (what
 * blk_mq_rq_to_pdu gives Linux: the scsi_cmnd lives in the request, and scsi_queue_rq
 * initializes it again): every field as newCmnd would set it, with a new `id`. The
 * command must be back from the driver and its request ended; the driver's own state
 * (`hostPriv`) stays.
 */
export function recycleCmnd(cmd: ScsiCmnd, id: number, u: { cdb: Uint8Array; direction: DmaDirection; sg: SgElem[]; allowed: number; timeoutMs: number }, hwq: number, now: number, rq: BlkRequest): void {
  const sg = u.sg;
  let bufflen = 0;
  for (let i = 0; i < sg.length; i++) bufflen += sg[i].len;
  cmd.id = id;
  cmd.cdb = u.cdb;
  cmd.direction = u.direction;
  cmd.sg = sg;
  cmd.bufflen = bufflen;
  cmd.hwq = hwq;
  cmd.last = true;
  resetResult(cmd);
  cmd.retries = 0;
  cmd.allowed = u.allowed;
  cmd.requeues = 0;
  cmd.allocatedAt = now;
  cmd.timeoutMs = u.timeoutMs;
  cmd.abortScheduled = false;
  cmd.inflight = false;
  cmd.rq = rq;
}

/** Clear what the last attempt left before the command goes out again. */
export function resetResult(cmd: ScsiCmnd): void {
  cmd.hostByte = DID_OK;
  cmd.mlByte = SCSIML_STAT_OK;
  cmd.status = SAM_STAT_GOOD;
  cmd.sense = NO_SENSE;
  cmd.resid = 0;
  cmd.claimed = false;
}

/** Copy sense from the device, at most SCSI_SENSE_BUFFERSIZE bytes (the sense_buffer). */
export function setSense(cmd: ScsiCmnd, sense: Uint8Array): void {
  cmd.sense = sense.slice(0, SCSI_SENSE_BUFFERSIZE);
}

/** The packed result as Linux prints it. */
export const cmdResult = (c: ScsiCmnd): number => ((c.hostByte & 0xff) << 16) | ((c.mlByte & 0xff) << 8) | (c.status & 0xff);
