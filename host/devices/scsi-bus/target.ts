/**
 * Commands the bus answers itself, before (or instead of) the device (QEMU hw/scsi/scsi-bus.c):
 *
 * - reqops_unit_attention: a unit attention is pending, so the command fails with it;
 * - reqops_invalid_opcode / reqops_invalid_field: the CDB could not be parsed, or implies
 *   a transfer above INT32_MAX bytes;
 * - reqops_target_command: REPORT LUNS (for the whole target, as if LUN 0 answered),
 *   REQUEST SENSE of the device's stored sense, and what an absent LUN answers: INQUIRY
 *   with peripheral qualifier 3 (or, for LUN 0, qualifier 1 and QEMU TARGET), REQUEST SENSE
 *   with LOGICAL UNIT NOT SUPPORTED, anything else CHECK CONDITION with that sense.
 */
import { put32, putAsciiField } from '../../../hw/scsi/bytes.js';
import { SAM_STAT_CHECK_CONDITION, SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import {
  INQUIRY,
  REPORT_LUNS,
  REQUEST_SENSE,
  SCSI_INQUIRY_LEN,
  SCSI_SENSE_LEN,
  SENSE,
  TEST_UNIT_READY,
  TYPE_INACTIVE,
  TYPE_NOT_PRESENT,
  TYPE_NO_LUN,
  UNIT_ATTENTION,
  buildSense,
  convertSense,
  type SenseCode,
} from './defs.js';
import type { ScsiReqHandler, ScsiRequest } from './request.js';

/** QEMU's qemu_hw_version() for machine types since 2.5: INQUIRY's product revision. */
export const QEMU_HW_VERSION = '2.5+';

/** A command that fails at once with `sense` (reqops_invalid_opcode, reqops_invalid_field). */
export function failingHandler(req: ScsiRequest, sense: SenseCode): ScsiReqHandler {
  return {
    sendCommand() {
      req.checkCondition(sense);
      return 0;
    },
    continue() {},
    cancelIo: () => false,
  };
}

/** reqops_unit_attention: CHECK CONDITION with the device's pending unit attention, else the bus's. */
export function unitAttentionHandler(req: ScsiRequest): ScsiReqHandler {
  return {
    sendCommand() {
      const c = req.dev.common;
      if (c.unitAttention.key === UNIT_ATTENTION) req.buildSense(c.unitAttention);
      else if (req.bus.unitAttention.key === UNIT_ATTENTION) req.buildSense(req.bus.unitAttention);
      req.complete(SAM_STAT_CHECK_CONDITION);
      return 0;
    },
    continue() {},
    cancelIo: () => false,
  };
}

/** SAM LUN structure for REPORT LUNS (store_lun): peripheral addressing below 256, flat above. */
function storeLun(out: Uint8Array, at: number, lun: number): void {
  if (lun < 256) {
    out[at] = 0;
    out[at + 1] = lun;
  } else {
    out[at] = 0x40 | ((lun >> 8) & 0x3f);
    out[at + 1] = lun & 0xff;
  }
}

/** reqops_target_command. */
export function targetHandler(req: ScsiRequest): ScsiReqHandler {
  let out: Uint8Array = new Uint8Array(0);
  const fail = (sense: SenseCode): number => {
    req.checkCondition(sense);
    return 0;
  };
  const buf = req.cmd.buf;
  const xfer = req.cmd.xfer;

  function reportLuns(): boolean {
    if (xfer < 16 || buf[2] > 2) return false;
    const dev = req.dev.common;
    // The bus lists its children newest first (qdev inserts at the head).
    const luns = req.bus.devices.filter((d) => d.common.channel === dev.channel && d.common.id === dev.id && d.common.lun !== 0).map((d) => d.common.lun);
    const len = 16 + 8 * luns.length;
    const data = new Uint8Array(len);
    put32(data, 0, len - 8);
    luns.forEach((lun, i) => storeLun(data, 16 + 8 * i, lun));
    out = data.subarray(0, Math.min(len, xfer & ~7));
    return true;
  }

  function inquiry(): boolean {
    if (buf[1] & 0x2) return false; // CmdDt: not implemented
    if (buf[1] & 0x1) {
      // QEMU lays this page out from byte 0: page code, 0, page length, then the one page.
      if (buf[2] !== 0x00) return false;
      out = new Uint8Array([buf[2], 0x00, 0x01, 0x00]).subarray(0, Math.min(xfer, 4));
      return true;
    }
    if (buf[2] !== 0) return false;
    const len = Math.min(xfer, SCSI_INQUIRY_LEN);
    const data = new Uint8Array(SCSI_INQUIRY_LEN);
    if (req.lun !== 0) {
      data[0] = TYPE_NO_LUN;
    } else {
      data[0] = TYPE_NOT_PRESENT | TYPE_INACTIVE;
      data[2] = 5;
      data[3] = 2 | 0x10;
      data[4] = (len - 5) & 0xff;
      data[7] = 0x10 | (req.bus.info.tcq ? 0x02 : 0);
      putAsciiField(data, 8, 8, 'QEMU');
      putAsciiField(data, 16, 16, 'QEMU TARGET');
      // pstrcpy(&buf[32], 4, ...): at most 3 characters and a NUL.
      for (let i = 0; i < Math.min(3, QEMU_HW_VERSION.length); i++) data[32 + i] = QEMU_HW_VERSION.charCodeAt(i);
    }
    out = data.subarray(0, len);
    return true;
  }

  return {
    sendCommand() {
      const fixed = (buf[1] & 1) === 0;
      if (req.lun !== 0 && buf[0] !== INQUIRY && buf[0] !== REQUEST_SENSE) return fail(SENSE.LUN_NOT_SUPPORTED);
      switch (buf[0]) {
        case REPORT_LUNS:
          if (!reportLuns()) return fail(SENSE.INVALID_FIELD);
          break;
        case INQUIRY:
          if (!inquiry()) return fail(SENSE.INVALID_FIELD);
          break;
        case REQUEST_SENSE: {
          const c = req.dev.common;
          if (req.lun !== 0) out = buildSense(SENSE.LUN_NOT_SUPPORTED, fixed ? 'fixed' : 'descriptor', xfer);
          else out = convertSense(c.sense.subarray(0, c.senseLen), Math.min(xfer, SCSI_SENSE_LEN), fixed ? 'fixed' : 'descriptor');
          if (c.senseIsUa) {
            req.dev.unitAttentionReported?.();
            c.senseLen = 0;
            c.senseIsUa = false;
          }
          break;
        }
        case TEST_UNIT_READY:
          break;
        default:
          return fail(SENSE.INVALID_OPCODE);
      }
      if (out.length === 0) req.complete(SAM_STAT_GOOD);
      return out.length;
    },
    continue() {
      if (out.length > 0) req.dataIn(out);
      req.complete(SAM_STAT_GOOD);
    },
    cancelIo: () => false,
  };
}
