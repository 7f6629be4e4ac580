/**
 * What each request type does (QEMU's virtio_blk_handle_request() switch). Decoding is
 * total: QEMU switches on the type with VIRTIO_BLK_T_OUT and the legacy BARRIER flag
 * masked off, and everything it does not know completes with VIRTIO_BLK_S_UNSUPP.
 *
 * Inline completions (a bad range, GET_ID, UNSUPP) happen here, during the handler run,
 * as in QEMU; reads, writes, flushes, discards and write-zeroes go to the backend and
 * complete later. A return value is a virtio_error() message: the device needs a reset.
 */
import { dmaScatter, sgBytes } from '../../../hw/memory.js';
import {
  VIRTIO_BLK_DWZ_SEG_SIZE,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
} from '../../../hw/virtio/blk.js';
import type { BlockIoError } from '../../storage/block-backend-api.js';
import { VIRTIO_BLK_MAX_MERGE_REQS, submitMultireq, type MultiReqBuffer } from './multireq.js';
import { BDRV_REQUEST_MAX_SECTORS } from './props.js';
import {
  VIRTIO_BLK_T_SCSI_CMD,
  VIRTIO_BLK_T_ZONE_REPORT,
  VIRTIO_BLK_ZONE_DESCRIPTOR_SIZE,
  VIRTIO_BLK_ZONE_REPORT_HDR_SIZE,
  blkReqTypeName,
  isBlkRead,
  maskedType,
  type BlkReq,
} from './request.js';
import { sgReadPrefix } from './sg.js';
import type { BlkState } from './state.js';

export const MSG_DWZ_HEADER_TOO_SHORT = 'virtio-blk discard/write_zeroes header too short';
export const MSG_ZONE_REPORT_TOO_SMALL = 'in buffer too small for zone report';

/** Handle one parsed request; a string return is a virtio_error() message. */
export function handleRequest(s: BlkState, req: BlkReq, mrb: MultiReqBuffer): string | null {
  const m = maskedType(req.type);
  if (s.trace.wants['device-request']) {
    const toDevice = !isBlkRead(req.type) && m !== VIRTIO_BLK_T_GET_ID && m !== VIRTIO_BLK_T_ZONE_REPORT;
    const bytes = sgBytes(toDevice ? req.out : req.in);
    s.trace.emit({ kind: 'device-request', t: s.sim.now, dev: s.devName, vq: req.vq.index, head: req.elem.head, type: blkReqTypeName(req.type), sector: req.sector, bytes });
  }
  switch (m) {
    case VIRTIO_BLK_T_IN:
      handleReadWrite(s, req, mrb);
      return null;
    case VIRTIO_BLK_T_FLUSH:
      // "Make sure all outstanding writes are posted to the backing device."
      if (mrb.isWrite && mrb.reqs.length > 0) submitMultireq(s, mrb);
      s.inFlight++;
      s.backend.flush(s.completer.io(req).cb);
      return null;
    case VIRTIO_BLK_T_SCSI_CMD:
      handleScsi(s, req);
      return null;
    case VIRTIO_BLK_T_GET_ID:
      handleGetId(s, req);
      return null;
    case VIRTIO_BLK_T_DISCARD & ~VIRTIO_BLK_T_OUT:
    case VIRTIO_BLK_T_WRITE_ZEROES & ~VIRTIO_BLK_T_OUT:
      return handleDiscardWriteZeroes(s, req, m === (VIRTIO_BLK_T_WRITE_ZEROES & ~VIRTIO_BLK_T_OUT));
    case VIRTIO_BLK_T_ZONE_REPORT:
      // Checked before "is the device zoned?", so even a non-zoned device refuses a short buffer.
      if (req.inLen < 1 + VIRTIO_BLK_ZONE_REPORT_HDR_SIZE + VIRTIO_BLK_ZONE_DESCRIPTOR_SIZE) return MSG_ZONE_REPORT_TOO_SMALL;
      s.completer.complete(req, VIRTIO_BLK_S_UNSUPP);
      return null;
    default:
      // Unknown types; also ZONE_APPEND/SECURE_ERASE (14) and zone management: no VIRTIO_BLK_F_ZONED.
      s.completer.complete(req, VIRTIO_BLK_S_UNSUPP);
      return null;
  }
}

/** virtio_blk_sect_range_ok(). */
export function sectRangeOk(s: BlkState, sector: number, size: number): boolean {
  const nbSectors = Math.floor(size / 512);
  if (nbSectors > BDRV_REQUEST_MAX_SECTORS) return false;
  const lbs = s.conf.logical_block_size;
  if (sector % (lbs / 512) !== 0) return false;
  if (size % lbs !== 0) return false;
  const total = Math.floor(s.backend.length() / 512);
  return sector <= total && nbSectors <= total - sector;
}

