/**
 * How QEMU reads a CDB before any device sees it (scsi/utils.c scsi_cdb_length,
 * scsi_cdb_xfer, scsi_cmd_lba; hw/scsi/scsi-bus.c scsi_req_xfer, scsi_cmd_xfer_mode,
 * scsi_req_parse_cdb), for the device types scsi-hd and scsi-cd are (disk and ROM).
 *
 * The group code fixes the CDB length (hw/scsi's cdbLength); groups 3, 6 and 7 are refused
 * (the request gets INVALID COMMAND OPERATION CODE), as is a CDB shorter than its group's
 * length. `xfer` is the transfer
 * length in bytes the command implies; `mode` its direction.
 *
 * Values beyond 2^53 (a 16-byte CDB's LBA) are represented inexactly, but stay above any
 * disk's last LBA, so every range check on them still refuses them.
 */
import { get16, get32 } from '../../../hw/scsi/bytes.js';
import { cdbLength } from '../../../hw/scsi/opcodes.js';
import * as op from './defs.js';

export type ScsiXferMode = 'none' | 'from-dev' | 'to-dev';

/** QEMU's SCSICommand. */
export interface ScsiCommand {
  /** The CDB in 16 bytes (zero after `len`, as QEMU's SCSI_CMD_BUF_SIZE buffer). */
  readonly buf: Uint8Array;
  readonly len: number;
  /** Bytes the command transfers (what the device will move if it succeeds). */
  readonly xfer: number;
  readonly mode: ScsiXferMode;
  /** The LBA field, or -1 for groups without one. */
  readonly lba: number;
}

/** What parsing needs to know of the device (SCSIDevice.type and .blocksize). */
export interface CdbDevice {
  readonly type: number;
  readonly blocksize: number;
}

/** scsi_cdb_xfer: the ALLOCATION / TRANSFER LENGTH field where the group puts it. */
export function cdbXfer(buf: Uint8Array): number {
  switch (buf[0] >> 5) {
    case 0:
      return buf[4];
    case 1:
    case 2:
      return get16(buf, 7);
    case 4:
      return get32(buf, 10);
    case 5:
      return get32(buf, 6);
    default:
      return -1;
  }
}

/** scsi_data_cdb_xfer: as cdbXfer, but a 6-byte CDB's 0 means 256 blocks. */
export function dataCdbXfer(buf: Uint8Array): number {
  return buf[0] >> 5 === 0 && buf[4] === 0 ? 256 : cdbXfer(buf);
}

/** scsi_cmd_lba. */
export function cdbLba(buf: Uint8Array): number {
  switch (buf[0] >> 5) {
    case 0:
      return get32(buf, 0) & 0x1fffff;
    case 1:
    case 2:
    case 5:
      return get32(buf, 2);
    case 4:
      return get32(buf, 2) * 0x1_0000_0000 + get32(buf, 6);
    default:
      return -1;
  }
}

