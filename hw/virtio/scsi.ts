/**
 * virtio-scsi (virtio 1.2 §5.6, device-types/scsi/description.tex; Linux
 * include/uapi/linux/virtio_scsi.h). All fields little-endian; the CDB and sense inside are
 * SCSI's own big-endian formats (hw/scsi/).
 *
 * Queues: 0 controlq, 1 eventq, 2.. request queues.
 * Config space (struct virtio_scsi_config, 36 bytes): offsets VIRTIO_SCSI_CFG_* below;
 *   sense_size and cdb_size are written by the driver, and reset to 96 and 32.
 * Request (requestq), device-readable part then device-writable part:
 *   virtio_scsi_cmd_req:    +0 u8 lun[8]  +8 le64 tag  +16 u8 task_attr  +17 u8 prio  +18 u8 crn
 *                           +19 u8 cdb[cdb_size]
 *   with T10_PI:            +19 le32 pi_bytesout  +23 le32 pi_bytesin  +27 u8 cdb[cdb_size]
 *                           (Linux's and QEMU's struct virtio_scsi_cmd_req_pi put the two counts
 *                           before the CDB; the spec's prose lists them after it. The drivers win.)
 *   virtio_scsi_cmd_resp:   +0 le32 sense_len  +4 le32 resid  +8 le16 status_qualifier
 *                           +10 u8 status  +11 u8 response  +12 u8 sense[sense_size]
 * Control (controlq):
 *   virtio_scsi_ctrl_tmf_req: +0 le32 type (TMF=0)  +4 le32 subtype  +8 u8 lun[8]  +16 le64 tag
 *   virtio_scsi_ctrl_tmf_resp: +0 u8 response
 *   virtio_scsi_ctrl_an_req:  +0 le32 type (AN_QUERY=1 | AN_SUBSCRIBE=2)  +4 u8 lun[8]  +12 le32 event_requested
 *   virtio_scsi_ctrl_an_resp: +0 le32 event_actual  +4 u8 response
 * Event (eventq), virtio_scsi_event: +0 le32 event (bit 31 EVENTS_MISSED)  +4 u8 lun[8]  +12 le32 reason
 *
 * LUN: lun[0] = 1, lun[1] = target, lun[2..3] = a single-level LUN structure, lun[4..7] = 0.
 * Linux writes lun[2] = 0x40 | lun >> 8 (flat addressing) always; QEMU reads ((lun[2] << 8) |
 * lun[3]) & 0x3fff, accepting lun[2] = 0 or 0x40..0x7f, and writes event LUNs flat only from 256.
 *
 * This file holds the constants, the LUN and the config space; scsi-req.ts the queues' structs.
 */
import * as E from 'fp-ts/lib/Either.js';
import { truncated, type ScsiDataError } from '../scsi/bytes.js';
import { SCSI_SENSE_BUFFERSIZE } from '../scsi/sense.js';

/* Feature bits */
export const VIRTIO_SCSI_F_INOUT = 0;
export const VIRTIO_SCSI_F_HOTPLUG = 1;
export const VIRTIO_SCSI_F_CHANGE = 2;
export const VIRTIO_SCSI_F_T10_PI = 3;

/* Config space */
export const VIRTIO_SCSI_CFG_NUM_QUEUES = 0x00;
export const VIRTIO_SCSI_CFG_SEG_MAX = 0x04;
export const VIRTIO_SCSI_CFG_MAX_SECTORS = 0x08;
export const VIRTIO_SCSI_CFG_CMD_PER_LUN = 0x0c;
export const VIRTIO_SCSI_CFG_EVENT_INFO_SIZE = 0x10;
export const VIRTIO_SCSI_CFG_SENSE_SIZE = 0x14;
export const VIRTIO_SCSI_CFG_CDB_SIZE = 0x18;
export const VIRTIO_SCSI_CFG_MAX_CHANNEL = 0x1c;
export const VIRTIO_SCSI_CFG_MAX_TARGET = 0x1e;
export const VIRTIO_SCSI_CFG_MAX_LUN = 0x20;
export const VIRTIO_SCSI_CONFIG_SIZE = 0x24;

