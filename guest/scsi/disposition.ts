/**
 * What a finished command means (drivers/scsi/scsi_error.c scsi_decide_disposition and
 * scsi_check_sense; scsi_lib.c scsi_io_completion_action and scsi_result_to_blk_status).
 *
 *   scsi_decide_disposition   host byte, then status byte → SUCCESS (hand it to the upper
 *                             driver), NEEDS_RETRY (send it again, counting a retry),
 *                             ADD_TO_MLQUEUE (the device is busy: requeue), FAILED (wake
 *                             the error handler)
 *   scsi_check_sense          CHECK CONDITION: the sense key (and ASC/ASCQ) decides
 *   scsi_io_completion_action a command that "succeeded" with an error: fail the request,
 *                             or retry it (a unit attention on a fixed disk, a device
 *                             becoming ready)
 *
 * These are pure functions of the command's result and sense: no device can make them
 * throw (undecodable sense is "no valid sense", as scsi_normalize_sense decides).
 */
import * as E from 'fp-ts/lib/Either.js';
import { INQUIRY, READ_10, TEST_UNIT_READY, WRITE_10 } from '../../hw/scsi/opcodes.js';
import { decodeSense } from '../../hw/scsi/sense.js';
import {
  ABORTED_COMMAND,
  BLANK_CHECK,
  COPY_ABORTED,
  DATA_PROTECT,
  HARDWARE_ERROR,
  ILLEGAL_REQUEST,
  MEDIUM_ERROR,
  MISCOMPARE,
  NO_SENSE,
  NOT_READY,
  RECOVERED_ERROR,
  UNIT_ATTENTION,
  VOLUME_OVERFLOW,
} from '../../hw/scsi/sense-codes.js';
import * as S from '../../hw/scsi/status.js';
import type { BlkStatus } from '../blockdev/request.js';
import { SCSIML_STAT_MED_ERROR, SCSIML_STAT_NOSPC, SCSIML_STAT_OK, SCSIML_STAT_RESV_CONFLICT, SCSIML_STAT_TGT_FAILURE, type ScsiCmnd } from './cmnd.js';

export type Disposition = 'success' | 'needs-retry' | 'add-to-mlqueue' | 'failed';

/** struct scsi_sense_hdr: what scsi_normalize_sense extracts. */
export interface SenseHdr {
  readonly responseCode: number;
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
}

/** scsi_normalize_sense: undefined when the bytes are not sense data (empty, unknown response code). */
export function normalizeSense(b: Uint8Array): SenseHdr | undefined {
  const d = decodeSense(b);
  if (E.isLeft(d)) return undefined;
  return { responseCode: b[0] & 0x7f, key: d.right.sense.key, asc: d.right.sense.asc, ascq: d.right.sense.ascq };
}

const isDeferred = (h: SenseHdr): boolean => h.responseCode === 0x71 || h.responseCode === 0x73;

/** scsi_check_sense: a CHECK CONDITION's sense decides. May set the command's midlayer byte. */
export function scsiCheckSense(cmd: ScsiCmnd): Disposition {
  const h = normalizeSense(cmd.sense);
  if (h === undefined) return 'failed'; // no valid sense data
  if (isDeferred(h)) return 'needs-retry';
  // FILEMARK, EOM or ILI (fixed format): a tape's business, the command is done.
  if (h.responseCode === 0x70 && cmd.sense.length > 2 && (cmd.sense[2] & 0xe0) !== 0) return 'success';
  const sdev = cmd.device;
  switch (h.key) {
    case NO_SENSE:
    case RECOVERED_ERROR:
      return 'success';
    case ABORTED_COMMAND:
      if (h.asc === 0x10) return 'success'; // DIF
      return 'needs-retry';
    case NOT_READY:
    case UNIT_ATTENTION:
      // A unit attention our own reset caused: retry without fuss (but never squash a media change).
      if (sdev.expectingCcUa && !(h.asc === 0x28 && h.ascq === 0x00)) {
        sdev.expectingCcUa = false;
        return 'needs-retry';
      }
      if (h.asc === 0x04 && h.ascq === 0x01) return 'needs-retry'; // becoming ready
      // Pass the unit attention up: scsi_io_completion decides.
      return 'success';
    case DATA_PROTECT:
      if (h.asc === 0x27 && h.ascq === 0x07) {
        cmd.mlByte = SCSIML_STAT_NOSPC; // thin provisioning hard threshold reached
        return 'success';
      }
      cmd.mlByte = SCSIML_STAT_TGT_FAILURE;
      return 'success';
    case COPY_ABORTED:
    case VOLUME_OVERFLOW:
    case MISCOMPARE:
    case BLANK_CHECK:
      cmd.mlByte = SCSIML_STAT_TGT_FAILURE;
      return 'success';
    case MEDIUM_ERROR:
      if (h.asc === 0x11 || h.asc === 0x13 || h.asc === 0x14) {
        cmd.mlByte = SCSIML_STAT_MED_ERROR; // unrecovered read error, AMNF, record not found
        return 'success';
      }
      return 'needs-retry';
    case HARDWARE_ERROR:
      cmd.mlByte = SCSIML_STAT_TGT_FAILURE;
      return illegalRequest(cmd, h);
    case ILLEGAL_REQUEST:
      return illegalRequest(cmd, h);
    default:
      return 'success';
  }
}