/** scsi_req_xfer for the generic (disk, ROM) device types. */
function reqXfer(dev: CdbDevice, buf: Uint8Array): number {
  let xfer = cdbXfer(buf);
  switch (buf[0]) {
    case op.TEST_UNIT_READY:
    case op.START_STOP:
    case op.RESERVE:
    case op.RELEASE:
    case op.ALLOW_MEDIUM_REMOVAL:
    case op.SEEK_10:
    case op.SYNCHRONIZE_CACHE:
    case op.SYNCHRONIZE_CACHE_16:
    // REWIND, SET_CAPACITY, WRITE_FILEMARKS(16), SPACE, ERASE, LOCATE_16, LOCK_UNLOCK_CACHE,
    // SET_CD_SPEED, SET_LIMITS, WRITE_LONG_10, UPDATE_BLOCK, RESERVE_TRACK, SET_READ_AHEAD,
    // PRE_FETCH(16), ALLOW_OVERWRITE: no data either.
    case 0x01:
    case 0x0b:
    case 0x10:
    case 0x80:
    case 0x11:
    case 0x19:
    case 0x92:
    case 0x36:
    case 0xbb:
    case 0x33:
    case 0x3f:
    case 0x3d:
    case 0x53:
    case 0xa7:
    case 0x34:
    case 0x90:
    case 0x82:
      return 0;
    case op.VERIFY_10:
    case op.VERIFY_12:
    case op.VERIFY_16:
      if ((buf[1] & 2) === 0) xfer = 0;
      else if ((buf[1] & 4) !== 0) xfer = 1;
      return xfer * dev.blocksize;
    case op.MODE_SENSE:
      return xfer;
    case op.WRITE_SAME_10:
    case op.WRITE_SAME_16:
      return buf[1] & 1 ? 0 : dev.blocksize;
    case op.READ_CAPACITY_10:
      return 8;
    case 0x05: // READ_BLOCK_LIMITS
      return 6;
    case 0xb6: // SEND_VOLUME_TAG / SET_STREAMING
      return dev.type === op.TYPE_ROM ? buf[10] | (buf[9] << 8) : buf[9] | (buf[8] << 8);
    case op.WRITE_6:
    case op.READ_6:
    case 0x0f: // READ_REVERSE
      return (xfer === 0 ? 256 : xfer) * dev.blocksize;
    case op.WRITE_10:
    case op.WRITE_VERIFY_10:
    case op.WRITE_12:
    case op.WRITE_VERIFY_12:
    case op.WRITE_16:
    case op.WRITE_VERIFY_16:
    case op.READ_10:
    case op.READ_12:
    case op.READ_16:
      return xfer * dev.blocksize;
    case op.FORMAT_UNIT:
      if (dev.type === op.TYPE_ROM && buf[1] & 16) return 12;
      return (buf[1] & 16) === 0 ? 0 : buf[1] & 32 ? 8 : 4;
    case op.INQUIRY:
    case 0x1c: // RECEIVE_DIAGNOSTIC
    case 0x1d: // SEND_DIAGNOSTIC
      return buf[4] | (buf[3] << 8);
    case 0xbe: // READ_CD
    case 0x3c: // READ_BUFFER
    case 0x3b: // WRITE_BUFFER
    case 0x5d: // SEND_CUE_SHEET
      return buf[8] | (buf[7] << 8) | (buf[6] << 16);
    case 0x5f: // PERSISTENT_RESERVE_OUT
      return get32(buf, 5);
    case 0xac: // ERASE_12 / GET_PERFORMANCE
      return dev.type === op.TYPE_ROM ? performanceLength(buf[9] | (buf[8] << 8), buf[10], buf[1] & 0x1f) : xfer;
    case op.MECHANISM_STATUS:
    case op.READ_DVD_STRUCTURE:
    case 0xbf: // SEND_DVD_STRUCTURE
    case 0xa4: // MAINTENANCE_OUT
    case 0xa3: // MAINTENANCE_IN
      return dev.type === op.TYPE_ROM ? buf[9] | (buf[8] << 8) : xfer;
    case 0xa1: // ATA_PASSTHROUGH_12 (BLANK on MMC)
      return dev.type === op.TYPE_ROM ? 0 : ataXfer(dev, buf, false);
    case 0x85: // ATA_PASSTHROUGH_16
      return ataXfer(dev, buf, true);
    default:
      return xfer;
  }
}

/** MMC-6 §6.7 GET PERFORMANCE data length (scsi_get_performance_length). */
function performanceLength(numDesc: number, type: number, dataType: number): number {
  switch (type) {
    case 0:
      return (dataType & 3) === 0 ? 16 * numDesc + 8 : 6 * numDesc + 8;
    case 1:
    case 4:
    case 5:
      return 8 * numDesc + 8;
    case 2:
      return 2048 * numDesc + 8;
    case 3:
      return 16 * numDesc + 8;
    default:
      return 8;
  }
}

/** ata_passthrough_{12,16}_xfer. */
function ataXfer(dev: CdbDevice, buf: Uint8Array, is16: boolean): number {
  const unit = (buf[2] >> 2) & 1 ? ((buf[2] >> 4) & 1 ? dev.blocksize : 512) : 1;
  const extend = is16 && (buf[1] & 1) === 1;
  let n = 0;
  switch (buf[2] & 3) {
    case 1:
      n = is16 ? buf[4] | (extend ? buf[3] << 8 : 0) : buf[3];
      break;
    case 2:
      n = is16 ? buf[6] | (extend ? buf[5] << 8 : 0) : buf[4];
      break;
  }
  return n * unit;
}