export const VIRTIO_SCSI_CDB_DEFAULT_SIZE = 32;
export const VIRTIO_SCSI_SENSE_DEFAULT_SIZE = SCSI_SENSE_BUFFERSIZE;
/**
 * The largest sense_size and cdb_size QEMU accepts from the driver (virtio_scsi_set_config: a
 * write of sense_size >= 65536 or cdb_size >= 256 is "bad data written to virtio-scsi
 * configuration space" and puts the device in error). The struct codecs cap sizes there too.
 */
export const VIRTIO_SCSI_SENSE_SIZE_MAX = 0xffff;
export const VIRTIO_SCSI_CDB_SIZE_MAX = 0xff;

/** Would QEMU take these sizes written by the driver? */
export const validVirtioScsiSizes = (senseSize: number, cdbSize: number): boolean =>
  Number.isInteger(senseSize) && Number.isInteger(cdbSize) && senseSize >= 0 && senseSize <= VIRTIO_SCSI_SENSE_SIZE_MAX && cdbSize >= 0 && cdbSize <= VIRTIO_SCSI_CDB_SIZE_MAX;

/** A size the driver wrote, as the codecs use it: an integer in [0, max]. */
export const boundedSize = (n: number, max: number): number => (Number.isFinite(n) ? Math.min(Math.max(0, Math.trunc(n)), max) : 0);
export const VIRTIO_SCSI_VQ_CONTROL = 0;
export const VIRTIO_SCSI_VQ_EVENT = 1;
export const VIRTIO_SCSI_VQ_BASE = 2;
/** QEMU's limits (include/hw/virtio/virtio-scsi.h): one channel, 256 targets, 16384 LUNs. */
export const VIRTIO_SCSI_MAX_CHANNEL = 0;
export const VIRTIO_SCSI_MAX_TARGET = 255;
export const VIRTIO_SCSI_MAX_LUN = 16383;

/* Response codes */
export const VIRTIO_SCSI_S_OK = 0;
/** For a TMF, the same value as S_OK. */
export const VIRTIO_SCSI_S_FUNCTION_COMPLETE = 0;
export const VIRTIO_SCSI_S_OVERRUN = 1;
export const VIRTIO_SCSI_S_ABORTED = 2;
export const VIRTIO_SCSI_S_BAD_TARGET = 3;
export const VIRTIO_SCSI_S_RESET = 4;
export const VIRTIO_SCSI_S_BUSY = 5;
export const VIRTIO_SCSI_S_TRANSPORT_FAILURE = 6;
export const VIRTIO_SCSI_S_TARGET_FAILURE = 7;
export const VIRTIO_SCSI_S_NEXUS_FAILURE = 8;
export const VIRTIO_SCSI_S_FAILURE = 9;
export const VIRTIO_SCSI_S_FUNCTION_SUCCEEDED = 10;
export const VIRTIO_SCSI_S_FUNCTION_REJECTED = 11;
export const VIRTIO_SCSI_S_INCORRECT_LUN = 12;

const RESPONSE_NAMES = [
  'OK',
  'OVERRUN',
  'ABORTED',
  'BAD_TARGET',
  'RESET',
  'BUSY',
  'TRANSPORT_FAILURE',
  'TARGET_FAILURE',
  'NEXUS_FAILURE',
  'FAILURE',
  'FUNCTION_SUCCEEDED',
  'FUNCTION_REJECTED',
  'INCORRECT_LUN',
];
export const virtioScsiResponseName = (r: number): string => RESPONSE_NAMES[r] ?? `response(${r})`;

/* Task attributes */
export const VIRTIO_SCSI_S_SIMPLE = 0;
export const VIRTIO_SCSI_S_ORDERED = 1;
export const VIRTIO_SCSI_S_HEAD = 2;
export const VIRTIO_SCSI_S_ACA = 3;