function illegalRequest(cmd: ScsiCmnd, h: SenseHdr): Disposition {
  // Invalid opcode, LBA out of range, invalid function, invalid field in CDB, parameter value invalid, write protected.
  if ([0x20, 0x21, 0x22, 0x24, 0x26, 0x27].includes(h.asc)) cmd.mlByte = SCSIML_STAT_TGT_FAILURE;
  return 'success';
}

/** scsi_cmd_retry_allowed: one more try, counted. */
function maybeRetry(cmd: ScsiCmnd): Disposition {
  return ++cmd.retries <= cmd.allowed ? 'needs-retry' : 'success';
}

/** scsi_decide_disposition. */
export function scsiDecideDisposition(cmd: ScsiCmnd): Disposition {
  if (!cmd.device.online) return 'success';
  switch (cmd.hostByte) {
    case S.DID_PASSTHROUGH:
      cmd.hostByte = S.DID_OK;
      return 'success';
    case S.DID_OK:
      break;
    case S.DID_ABORT:
      // Aborted because it timed out: report the timeout.
      if (cmd.abortScheduled) {
        cmd.hostByte = S.DID_TIME_OUT;
        return 'success';
      }
      return 'success';
    case S.DID_NO_CONNECT:
    case S.DID_BAD_TARGET:
      return 'success';
    case S.DID_SOFT_ERROR:
    case S.DID_TRANSPORT_DISRUPTED:
    case S.DID_BUS_BUSY:
    case S.DID_PARITY:
      return maybeRetry(cmd);
    case S.DID_ERROR:
      if (cmd.status === S.SAM_STAT_RESERVATION_CONFLICT) break;
      return maybeRetry(cmd);
    case S.DID_IMM_RETRY:
      return 'needs-retry';
    case S.DID_REQUEUE:
      return 'add-to-mlqueue';
    case S.DID_TRANSPORT_FAILFAST:
    case S.DID_TRANSPORT_MARGINAL:
      return 'success';
    case S.DID_TIME_OUT:
      return cmd.cdb[0] === TEST_UNIT_READY || cmd.cdb[0] === INQUIRY ? 'success' : 'failed';
    case S.DID_RESET:
      return 'success';
    default:
      return 'failed';
  }
  switch (cmd.status) {
    case S.SAM_STAT_TASK_SET_FULL:
    case S.SAM_STAT_BUSY:
      return 'add-to-mlqueue';
    case S.SAM_STAT_GOOD:
    case S.SAM_STAT_COMMAND_TERMINATED:
      return 'success';
    case S.SAM_STAT_TASK_ABORTED:
      return maybeRetry(cmd);
    case S.SAM_STAT_CHECK_CONDITION: {
      const d = scsiCheckSense(cmd);
      return d === 'needs-retry' ? maybeRetry(cmd) : d;
    }
    case S.SAM_STAT_CONDITION_MET:
    case S.SAM_STAT_INTERMEDIATE:
    case S.SAM_STAT_INTERMEDIATE_CONDITION_MET:
    case S.SAM_STAT_ACA_ACTIVE:
      return 'success';
    case S.SAM_STAT_RESERVATION_CONFLICT:
      cmd.mlByte = SCSIML_STAT_RESV_CONFLICT;
      return 'success';
    default:
      return 'failed';
  }
}

/** The command succeeded outright (result 0). */
export const cmdGood = (c: ScsiCmnd): boolean => c.hostByte === S.DID_OK && c.mlByte === SCSIML_STAT_OK && c.status === S.SAM_STAT_GOOD;

/** scsi_status_is_good: GOOD and the statuses SAM counts as good (bit 0 is ignored, as SCSI-2 reserved it). */
export function scsiStatusIsGood(status: number): boolean {
  const s = status & 0xfe;
  return s === S.SAM_STAT_GOOD || s === S.SAM_STAT_CONDITION_MET || s === S.SAM_STAT_INTERMEDIATE || s === S.SAM_STAT_INTERMEDIATE_CONDITION_MET || s === S.SAM_STAT_COMMAND_TERMINATED;
}

