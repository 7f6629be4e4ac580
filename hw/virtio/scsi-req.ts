/**
 * The structs virtio-scsi's queues carry (virtio 1.2 §5.6.6; layouts in scsi.ts): the command
 * request header and response on the request queues, TMF and asynchronous-notification
 * requests and responses on the control queue, events on the event queue.
 *
 * Decoders take the bytes the driver placed (a chain's device-readable part, or what the device
 * wrote) and never throw: too few bytes is a `Truncated` error, which QEMU treats as a broken
 * request ("virtio_scsi_bad_req"); an unknown control type decodes to `unsupported`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../memory.js';
import type { ScsiDataError } from '../scsi/bytes.js';
import {
  boundedSize,
  dv,
  need,
  VIRTIO_SCSI_CDB_SIZE_MAX,
  VIRTIO_SCSI_CMD_REQ_HDR_SIZE,
  VIRTIO_SCSI_CMD_REQ_PI_HDR_SIZE,
  VIRTIO_SCSI_CMD_RESP_HDR_SIZE,
  VIRTIO_SCSI_CTRL_AN_REQ_SIZE,
  VIRTIO_SCSI_CTRL_AN_RESP_SIZE,
  VIRTIO_SCSI_CTRL_TMF_REQ_SIZE,
  VIRTIO_SCSI_EVENT_SIZE,
  VIRTIO_SCSI_LUN_SIZE,
  VIRTIO_SCSI_SENSE_SIZE_MAX,
  VIRTIO_SCSI_T_AN_QUERY,
  VIRTIO_SCSI_T_AN_SUBSCRIBE,
  VIRTIO_SCSI_T_EVENTS_MISSED,
  VIRTIO_SCSI_T_TMF,
} from './scsi.js';

type R<T> = E.Either<ScsiDataError, T>;

const lunOf = (b: Uint8Array, o: number): Uint8Array => b.slice(o, o + VIRTIO_SCSI_LUN_SIZE);
const putLun = (out: Uint8Array, o: number, lun: Uint8Array): void => out.set(lun.subarray(0, VIRTIO_SCSI_LUN_SIZE), o);

/* ---- request queue ---- */

export interface VirtioScsiCmdReq {
  readonly lun: Uint8Array;
  /** The driver's command identifier, echoed by TMFs (Linux puts the scsi_cmnd's address there). */
  readonly tag: bigint;
  readonly taskAttr: number;
  readonly prio: number;
  readonly crn: number;
  /** Protection information byte counts: present exactly when VIRTIO_SCSI_F_T10_PI was negotiated. */
  readonly pi?: { readonly bytesOut: number; readonly bytesIn: number };
  /** cdb_size bytes: the CDB, then zeroes. */
  readonly cdb: Uint8Array;
}

/** Header bytes before the data-out buffers: 19 (27 with T10_PI) + cdb_size (taken in [0, 255]). */
export const virtioScsiCmdReqSize = (cdbSize: number, pi: boolean): number =>
  (pi ? VIRTIO_SCSI_CMD_REQ_PI_HDR_SIZE : VIRTIO_SCSI_CMD_REQ_HDR_SIZE) + boundedSize(cdbSize, VIRTIO_SCSI_CDB_SIZE_MAX);

/** The header; the CDB is cut or zero-padded to `cdbSize`. */
export function encodeVirtioScsiCmdReq(r: VirtioScsiCmdReq, cdbSizeIn: number): Uint8Array {
  const cdbSize = boundedSize(cdbSizeIn, VIRTIO_SCSI_CDB_SIZE_MAX);
  const out = new Uint8Array(virtioScsiCmdReqSize(cdbSize, r.pi !== undefined));
  const v = dv(out);
  putLun(out, 0, r.lun);
  v.setBigUint64(8, BigInt.asUintN(64, r.tag), true);
  out[16] = r.taskAttr & 0xff;
  out[17] = r.prio & 0xff;
  out[18] = r.crn & 0xff;
  let o = VIRTIO_SCSI_CMD_REQ_HDR_SIZE;
  if (r.pi !== undefined) {
    v.setUint32(19, r.pi.bytesOut >>> 0, true);
    v.setUint32(23, r.pi.bytesIn >>> 0, true);
    o = VIRTIO_SCSI_CMD_REQ_PI_HDR_SIZE;
  }
  out.set(r.cdb.subarray(0, cdbSize), o);
  return out;
}

export function decodeVirtioScsiCmdReq(b: Uint8Array, cdbSizeIn: number, pi: boolean): R<VirtioScsiCmdReq> {
  const cdbSize = boundedSize(cdbSizeIn, VIRTIO_SCSI_CDB_SIZE_MAX);
  const short = need('virtio_scsi_cmd_req', b, virtioScsiCmdReqSize(cdbSize, pi));
  if (short) return E.left(short);
  const v = dv(b);
  const o = pi ? VIRTIO_SCSI_CMD_REQ_PI_HDR_SIZE : VIRTIO_SCSI_CMD_REQ_HDR_SIZE;
  return E.right({
    lun: lunOf(b, 0),
    tag: v.getBigUint64(8, true),
    taskAttr: b[16],
    prio: b[17],
    crn: b[18],
    ...(pi ? { pi: { bytesOut: v.getUint32(19, true), bytesIn: v.getUint32(23, true) } } : {}),
    cdb: b.slice(o, o + cdbSize),
  });
}