/* Control queue types and TMF subtypes */
export const VIRTIO_SCSI_T_TMF = 0;
export const VIRTIO_SCSI_T_AN_QUERY = 1;
export const VIRTIO_SCSI_T_AN_SUBSCRIBE = 2;
export const VIRTIO_SCSI_T_TMF_ABORT_TASK = 0;
export const VIRTIO_SCSI_T_TMF_ABORT_TASK_SET = 1;
export const VIRTIO_SCSI_T_TMF_CLEAR_ACA = 2;
export const VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET = 3;
export const VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET = 4;
export const VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET = 5;
export const VIRTIO_SCSI_T_TMF_QUERY_TASK = 6;
export const VIRTIO_SCSI_T_TMF_QUERY_TASK_SET = 7;
const TMF_NAMES = ['ABORT_TASK', 'ABORT_TASK_SET', 'CLEAR_ACA', 'CLEAR_TASK_SET', 'I_T_NEXUS_RESET', 'LOGICAL_UNIT_RESET', 'QUERY_TASK', 'QUERY_TASK_SET'];
export const virtioScsiTmfName = (s: number): string => TMF_NAMES[s] ?? `tmf(${s})`;

/* Asynchronous notification event bits (event_requested / event_actual) */
export const VIRTIO_SCSI_EVT_ASYNC_OPERATIONAL_CHANGE = 2;
export const VIRTIO_SCSI_EVT_ASYNC_POWER_MGMT = 4;
export const VIRTIO_SCSI_EVT_ASYNC_EXTERNAL_REQUEST = 8;
export const VIRTIO_SCSI_EVT_ASYNC_MEDIA_CHANGE = 16;
export const VIRTIO_SCSI_EVT_ASYNC_MULTI_HOST = 32;
export const VIRTIO_SCSI_EVT_ASYNC_DEVICE_BUSY = 64;

/* Events */
export const VIRTIO_SCSI_T_EVENTS_MISSED = 0x8000_0000;
export const VIRTIO_SCSI_T_NO_EVENT = 0;
export const VIRTIO_SCSI_T_TRANSPORT_RESET = 1;
export const VIRTIO_SCSI_T_ASYNC_NOTIFY = 2;
export const VIRTIO_SCSI_T_PARAM_CHANGE = 3;
export const VIRTIO_SCSI_EVT_RESET_HARD = 0;
export const VIRTIO_SCSI_EVT_RESET_RESCAN = 1;
export const VIRTIO_SCSI_EVT_RESET_REMOVED = 2;

/* Sizes */
export const VIRTIO_SCSI_LUN_SIZE = 8;
export const VIRTIO_SCSI_CMD_REQ_HDR_SIZE = 19;
export const VIRTIO_SCSI_CMD_REQ_PI_HDR_SIZE = 27;
export const VIRTIO_SCSI_CMD_RESP_HDR_SIZE = 12;
export const VIRTIO_SCSI_CTRL_TMF_REQ_SIZE = 24;
export const VIRTIO_SCSI_CTRL_TMF_RESP_SIZE = 1;
export const VIRTIO_SCSI_CTRL_AN_REQ_SIZE = 16;
export const VIRTIO_SCSI_CTRL_AN_RESP_SIZE = 5;
export const VIRTIO_SCSI_EVENT_SIZE = 16;

export const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
export const need = (what: string, b: Uint8Array, n: number): ScsiDataError | undefined => (b.length < n ? truncated(what, n, b.length) : undefined);

/* ---- LUN ---- */

/** What a virtio-scsi LUN field addresses. Decoding is total: anything else is `invalid`. */
export type VirtioScsiLun =
  | { readonly kind: 'lu'; readonly target: number; readonly lun: number }
  /** C1 01 00 00 00 00 00 00: the REPORT LUNS well-known LU (QEMU answers BAD_TARGET to it). */
  | { readonly kind: 'report-luns' }
  | { readonly kind: 'invalid' };

/** `linux`: always flat addressing (virtio_scsi_init_hdr); `qemu-event`: flat only from 256 (virtio_scsi_push_event). */
export function encodeVirtioScsiLun(target: number, lun: number, style: 'linux' | 'qemu-event' = 'linux'): Uint8Array {
  const out = new Uint8Array(VIRTIO_SCSI_LUN_SIZE);
  out[0] = 1;
  out[1] = target & 0xff;
  out[2] = style === 'linux' || lun >= 256 ? 0x40 | ((lun >> 8) & 0x3f) : 0;
  out[3] = lun & 0xff;
  return out;
}