/**
 * scsi_result_to_blk_status: the kind of failure, for the block layer and whatever stacks
 * on it (dm-multipath's blk_path_error). First the midlayer byte, which scsi_check_sense
 * and scsi_decide_disposition set from what the logical unit answered — a reservation
 * conflict, thin provisioning out of space, a medium error, a target failure: errors any
 * path to it would get. Then the host byte: a transport the LLD gave up on
 * (DID_TRANSPORT_FAILFAST, _MARGINAL) is BLK_STS_TRANSPORT; a good status is OK; anything
 * else (a device gone, DID_NO_CONNECT, DID_BAD_TARGET, an abort, a time-out) is
 * BLK_STS_IOERR, which may be the path's fault.
 */
export function scsiResultToBlkStatus(c: ScsiCmnd): BlkStatus {
  switch (c.mlByte) {
    case SCSIML_STAT_RESV_CONFLICT:
      return 'nexus';
    case SCSIML_STAT_NOSPC:
      return 'nospc';
    case SCSIML_STAT_MED_ERROR:
      return 'medium';
    case SCSIML_STAT_TGT_FAILURE:
      return 'target';
    default:
      break;
  }
  switch (c.hostByte) {
    case S.DID_OK:
      return scsiStatusIsGood(c.status) ? 'ok' : 'ioerr';
    case S.DID_TRANSPORT_FAILFAST:
    case S.DID_TRANSPORT_MARGINAL:
      return 'transport';
    default:
      return 'ioerr';
  }
}

/**
 * The status scsi_io_completion_action fails a block request with: the result's
 * (scsiResultToBlkStatus), unless current sense says more — ILLEGAL REQUEST or ABORTED
 * COMMAND with ASC 0x10 (a DIX/DIF integrity failure) is BLK_STS_PROTECTION, ILLEGAL
 * REQUEST with INVALID COMMAND OPERATION CODE or INVALID FIELD IN CDB is BLK_STS_TARGET.
 * (A bus reset is retried, never failed here, so its sense is not read.)
 */
export function scsiIoCompletionStatus(cmd: ScsiCmnd): BlkStatus {
  const status = scsiResultToBlkStatus(cmd);
  if (cmd.hostByte === S.DID_RESET || cmd.status !== S.SAM_STAT_CHECK_CONDITION) return status;
  const h = normalizeSense(cmd.sense);
  if (h === undefined || isDeferred(h)) return status;
  if ((h.key === ILLEGAL_REQUEST || h.key === ABORTED_COMMAND) && h.asc === 0x10) return 'protection';
  if (h.key === ILLEGAL_REQUEST && (h.asc === 0x20 || h.asc === 0x24)) return 'target';
  return status;
}

/** What scsi_io_completion does with a block request's command that did not succeed. */
export type IoCompletionAction = 'fail' | 'retry' | 'delayed-retry' | 'reprep';

/** scsi_io_completion_action (a disk: never removable here, so a unit attention is retried). */
export function scsiIoCompletionAction(cmd: ScsiCmnd, nowNs: number): IoCompletionAction {
  const h = cmd.status === S.SAM_STAT_CHECK_CONDITION ? normalizeSense(cmd.sense) : undefined;
  let action: IoCompletionAction = 'fail';
  // A bus reset, ours or another initiator's: just try again.
  if (cmd.hostByte === S.DID_RESET) action = 'retry';
  else if (h !== undefined && !isDeferred(h)) {
    switch (h.key) {
      case UNIT_ATTENTION:
        // "Must have been a power glitch, or a bus reset": a fixed disk's media did not change.
        action = cmd.device.removable ? 'fail' : 'retry';
        break;
      case ILLEGAL_REQUEST:
        // READ/WRITE(10) refused as an invalid opcode: fall back to the 6-byte commands.
        if (cmd.device.use10ForRw && h.asc === 0x20 && h.ascq === 0 && (cmd.cdb[0] === READ_10 || cmd.cdb[0] === WRITE_10)) {
          cmd.device.use10ForRw = false;
          action = 'reprep';
        }
        break;
      case NOT_READY:
        if (h.asc === 0x04 && [0x01, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x14, 0x1a, 0x1b, 0x1d, 0x24, 0x25].includes(h.ascq)) action = 'delayed-retry';
        break;
      default:
        break;
    }
  }
  // Linux gives a command (allowed + 1) timeouts in all before it fails it.
  const waitForNs = (cmd.allowed + 1) * cmd.timeoutMs * 1_000_000;
  if (action !== 'fail' && nowNs - cmd.allocatedAt > waitForNs) action = 'fail';
  return action;
}
