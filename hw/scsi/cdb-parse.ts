/**
 * CDB parser: any bytes (a virtio-scsi request's cdb[cdb_size], a fuzzer's noise) into a `Cdb`
 * or a `CdbError` a target answers with CHECK CONDITION, never a throw.
 *
 * Refused, with what a device server answers (SPC-4 §4.5.2.4.2 for the field pointer):
 *  - an opcode outside this set, or of the reserved and vendor groups: INVALID COMMAND OPERATION CODE;
 *  - fewer bytes than the group's CDB length: the same (QEMU's scsi_req_new on a failed parse);
 *  - an unknown service action (SERVICE ACTION IN(16), MAINTENANCE IN): INVALID FIELD IN CDB at byte 1;
 *  - fields SPC/SBC forbid: INQUIRY with EVPD=0 and a page code, READ CAPACITY with PMI=0 and an
 *    LBA, VERIFY's reserved BYTCHK 10b, WRITE SAME's obsolete PBDATA/LBDATA (as QEMU refuses them),
 *    REPORT SUPPORTED OPERATION CODES reporting options above 3: INVALID FIELD IN CDB there;
 *  - a 16-byte CDB's LBA beyond 2^53 - 1: LOGICAL BLOCK ADDRESS OUT OF RANGE (no disk is that big).
 * Reserved bits are ignored, as QEMU ignores them.
 */
import * as E from 'fp-ts/lib/Either.js';
import { bit, bits, get16, get24, get32, get64, get64Safe, get8 } from './bytes.js';
import type { Cdb, RwSize } from './cdb-types.js';
import * as O from './opcodes.js';

export type CdbError =
  | { readonly _tag: 'InvalidOpcode'; readonly opcode: number }
  | { readonly _tag: 'Truncated'; readonly opcode: number; readonly needed: number; readonly got: number }
  /** `byte` / `bit` are the sense-key-specific field pointer (bit undefined: the whole byte or field). */
  | { readonly _tag: 'InvalidField'; readonly opcode: number; readonly byte: number; readonly bit?: number; readonly message: string }
  | { readonly _tag: 'LbaOutOfRange'; readonly opcode: number; readonly lba: bigint };

type R = E.Either<CdbError, Cdb>;

const invalidField = (opcode: number, byte: number, bitNo: number | undefined, message: string): R =>
  E.left({ _tag: 'InvalidField', opcode, byte, ...(bitNo === undefined ? {} : { bit: bitNo }), message });

/** A 16-byte CDB's LBA at bytes 2..9, or the refusal. */
function lba64(b: Uint8Array, k: (lba: number) => R): R {
  const lba = get64Safe(b, 2);
  return lba === undefined ? E.left({ _tag: 'LbaOutOfRange', opcode: b[0], lba: get64(b, 2) }) : k(lba);
}

const sizeOf = (len: number): RwSize => len as RwSize;

/** LBA, length and group of a 10/12/16-byte block command, as `k` wants them. */
function blockFields(b: Uint8Array, k: (lba: number, length: number, group: number) => R): R {
  switch (b.length) {
    case 10:
      return k(get32(b, 2), get16(b, 7), bits(b, 6, 0, 5));
    case 12:
      return k(get32(b, 2), get32(b, 6), bits(b, 10, 0, 5));
    default:
      return lba64(b, (lba) => k(lba, get32(b, 10), bits(b, 14, 0, 5)));
  }
}

