/**
 * Parsing one virtio-blk request out of a popped chain (virtio 1.x §5.2.6; QEMU's
 * virtio_blk_handle_request() prologue):
 *
 *   device-readable:  struct virtio_blk_outhdr { le32 type; le32 ioprio; le64 sector; }  (16 bytes,
 *                     may span descriptors), then the payload (OUT data, discard ranges)
 *   device-writable:  the payload (IN data, GET_ID string), then u8 status: the LAST byte of the
 *                     LAST writable buffer (it may share that buffer with data)
 *
 * A chain without a readable or writable buffer, with fewer than 16 readable bytes, or whose
 * last writable buffer is empty is refused the way QEMU refuses it: virtio_error() with
 * QEMU's message, and the device needs a reset. Everything else is a request; what its
 * type means is decided later, totally (unknown types complete with UNSUPP).
 */
import type { SgElem } from '../../../hw/memory.js';
import { VIRTIO_BLK_OUTHDR_SIZE, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, blkTypeName } from '../../../hw/virtio/blk.js';
import type { DeviceVirtqueue, VirtqElement } from '../virtio/types.js';
import { sgDropBack, sgDropFront, sgReadPrefix } from './sg.js';

/* Request types hw/virtio/blk.ts does not name (virtio 1.x §5.2.6, legacy §5.2.6.3). */
/** Legacy flag bit, ignored by QEMU ("we ignored it in the past. So keep ignoring it"). */
export const VIRTIO_BLK_T_BARRIER = 0x80000000;
export const VIRTIO_BLK_T_SCSI_CMD = 2;
export const VIRTIO_BLK_T_GET_LIFETIME = 10;
export const VIRTIO_BLK_T_SECURE_ERASE = 14;
export const VIRTIO_BLK_T_ZONE_APPEND = 15;
export const VIRTIO_BLK_T_ZONE_REPORT = 16;
export const VIRTIO_BLK_T_ZONE_OPEN = 18;
export const VIRTIO_BLK_T_ZONE_CLOSE = 20;
export const VIRTIO_BLK_T_ZONE_FINISH = 22;
export const VIRTIO_BLK_T_ZONE_RESET = 24;
export const VIRTIO_BLK_T_ZONE_RESET_ALL = 26;
/** sizeof(struct virtio_blk_zone_report) and sizeof(struct virtio_blk_zone_descriptor). */
export const VIRTIO_BLK_ZONE_REPORT_HDR_SIZE = 16;
export const VIRTIO_BLK_ZONE_DESCRIPTOR_SIZE = 64;

/** QEMU's virtio_error() messages for chains it cannot parse. */
export const MSG_MISSING_HEADERS = 'virtio-blk missing headers';
export const MSG_OUTHDR_TOO_SHORT = 'virtio-blk request outhdr too short';
export const MSG_INHDR_TOO_SHORT = 'virtio-blk request inhdr too short';

/** One request in flight (QEMU's VirtIOBlockReq). */
export interface BlkReq {
  readonly vq: DeviceVirtqueue;
  readonly elem: VirtqElement;
  /** Device generation when popped; a reset makes the request stale. */
  readonly gen: number;
  /** le32 type, as the driver wrote it. */
  readonly type: number;
  /** le64 sector (a JavaScript number: above 2^53 it is inexact but still out of range). */
  readonly sector: number;
  /** Guest-physical address of the status byte. */
  readonly statusAddr: number;
  /** Used length: every device-writable byte, status included (QEMU's req->in_len). */
  readonly inLen: number;
  /** Device-readable payload after the header. */
  readonly out: SgElem[];
  /** Device-writable payload before the status byte. */
  readonly in: SgElem[];
  /** For reads and writes: the data buffers (`in` or `out`) and their size. */
  sg: SgElem[];
  bytes: number;
}

const EMPTY: SgElem[] = [];
const hdrBuf = new Uint8Array(VIRTIO_BLK_OUTHDR_SIZE);
const hdrView = new DataView(hdrBuf.buffer);

/** Parse the chain; a string is the virtio_error() message for a chain that cannot be a request. */
export function parseBlkRequest(vq: DeviceVirtqueue, elem: VirtqElement, gen: number): BlkReq | string {
  const { out, in: inn } = elem;
  if (out.length < 1 || inn.length < 1) return MSG_MISSING_HEADERS;
  const mem = vq.mem;
  let type: number;
  let sector: number;
  const first = out[0];
  if (first.len >= VIRTIO_BLK_OUTHDR_SIZE) {
    type = mem.read32(first.addr);
    sector = mem.read64(first.addr + 8);
  } else {
    if (sgReadPrefix(mem, out, hdrBuf) < VIRTIO_BLK_OUTHDR_SIZE) return MSG_OUTHDR_TOO_SHORT;
    type = hdrView.getUint32(0, true);
    sector = hdrView.getUint32(12, true) * 0x1_0000_0000 + hdrView.getUint32(8, true);
  }
  const last = inn[inn.length - 1];
  if (last.len < 1) return MSG_INHDR_TOO_SHORT;
  let inLen = 0;
  for (let i = 0; i < inn.length; i++) inLen += inn[i].len;
  const outData = out.length === 1 && first.len === VIRTIO_BLK_OUTHDR_SIZE ? EMPTY : sgDropFront(out, VIRTIO_BLK_OUTHDR_SIZE);
  const inData = inn.length === 1 && last.len === 1 ? EMPTY : sgDropBack(inn, 1);
  return { vq, elem, gen, type, sector, statusAddr: last.addr + last.len - 1, inLen, out: outData, in: inData, sg: EMPTY, bytes: 0 };
}

/** The type with the direction bit and the legacy barrier flag masked off (QEMU's switch value). */
export function maskedType(type: number): number {
  return type & 0x7ffffffe;
}

/** A read: VIRTIO_BLK_T_IN without the direction bit (what QEMU's is_read tests for rerror). */
export function isBlkRead(type: number): boolean {
  return maskedType(type) === VIRTIO_BLK_T_IN && (type & VIRTIO_BLK_T_OUT) === 0;
}

/** Name for traces: IN/OUT by direction bit, barrier flag ignored, as QEMU dispatches. */
export function blkReqTypeName(type: number): string {
  return maskedType(type) === 0 ? blkTypeName(type & VIRTIO_BLK_T_OUT) : blkTypeName((type & 0x7fffffff) >>> 0);
}
