/**
 * CDB builders: a `Cdb` value as the bytes of its command descriptor block (SPC-4 §4.2,
 * SBC-3 §5, MMC-6 §6), the length its group code fixes. Fields are stored modulo their
 * width (a READ(6) of 256 blocks stores 0); the caller picks a size the values fit, as
 * Linux's sd picks READ(6), (10) or (16).
 */
import { flag, put16, put24, put32, put64 } from './bytes.js';
import type { Cdb, RwSize } from './cdb-types.js';
import * as O from './opcodes.js';

const RW_OPCODES: Record<'READ' | 'WRITE', Record<RwSize, number>> = {
  READ: { 6: O.READ_6, 10: O.READ_10, 12: O.READ_12, 16: O.READ_16 },
  WRITE: { 6: O.WRITE_6, 10: O.WRITE_10, 12: O.WRITE_12, 16: O.WRITE_16 },
};
const VERIFY_OPCODES = { 10: O.VERIFY_10, 12: O.VERIFY_12, 16: O.VERIFY_16 } as const;
const WRITE_VERIFY_OPCODES = { 10: O.WRITE_AND_VERIFY_10, 12: O.WRITE_AND_VERIFY_12, 16: O.WRITE_AND_VERIFY_16 } as const;

/** The opcode a command is sent with. */
export function cdbOpcode(c: Cdb): number {
  switch (c.op) {
    case 'TEST_UNIT_READY':
      return O.TEST_UNIT_READY;
    case 'REQUEST_SENSE':
      return O.REQUEST_SENSE;
    case 'INQUIRY':
      return O.INQUIRY;
    case 'MODE_SELECT':
      return c.size === 6 ? O.MODE_SELECT_6 : O.MODE_SELECT_10;
    case 'MODE_SENSE':
      return c.size === 6 ? O.MODE_SENSE_6 : O.MODE_SENSE_10;
    case 'START_STOP_UNIT':
      return O.START_STOP_UNIT;
    case 'PREVENT_ALLOW_MEDIUM_REMOVAL':
      return O.PREVENT_ALLOW_MEDIUM_REMOVAL;
    case 'READ_CAPACITY_10':
      return O.READ_CAPACITY_10;
    case 'READ_CAPACITY_16':
    case 'GET_LBA_STATUS':
      return O.SERVICE_ACTION_IN_16;
    case 'READ':
    case 'WRITE':
      return RW_OPCODES[c.op][c.size];
    case 'VERIFY':
      return VERIFY_OPCODES[c.size];
    case 'WRITE_AND_VERIFY':
      return WRITE_VERIFY_OPCODES[c.size];
    case 'SYNCHRONIZE_CACHE':
      return c.size === 10 ? O.SYNCHRONIZE_CACHE_10 : O.SYNCHRONIZE_CACHE_16;
    case 'UNMAP':
      return O.UNMAP;
    case 'WRITE_SAME':
      return c.size === 10 ? O.WRITE_SAME_10 : O.WRITE_SAME_16;
    case 'REPORT_LUNS':
      return O.REPORT_LUNS;
    case 'GET_EVENT_STATUS_NOTIFICATION':
      return O.GET_EVENT_STATUS_NOTIFICATION;
    case 'READ_TOC':
      return O.READ_TOC;
    case 'REPORT_SUPPORTED_OPCODES':
      return O.MAINTENANCE_IN;
    case 'FORMAT_UNIT':
      return O.FORMAT_UNIT;
    case 'SEEK_10':
      return O.SEEK_10;
    case 'RESERVE':
      return c.size === 6 ? O.RESERVE_6 : O.RESERVE_10;
    case 'RELEASE':
      return c.size === 6 ? O.RELEASE_6 : O.RELEASE_10;
  }
}

/** Place the LBA, length and group of a 10/12/16-byte block command. */
function putBlockFields(b: Uint8Array, lba: number, length: number, group: number): void {
  switch (b.length) {
    case 10:
      put32(b, 2, lba);
      b[6] = group & 0x1f;
      put16(b, 7, length);
      return;
    case 12:
      put32(b, 2, lba);
      put32(b, 6, length);
      b[10] = group & 0x1f;
      return;
    default:
      put64(b, 2, lba);
      put32(b, 10, length);
      b[14] = group & 0x1f;
  }
}