/** Parse a CDB. Bytes past the group's length (the rest of cdb[32]) are ignored. */
export function parseCdb(bytes: Uint8Array): R {
  if (bytes.length === 0) return E.left({ _tag: 'Truncated', opcode: 0, needed: 1, got: 0 });
  const opcode = bytes[0];
  const len = O.cdbLength(opcode);
  if (len === undefined) return E.left({ _tag: 'InvalidOpcode', opcode });
  if (bytes.length < len) return E.left({ _tag: 'Truncated', opcode, needed: len, got: bytes.length });
  const b = bytes.subarray(0, len);
  const control = b[len - 1];
  switch (opcode) {
    case O.TEST_UNIT_READY:
      return E.right({ op: 'TEST_UNIT_READY', control });
    case O.REQUEST_SENSE:
      return E.right({ op: 'REQUEST_SENSE', desc: bit(b, 1, 0), allocationLength: b[4], control });
    case O.INQUIRY: {
      const evpd = bit(b, 1, 0);
      if (!evpd && b[2] !== 0) return invalidField(opcode, 2, undefined, 'INQUIRY: PAGE CODE without EVPD');
      return E.right({ op: 'INQUIRY', evpd, pageCode: b[2], allocationLength: get16(b, 3), control });
    }
    case O.MODE_SELECT_6:
    case O.MODE_SELECT_10:
      return E.right({
        op: 'MODE_SELECT',
        size: len === 6 ? 6 : 10,
        pf: bit(b, 1, 4),
        sp: bit(b, 1, 0),
        parameterListLength: len === 6 ? b[4] : get16(b, 7),
        control,
      });
    case O.MODE_SENSE_6:
    case O.MODE_SENSE_10:
      return E.right({
        op: 'MODE_SENSE',
        size: len === 6 ? 6 : 10,
        llbaa: len === 10 && bit(b, 1, 4),
        dbd: bit(b, 1, 3),
        pageControl: bits(b, 2, 6, 2),
        pageCode: bits(b, 2, 0, 6),
        subpageCode: b[3],
        allocationLength: len === 6 ? b[4] : get16(b, 7),
        control,
      });
    case O.START_STOP_UNIT:
      return E.right({
        op: 'START_STOP_UNIT',
        immed: bit(b, 1, 0),
        powerConditionModifier: bits(b, 3, 0, 4),
        powerCondition: bits(b, 4, 4, 4),
        noFlush: bit(b, 4, 2),
        loej: bit(b, 4, 1),
        start: bit(b, 4, 0),
        control,
      });
    case O.PREVENT_ALLOW_MEDIUM_REMOVAL:
      return E.right({ op: 'PREVENT_ALLOW_MEDIUM_REMOVAL', prevent: bits(b, 4, 0, 2), control });
    case O.READ_CAPACITY_10: {
      const pmi = bit(b, 8, 0);
      const lba = get32(b, 2);
      if (!pmi && lba !== 0) return invalidField(opcode, 2, undefined, 'READ CAPACITY(10): LOGICAL BLOCK ADDRESS without PMI');
      return E.right({ op: 'READ_CAPACITY_10', lba, pmi, control });
    }
    case O.SERVICE_ACTION_IN_16:
      return serviceActionIn16(b, control);
    case O.READ_6:
    case O.WRITE_6: {
      const common = { size: 6 as const, lba: get24(b, 1) & 0x1f_ffff, transferLength: b[4] === 0 ? 256 : b[4], protect: 0, dpo: false, fua: false, group: 0, control };
      return E.right(opcode === O.READ_6 ? { op: 'READ', ...common, rarc: false } : { op: 'WRITE', ...common });
    }
    case O.READ_10:
    case O.READ_12:
    case O.READ_16:
      return blockFields(b, (lba, transferLength, group) =>
        E.right({ op: 'READ', size: sizeOf(len), lba, transferLength, protect: bits(b, 1, 5, 3), dpo: bit(b, 1, 4), fua: bit(b, 1, 3), rarc: bit(b, 1, 2), group, control }),
      );
    case O.WRITE_10:
    case O.WRITE_12:
    case O.WRITE_16:
      return blockFields(b, (lba, transferLength, group) =>
        E.right({ op: 'WRITE', size: sizeOf(len), lba, transferLength, protect: bits(b, 1, 5, 3), dpo: bit(b, 1, 4), fua: bit(b, 1, 3), group, control }),
      );
    case O.VERIFY_10:
    case O.VERIFY_12:
    case O.VERIFY_16: {
      const bytchk = bits(b, 1, 1, 2);
      if (bytchk === 2) return invalidField(opcode, 1, 2, 'VERIFY: BYTCHK 10b is reserved');
      return blockFields(b, (lba, verificationLength, group) =>
        E.right({ op: 'VERIFY', size: len as 10 | 12 | 16, lba, verificationLength, protect: bits(b, 1, 5, 3), dpo: bit(b, 1, 4), bytchk: bytchk as 0 | 1 | 3, group, control }),
      );
    }
    case O.WRITE_AND_VERIFY_10:
    case O.WRITE_AND_VERIFY_12:
    case O.WRITE_AND_VERIFY_16:
      return blockFields(b, (lba, transferLength, group) =>
        E.right({ op: 'WRITE_AND_VERIFY', size: len as 10 | 12 | 16, lba, transferLength, protect: bits(b, 1, 5, 3), dpo: bit(b, 1, 4), bytchk: bit(b, 1, 1), group, control }),
      );
    case O.SYNCHRONIZE_CACHE_10:
    case O.SYNCHRONIZE_CACHE_16:
      return blockFields(b, (lba, numberOfBlocks, group) =>
        E.right({ op: 'SYNCHRONIZE_CACHE', size: len as 10 | 16, immed: bit(b, 1, 1), lba, numberOfBlocks, group, control }),
      );
    case O.UNMAP:
      return E.right({ op: 'UNMAP', anchor: bit(b, 1, 0), group: bits(b, 6, 0, 5), parameterListLength: get16(b, 7), control });
    case O.WRITE_SAME_10:
    case O.WRITE_SAME_16: {
      if (bit(b, 1, 2)) return invalidField(opcode, 1, 2, 'WRITE SAME: PBDATA is obsolete');
      if (bit(b, 1, 1)) return invalidField(opcode, 1, 1, 'WRITE SAME: LBDATA is obsolete');
      return blockFields(b, (lba, numberOfBlocks, group) =>
        E.right({
          op: 'WRITE_SAME',
          size: len as 10 | 16,
          protect: bits(b, 1, 5, 3),
          anchor: bit(b, 1, 4),
          unmap: bit(b, 1, 3),
          ndob: len === 16 && bit(b, 1, 0),
          lba,
          numberOfBlocks,
          group,
          control,
        }),
      );
    }
    case O.REPORT_LUNS:
      return E.right({ op: 'REPORT_LUNS', selectReport: b[2], allocationLength: get32(b, 6), control });
    case O.GET_EVENT_STATUS_NOTIFICATION:
      return E.right({ op: 'GET_EVENT_STATUS_NOTIFICATION', polled: bit(b, 1, 0), notificationClassRequest: b[4], allocationLength: get16(b, 7), control });
    case O.READ_TOC:
      return E.right({ op: 'READ_TOC', msf: bit(b, 1, 1), format: bits(b, 2, 0, 4), trackOrSession: b[6], allocationLength: get16(b, 7), control });
    case O.MAINTENANCE_IN:
      return maintenanceIn(b, control);
    case O.FORMAT_UNIT:
      return E.right({
        op: 'FORMAT_UNIT',
        fmtpinfo: bits(b, 1, 6, 2),
        longList: bit(b, 1, 5),
        fmtData: bit(b, 1, 4),
        cmpLst: bit(b, 1, 3),
        defectListFormat: bits(b, 1, 0, 3),
        control,
      });
    case O.SEEK_10:
      return E.right({ op: 'SEEK_10', lba: get32(b, 2), control });
    case O.RESERVE_6:
    case O.RESERVE_10:
      return E.right({ op: 'RESERVE', size: len === 6 ? 6 : 10, control });
    case O.RELEASE_6:
    case O.RELEASE_10:
      return E.right({ op: 'RELEASE', size: len === 6 ? 6 : 10, control });
    default:
      return E.left({ _tag: 'InvalidOpcode', opcode });
  }
}