export const REPORT_LUNS_WLUN_BYTES: Uint8Array = Uint8Array.of(0xc1, 0x01, 0, 0, 0, 0, 0, 0);

/** Decode a LUN field as QEMU's virtio_scsi_device_get checks it (bytes 4..7 are not looked at). */
export function decodeVirtioScsiLun(b: Uint8Array): VirtioScsiLun {
  if (b.length < VIRTIO_SCSI_LUN_SIZE) return { kind: 'invalid' };
  if (b[0] === 0xc1 && b[1] === 0x01 && b.subarray(2, 8).every((x) => x === 0)) return { kind: 'report-luns' };
  if (b[0] !== 1) return { kind: 'invalid' };
  if (b[2] !== 0 && !(b[2] >= 0x40 && b[2] < 0x80)) return { kind: 'invalid' };
  return { kind: 'lu', target: b[1], lun: ((b[2] << 8) | b[3]) & 0x3fff };
}

/* ---- config space ---- */

export interface VirtioScsiConfig {
  readonly numQueues: number;
  readonly segMax: number;
  readonly maxSectors: number;
  readonly cmdPerLun: number;
  readonly eventInfoSize: number;
  readonly senseSize: number;
  readonly cdbSize: number;
  readonly maxChannel: number;
  readonly maxTarget: number;
  readonly maxLun: number;
}

export function encodeVirtioScsiConfig(c: VirtioScsiConfig): Uint8Array {
  const out = new Uint8Array(VIRTIO_SCSI_CONFIG_SIZE);
  const v = dv(out);
  v.setUint32(VIRTIO_SCSI_CFG_NUM_QUEUES, c.numQueues >>> 0, true);
  v.setUint32(VIRTIO_SCSI_CFG_SEG_MAX, c.segMax >>> 0, true);
  v.setUint32(VIRTIO_SCSI_CFG_MAX_SECTORS, c.maxSectors >>> 0, true);
  v.setUint32(VIRTIO_SCSI_CFG_CMD_PER_LUN, c.cmdPerLun >>> 0, true);
  v.setUint32(VIRTIO_SCSI_CFG_EVENT_INFO_SIZE, c.eventInfoSize >>> 0, true);
  v.setUint32(VIRTIO_SCSI_CFG_SENSE_SIZE, c.senseSize >>> 0, true);
  v.setUint32(VIRTIO_SCSI_CFG_CDB_SIZE, c.cdbSize >>> 0, true);
  v.setUint16(VIRTIO_SCSI_CFG_MAX_CHANNEL, c.maxChannel & 0xffff, true);
  v.setUint16(VIRTIO_SCSI_CFG_MAX_TARGET, c.maxTarget & 0xffff, true);
  v.setUint32(VIRTIO_SCSI_CFG_MAX_LUN, c.maxLun >>> 0, true);
  return out;
}

export function decodeVirtioScsiConfig(b: Uint8Array): E.Either<ScsiDataError, VirtioScsiConfig> {
  const short = need('virtio_scsi_config', b, VIRTIO_SCSI_CONFIG_SIZE);
  if (short) return E.left(short);
  const v = dv(b);
  return E.right({
    numQueues: v.getUint32(VIRTIO_SCSI_CFG_NUM_QUEUES, true),
    segMax: v.getUint32(VIRTIO_SCSI_CFG_SEG_MAX, true),
    maxSectors: v.getUint32(VIRTIO_SCSI_CFG_MAX_SECTORS, true),
    cmdPerLun: v.getUint32(VIRTIO_SCSI_CFG_CMD_PER_LUN, true),
    eventInfoSize: v.getUint32(VIRTIO_SCSI_CFG_EVENT_INFO_SIZE, true),
    senseSize: v.getUint32(VIRTIO_SCSI_CFG_SENSE_SIZE, true),
    cdbSize: v.getUint32(VIRTIO_SCSI_CFG_CDB_SIZE, true),
    maxChannel: v.getUint16(VIRTIO_SCSI_CFG_MAX_CHANNEL, true),
    maxTarget: v.getUint16(VIRTIO_SCSI_CFG_MAX_TARGET, true),
    maxLun: v.getUint32(VIRTIO_SCSI_CFG_MAX_LUN, true),
  });
}