/** The CDB's bytes: 6, 10, 12 or 16 of them, the last one `control`. */
export function encodeCdb(c: Cdb): Uint8Array {
  const opcode = cdbOpcode(c);
  const len = O.cdbLength(opcode) ?? 16;
  const b = new Uint8Array(len);
  b[0] = opcode;
  b[len - 1] = c.control & 0xff;
  switch (c.op) {
    case 'TEST_UNIT_READY':
    case 'RESERVE':
    case 'RELEASE':
      break;
    case 'REQUEST_SENSE':
      b[1] = flag(c.desc, 0);
      b[4] = c.allocationLength & 0xff;
      break;
    case 'INQUIRY':
      b[1] = flag(c.evpd, 0);
      b[2] = c.pageCode & 0xff;
      put16(b, 3, c.allocationLength);
      break;
    case 'MODE_SELECT':
      b[1] = flag(c.pf, 4) | flag(c.sp, 0);
      if (c.size === 6) b[4] = c.parameterListLength & 0xff;
      else put16(b, 7, c.parameterListLength);
      break;
    case 'MODE_SENSE':
      b[1] = flag(c.llbaa && c.size === 10, 4) | flag(c.dbd, 3);
      b[2] = ((c.pageControl & 3) << 6) | (c.pageCode & 0x3f);
      b[3] = c.subpageCode & 0xff;
      if (c.size === 6) b[4] = c.allocationLength & 0xff;
      else put16(b, 7, c.allocationLength);
      break;
    case 'START_STOP_UNIT':
      b[1] = flag(c.immed, 0);
      b[3] = c.powerConditionModifier & 0xf;
      b[4] = ((c.powerCondition & 0xf) << 4) | flag(c.noFlush, 2) | flag(c.loej, 1) | flag(c.start, 0);
      break;
    case 'PREVENT_ALLOW_MEDIUM_REMOVAL':
      b[4] = c.prevent & 3;
      break;
    case 'READ_CAPACITY_10':
      put32(b, 2, c.lba);
      b[8] = flag(c.pmi, 0);
      break;
    case 'READ_CAPACITY_16':
      b[1] = O.SAI_READ_CAPACITY_16;
      put64(b, 2, c.lba);
      put32(b, 10, c.allocationLength);
      b[14] = flag(c.pmi, 0);
      break;
    case 'GET_LBA_STATUS':
      b[1] = O.SAI_GET_LBA_STATUS;
      put64(b, 2, c.lba);
      put32(b, 10, c.allocationLength);
      break;
    case 'READ':
    case 'WRITE':
      if (c.size === 6) {
        put24(b, 1, c.lba & 0x1f_ffff);
        b[4] = c.transferLength & 0xff;
        break;
      }
      b[1] = ((c.protect & 7) << 5) | flag(c.dpo, 4) | flag(c.fua, 3) | flag(c.op === 'READ' && c.rarc, 2);
      putBlockFields(b, c.lba, c.transferLength, c.group);
      break;
    case 'VERIFY':
      b[1] = ((c.protect & 7) << 5) | flag(c.dpo, 4) | ((c.bytchk & 3) << 1);
      putBlockFields(b, c.lba, c.verificationLength, c.group);
      break;
    case 'WRITE_AND_VERIFY':
      b[1] = ((c.protect & 7) << 5) | flag(c.dpo, 4) | flag(c.bytchk, 1);
      putBlockFields(b, c.lba, c.transferLength, c.group);
      break;
    case 'SYNCHRONIZE_CACHE':
      b[1] = flag(c.immed, 1);
      putBlockFields(b, c.lba, c.numberOfBlocks, c.group);
      break;
    case 'UNMAP':
      b[1] = flag(c.anchor, 0);
      b[6] = c.group & 0x1f;
      put16(b, 7, c.parameterListLength);
      break;
    case 'WRITE_SAME':
      b[1] = ((c.protect & 7) << 5) | flag(c.anchor, 4) | flag(c.unmap, 3) | flag(c.ndob && c.size === 16, 0);
      putBlockFields(b, c.lba, c.numberOfBlocks, c.group);
      break;
    case 'REPORT_LUNS':
      b[2] = c.selectReport & 0xff;
      put32(b, 6, c.allocationLength);
      break;
    case 'GET_EVENT_STATUS_NOTIFICATION':
      b[1] = flag(c.polled, 0);
      b[4] = c.notificationClassRequest & 0xff;
      put16(b, 7, c.allocationLength);
      break;
    case 'READ_TOC':
      b[1] = flag(c.msf, 1);
      b[2] = c.format & 0xf;
      b[6] = c.trackOrSession & 0xff;
      put16(b, 7, c.allocationLength);
      break;
    case 'REPORT_SUPPORTED_OPCODES':
      b[1] = O.MI_REPORT_SUPPORTED_OPERATION_CODES;
      b[2] = flag(c.rctd, 7) | (c.reportingOptions & 7);
      b[3] = c.requestedOpcode & 0xff;
      put16(b, 4, c.requestedServiceAction);
      put32(b, 6, c.allocationLength);
      break;
    case 'FORMAT_UNIT':
      b[1] = ((c.fmtpinfo & 3) << 6) | flag(c.longList, 5) | flag(c.fmtData, 4) | flag(c.cmpLst, 3) | (c.defectListFormat & 7);
      break;
    case 'SEEK_10':
      put32(b, 2, c.lba);
      break;
  }
  return b;
}