/** Opcodes whose data goes to the device (scsi_cmd_xfer_mode). */
const TO_DEV_OPS = [
  op.WRITE_6, op.WRITE_10, op.WRITE_VERIFY_10, op.WRITE_12, op.WRITE_VERIFY_12, op.WRITE_16, op.WRITE_VERIFY_16,
  op.VERIFY_10, op.VERIFY_12, op.VERIFY_16,
  0x18 /* COPY */, 0x3a /* COPY_VERIFY */, 0x39 /* COMPARE */, 0x40 /* CHANGE_DEFINITION */, 0x4c /* LOG_SELECT */,
  op.MODE_SELECT, op.MODE_SELECT_10, 0x1d /* SEND_DIAGNOSTIC */, 0x3b /* WRITE_BUFFER */, op.FORMAT_UNIT,
  0x07 /* REASSIGN_BLOCKS */, 0x31 /* SEARCH_EQUAL */, 0x30 /* SEARCH_HIGH */, 0x32 /* SEARCH_LOW */,
  0x3d /* UPDATE_BLOCK */, 0x3f /* WRITE_LONG_10 */, op.WRITE_SAME_10, op.WRITE_SAME_16, op.UNMAP,
  0xb0 /* SEARCH_HIGH_12 */, 0xb1 /* SEARCH_EQUAL_12 */, 0xb2 /* SEARCH_LOW_12 */, 0x38 /* MEDIUM_SCAN */,
  0xb6 /* SEND_VOLUME_TAG */, 0x5d /* SEND_CUE_SHEET */, 0xbf /* SEND_DVD_STRUCTURE */, 0x5f /* PERSISTENT_RESERVE_OUT */,
  0xa4 /* MAINTENANCE_OUT */, 0x24 /* SET_WINDOW */, 0x1b /* SCAN (= START_STOP, which has xfer 0) */,
];
/** TO_DEV_OPS by opcode: 1 where the data goes to the device. */
const TO_DEV = new Uint8Array(256);
for (const o of TO_DEV_OPS) TO_DEV[o] = 1;

function xferMode(buf: Uint8Array, xfer: number): ScsiXferMode {
  if (xfer === 0) return 'none';
  if (buf[0] === 0xa1 || buf[0] === 0x85) return buf[2] & 0x8 ? 'from-dev' : 'to-dev';
  return TO_DEV[buf[0]] === 1 ? 'to-dev' : 'from-dev';
}

/**
 * QEMU's SCSICommand as a request holds it (SCSIRequest.cmd, inside the request): one per
 * request object, filled again by parseCdbInto for each command the request carries.
 */
export class ScsiCommandBuf implements ScsiCommand {
  readonly buf = new Uint8Array(16);
  len = 0;
  xfer = 0;
  mode: ScsiXferMode = 'none';
  lba = -1;
}

/**
 * scsi_req_parse_cdb of the CDB at `src[at, at + avail)` (`avail`: what the HBA passed,
 * e.g. virtio-scsi's cdb_size) into `out`. False when the CDB has no valid length
 * (reserved group) or is shorter than its group's length; `out` is then no command (all
 * zero, no transfer, no LBA).
 */
export function parseCdbInto(dev: CdbDevice, src: Uint8Array, at: number, avail: number, out: ScsiCommandBuf): boolean {
  const buf = out.buf;
  const len = avail > 0 ? cdbLength(src[at]) : undefined;
  if (len === undefined || len > avail) {
    buf.fill(0);
    out.len = 0;
    out.xfer = 0;
    out.mode = 'none';
    out.lba = -1;
    return false;
  }
  // QEMU's SCSICommand.buf is SCSI_CMD_BUF_SIZE (16) bytes, zero past the CDB.
  for (let i = 0; i < len; i++) buf[i] = src[at + i];
  for (let i = len; i < 16; i++) buf[i] = 0;
  const code = buf[0];
  if (code === op.READ_10 || code === op.WRITE_10) {
    // Most commands: what reqXfer, xferMode and cdbLba give for READ/WRITE(10), read off at once.
    const xfer = ((buf[7] << 8) | buf[8]) * dev.blocksize;
    out.len = 10;
    out.xfer = xfer;
    out.mode = xfer === 0 ? 'none' : code === op.WRITE_10 ? 'to-dev' : 'from-dev';
    out.lba = ((buf[2] << 24) | (buf[3] << 16) | (buf[4] << 8) | buf[5]) >>> 0;
    return true;
  }
  const xfer = reqXfer(dev, buf);
  out.len = len;
  out.xfer = xfer;
  out.mode = xferMode(buf, xfer);
  out.lba = cdbLba(buf);
  return true;
}

/** scsi_req_parse_cdb of all of `cdb` into a command of its own; undefined where parseCdbInto says false. */
export function parseCdb(dev: CdbDevice, cdb: Uint8Array): ScsiCommand | undefined {
  const out = new ScsiCommandBuf();
  return parseCdbInto(dev, cdb, 0, cdb.length, out) ? out : undefined;
}