function handleReadWrite(s: BlkState, req: BlkReq, mrb: MultiReqBuffer): void {
  const isWrite = (req.type & VIRTIO_BLK_T_OUT) !== 0;
  const sg = isWrite ? req.out : req.in;
  let bytes = 0;
  for (let i = 0; i < sg.length; i++) bytes += sg[i].len;
  req.sg = sg;
  req.bytes = bytes;
  // A read-only BlockBackend refuses writes (-EPERM), which werror=report turns into IOERR.
  if (!sectRangeOk(s, req.sector, bytes) || (isWrite && s.backend.readOnly)) {
    s.completer.complete(req, VIRTIO_BLK_S_IOERR);
    return;
  }
  const n = mrb.reqs.length;
  if (n > 0 && (n === VIRTIO_BLK_MAX_MERGE_REQS || isWrite !== mrb.isWrite || !s.conf['request-merging'])) submitMultireq(s, mrb);
  mrb.reqs.push(req);
  mrb.isWrite = isWrite;
}

const ERRORS_255 = new Uint8Array([255, 0, 0, 0]);

/**
 * SCSI passthrough was removed in QEMU 9.1: the request fails, with virtio_scsi_inhdr.errors
 * (the second-to-last writable buffer) set to 255 "so that the ioctl fails in the guest".
 */
function handleScsi(s: BlkState, req: BlkReq): void {
  const { out, in: inn } = req.elem;
  if (out.length < 2 || inn.length < 3) {
    s.completer.complete(req, VIRTIO_BLK_S_IOERR);
    return;
  }
  const e = inn[inn.length - 2];
  const n = Math.min(4, e.len);
  if (n > 0) req.vq.mem.write(e.addr, ERRORS_255.subarray(0, n));
  s.completer.complete(req, VIRTIO_BLK_S_UNSUPP);
}

/** The serial and its NUL, cut to the buffer and to VIRTIO_BLK_ID_BYTES (no NUL at 20 bytes). */
function handleGetId(s: BlkState, req: BlkReq): void {
  const size = Math.min(s.serial.length + 1, sgBytes(req.in), VIRTIO_BLK_ID_BYTES);
  if (size > 0) {
    const buf = new Uint8Array(size);
    buf.set(s.serial.subarray(0, Math.min(size, s.serial.length)));
    dmaScatter(req.vq.mem, req.in, buf);
  }
  s.completer.complete(req, VIRTIO_BLK_S_OK);
}

const dwzBuf = new Uint8Array(VIRTIO_BLK_DWZ_SEG_SIZE);
const dwzView = new DataView(dwzBuf.buffer);

/** DISCARD / WRITE_ZEROES: one struct virtio_blk_discard_write_zeroes (max_*_seg = 1). */
function handleDiscardWriteZeroes(s: BlkState, req: BlkReq, isWriteZeroes: boolean): string | null {
  const done = (status: number): null => {
    s.completer.complete(req, status);
    return null;
  };
  // iopath: a feature the device did not offer is refused (QEMU would still pass it to the drive).
  if (!(isWriteZeroes ? s.conf['write-zeroes'] : s.conf.discard)) return done(VIRTIO_BLK_S_UNSUPP);
  const outLen = sgBytes(req.out);
  // "Unsupported if VIRTIO_BLK_T_OUT is not set or the request contains more than one segment."
  if ((req.type & VIRTIO_BLK_T_OUT) === 0 || outLen > VIRTIO_BLK_DWZ_SEG_SIZE) return done(VIRTIO_BLK_S_UNSUPP);
  if (outLen < VIRTIO_BLK_DWZ_SEG_SIZE) return MSG_DWZ_HEADER_TOO_SHORT;
  sgReadPrefix(req.vq.mem, req.out, dwzBuf);
  const sector = dwzView.getUint32(4, true) * 0x1_0000_0000 + dwzView.getUint32(0, true);
  const numSectors = dwzView.getUint32(8, true);
  const flags = dwzView.getUint32(12, true);
  const max = isWriteZeroes ? s.conf['max-write-zeroes-sectors'] : s.conf['max-discard-sectors'];
  if (numSectors > max) return done(VIRTIO_BLK_S_IOERR);
  const bytes = numSectors * 512;
  if (!sectRangeOk(s, sector, bytes)) return done(VIRTIO_BLK_S_IOERR);
  // "The device MUST set the status byte to VIRTIO_BLK_S_UNSUPP ... if any unknown flag is set"
  if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0) return done(VIRTIO_BLK_S_UNSUPP);
  const unmap = (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0;
  if (!isWriteZeroes && unmap) return done(VIRTIO_BLK_S_UNSUPP);
  if (s.backend.readOnly) return done(VIRTIO_BLK_S_IOERR);
  s.inFlight++;
  const cb = s.completer.io(req).cb;
  // BDRV_REQ_MAY_UNMAP: the drive's discard=unmap|ignore decides whether it may unmap.
  if (isWriteZeroes) s.backend.writeZeroes(sector * 512, bytes, { mayUnmap: unmap }, cb);
  else s.backend.discard(sector * 512, bytes, cb);
  return null;
}