export interface VirtioScsiCmdResp {
  /** Bytes of valid sense; may exceed what sense_size let the device place. */
  readonly senseLen: number;
  /** Residual: data-in or data-out bytes not transferred. */
  readonly resid: number;
  readonly statusQualifier: number;
  /** The SAM status byte. */
  readonly status: number;
  /** VIRTIO_SCSI_S_*. */
  readonly response: number;
  /** The sense bytes present: min(sense_len, sense_size). */
  readonly sense: Uint8Array;
}

/** A response with `sense_len` = the sense given. */
export const cmdResp = (r: Omit<VirtioScsiCmdResp, 'senseLen' | 'sense' | 'statusQualifier'> & { sense?: Uint8Array; statusQualifier?: number }): VirtioScsiCmdResp => ({
  statusQualifier: 0,
  ...r,
  sense: r.sense ?? new Uint8Array(0),
  senseLen: r.sense?.length ?? 0,
});

/** Header bytes before the data-in buffers: 12 + sense_size (taken in [0, 65535]). */
export const virtioScsiCmdRespSize = (senseSize: number): number => VIRTIO_SCSI_CMD_RESP_HDR_SIZE + boundedSize(senseSize, VIRTIO_SCSI_SENSE_SIZE_MAX);

/** The response header and sense[sense_size] (sense cut or zero-padded). */
export function encodeVirtioScsiCmdResp(r: VirtioScsiCmdResp, senseSizeIn: number): Uint8Array {
  const senseSize = boundedSize(senseSizeIn, VIRTIO_SCSI_SENSE_SIZE_MAX);
  const out = new Uint8Array(virtioScsiCmdRespSize(senseSize));
  const v = dv(out);
  v.setUint32(0, r.senseLen >>> 0, true);
  v.setUint32(4, r.resid >>> 0, true);
  v.setUint16(8, r.statusQualifier & 0xffff, true);
  out[10] = r.status & 0xff;
  out[11] = r.response & 0xff;
  out.set(r.sense.subarray(0, senseSize), VIRTIO_SCSI_CMD_RESP_HDR_SIZE);
  return out;
}

/** The response as the driver reads it: sense = the first min(sense_len, sense_size) bytes that arrived. */
export function decodeVirtioScsiCmdResp(b: Uint8Array, senseSize: number): R<VirtioScsiCmdResp> {
  const short = need('virtio_scsi_cmd_resp', b, VIRTIO_SCSI_CMD_RESP_HDR_SIZE);
  if (short) return E.left(short);
  const v = dv(b);
  const senseLen = v.getUint32(0, true);
  const n = Math.min(senseLen, boundedSize(senseSize, VIRTIO_SCSI_SENSE_SIZE_MAX), b.length - VIRTIO_SCSI_CMD_RESP_HDR_SIZE);
  return E.right({
    senseLen,
    resid: v.getUint32(4, true),
    statusQualifier: v.getUint16(8, true),
    status: b[10],
    response: b[11],
    sense: b.slice(VIRTIO_SCSI_CMD_RESP_HDR_SIZE, VIRTIO_SCSI_CMD_RESP_HDR_SIZE + n),
  });
}

/* ---- control queue ---- */

export type VirtioScsiCtrlReq =
  | { readonly kind: 'tmf'; readonly subtype: number; readonly lun: Uint8Array; readonly tag: bigint }
  | { readonly kind: 'an-query' | 'an-subscribe'; readonly lun: Uint8Array; readonly eventRequested: number }
  /** A type the spec does not define; QEMU completes it with no effect. */
  | { readonly kind: 'unsupported'; readonly type: number };

export function encodeVirtioScsiCtrlReq(r: VirtioScsiCtrlReq): Uint8Array {
  switch (r.kind) {
    case 'tmf': {
      const out = new Uint8Array(VIRTIO_SCSI_CTRL_TMF_REQ_SIZE);
      const v = dv(out);
      v.setUint32(0, VIRTIO_SCSI_T_TMF, true);
      v.setUint32(4, r.subtype >>> 0, true);
      putLun(out, 8, r.lun);
      v.setBigUint64(16, BigInt.asUintN(64, r.tag), true);
      return out;
    }
    case 'an-query':
    case 'an-subscribe': {
      const out = new Uint8Array(VIRTIO_SCSI_CTRL_AN_REQ_SIZE);
      const v = dv(out);
      v.setUint32(0, r.kind === 'an-query' ? VIRTIO_SCSI_T_AN_QUERY : VIRTIO_SCSI_T_AN_SUBSCRIBE, true);
      putLun(out, 4, r.lun);
      v.setUint32(12, r.eventRequested >>> 0, true);
      return out;
    }
    case 'unsupported': {
      const out = new Uint8Array(4);
      dv(out).setUint32(0, r.type >>> 0, true);
      return out;
    }
  }
}