function serviceActionIn16(b: Uint8Array, control: number): R {
  const sa = bits(b, 1, 0, 5);
  const allocationLength = get32(b, 10);
  switch (sa) {
    case O.SAI_READ_CAPACITY_16:
      return lba64(b, (lba) => {
        const pmi = bit(b, 14, 0);
        if (!pmi && lba !== 0) return invalidField(b[0], 2, undefined, 'READ CAPACITY(16): LOGICAL BLOCK ADDRESS without PMI');
        return E.right({ op: 'READ_CAPACITY_16', lba, allocationLength, pmi, control });
      });
    case O.SAI_GET_LBA_STATUS:
      return lba64(b, (lba) => E.right({ op: 'GET_LBA_STATUS', lba, allocationLength, control }));
    default:
      return invalidField(b[0], 1, 4, `SERVICE ACTION IN(16): service action 0x${sa.toString(16)} is not supported`);
  }
}

function maintenanceIn(b: Uint8Array, control: number): R {
  const sa = bits(b, 1, 0, 5);
  if (sa !== O.MI_REPORT_SUPPORTED_OPERATION_CODES) return invalidField(b[0], 1, 4, `MAINTENANCE IN: service action 0x${sa.toString(16)} is not supported`);
  const reportingOptions = bits(b, 2, 0, 3);
  if (reportingOptions > 3) return invalidField(b[0], 2, 2, `REPORT SUPPORTED OPERATION CODES: reporting options ${reportingOptions} is reserved`);
  return E.right({
    op: 'REPORT_SUPPORTED_OPCODES',
    rctd: bit(b, 2, 7),
    reportingOptions,
    requestedOpcode: get8(b, 3),
    requestedServiceAction: get16(b, 4),
    allocationLength: get32(b, 6),
    control,
  });
}