export function decodeVirtioScsiCtrlReq(b: Uint8Array): R<VirtioScsiCtrlReq> {
  const short = need('virtio-scsi control request', b, 4);
  if (short) return E.left(short);
  const v = dv(b);
  const type = v.getUint32(0, true);
  if (type === VIRTIO_SCSI_T_TMF) {
    const s = need('virtio_scsi_ctrl_tmf_req', b, VIRTIO_SCSI_CTRL_TMF_REQ_SIZE);
    return s ? E.left(s) : E.right({ kind: 'tmf', subtype: v.getUint32(4, true), lun: lunOf(b, 8), tag: v.getBigUint64(16, true) });
  }
  if (type === VIRTIO_SCSI_T_AN_QUERY || type === VIRTIO_SCSI_T_AN_SUBSCRIBE) {
    const s = need('virtio_scsi_ctrl_an_req', b, VIRTIO_SCSI_CTRL_AN_REQ_SIZE);
    return s ? E.left(s) : E.right({ kind: type === VIRTIO_SCSI_T_AN_QUERY ? 'an-query' : 'an-subscribe', lun: lunOf(b, 4), eventRequested: v.getUint32(12, true) });
  }
  return E.right({ kind: 'unsupported', type });
}

/** virtio_scsi_ctrl_tmf_resp: one byte. */
export const encodeVirtioScsiTmfResp = (response: number): Uint8Array => Uint8Array.of(response & 0xff);

export function decodeVirtioScsiTmfResp(b: Uint8Array): R<number> {
  return b.length < 1 ? E.left(need('virtio_scsi_ctrl_tmf_resp', b, 1)!) : E.right(b[0]);
}

export interface VirtioScsiAnResp {
  readonly eventActual: number;
  readonly response: number;
}

export function encodeVirtioScsiAnResp(r: VirtioScsiAnResp): Uint8Array {
  const out = new Uint8Array(VIRTIO_SCSI_CTRL_AN_RESP_SIZE);
  dv(out).setUint32(0, r.eventActual >>> 0, true);
  out[4] = r.response & 0xff;
  return out;
}

export function decodeVirtioScsiAnResp(b: Uint8Array): R<VirtioScsiAnResp> {
  const s = need('virtio_scsi_ctrl_an_resp', b, VIRTIO_SCSI_CTRL_AN_RESP_SIZE);
  return s ? E.left(s) : E.right({ eventActual: dv(b).getUint32(0, true), response: b[4] });
}

/* ---- event queue ---- */

export interface VirtioScsiEvent {
  /** VIRTIO_SCSI_T_* without the EVENTS_MISSED bit. */
  readonly event: number;
  /** The device dropped events for want of buffers before this one. */
  readonly eventsMissed: boolean;
  readonly lun: Uint8Array;
  /** TRANSPORT_RESET: VIRTIO_SCSI_EVT_RESET_*; PARAM_CHANGE: asc | ascq << 8; ASYNC_NOTIFY: the event bits. */
  readonly reason: number;
}

/** PARAM_CHANGE's reason for a unit attention's ASC/ASCQ (e.g. 2Ah/09h CAPACITY DATA HAS CHANGED). */
export const paramChangeReason = (asc: number, ascq: number): number => (asc & 0xff) | ((ascq & 0xff) << 8);

export function encodeVirtioScsiEvent(e: VirtioScsiEvent): Uint8Array {
  const out = new Uint8Array(VIRTIO_SCSI_EVENT_SIZE);
  const v = dv(out);
  v.setUint32(0, ((e.event & 0x7fff_ffff) | (e.eventsMissed ? VIRTIO_SCSI_T_EVENTS_MISSED : 0)) >>> 0, true);
  putLun(out, 4, e.lun);
  v.setUint32(12, e.reason >>> 0, true);
  return out;
}

export function decodeVirtioScsiEvent(b: Uint8Array): R<VirtioScsiEvent> {
  const s = need('virtio_scsi_event', b, VIRTIO_SCSI_EVENT_SIZE);
  if (s) return E.left(s);
  const v = dv(b);
  const event = v.getUint32(0, true);
  return E.right({ event: event & 0x7fff_ffff, eventsMissed: event >= VIRTIO_SCSI_T_EVENTS_MISSED, lun: lunOf(b, 4), reason: v.getUint32(12, true) });
}

/**
 * Where a struct at guest-physical `addr` starts in its page (`addr % PAGE_SIZE`), for the
 * driver and the device filling or reading one in place. Written with a floor: addresses
 * read from descriptors (two 32-bit halves) are doubles, and `%` on doubles is a slow
 * floating-point remainder.
 */
export const pageOffset = (addr: number): number => addr - Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
