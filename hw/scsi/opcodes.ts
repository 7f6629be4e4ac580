/**
 * SCSI operation codes (SPC-4 annex D, SBC-3, MMC-6), under the names of Linux's
 * include/scsi/scsi_proto.h and QEMU's include/scsi/constants.h, and the CDB length that
 * the group code (the opcode's top three bits) fixes (SPC-4 §4.2.5.1; QEMU scsi_cdb_length).
 *
 *   group 0 (0x00-0x1f)  6 bytes     group 1, 2 (0x20-0x5f)  10 bytes
 *   group 3 (0x60-0x7f)  reserved; 0x7f is the variable-length CDB
 *   group 4 (0x80-0x9f)  16 bytes    group 5 (0xa0-0xbf)     12 bytes
 *   group 6, 7 (0xc0-0xff) vendor specific: no length the standard fixes
 */

export const TEST_UNIT_READY = 0x00;
export const REZERO_UNIT = 0x01;
export const REQUEST_SENSE = 0x03;
export const FORMAT_UNIT = 0x04;
export const READ_BLOCK_LIMITS = 0x05;
export const REASSIGN_BLOCKS = 0x07;
export const READ_6 = 0x08;
export const WRITE_6 = 0x0a;
export const SEEK_6 = 0x0b;
export const INQUIRY = 0x12;
export const MODE_SELECT_6 = 0x15;
export const RESERVE_6 = 0x16;
export const RELEASE_6 = 0x17;
export const MODE_SENSE_6 = 0x1a;
export const START_STOP_UNIT = 0x1b;
export const RECEIVE_DIAGNOSTIC = 0x1c;
export const SEND_DIAGNOSTIC = 0x1d;
export const PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e;
export const READ_FORMAT_CAPACITIES = 0x23;
export const READ_CAPACITY_10 = 0x25;
export const READ_10 = 0x28;
export const WRITE_10 = 0x2a;
export const SEEK_10 = 0x2b;
export const WRITE_AND_VERIFY_10 = 0x2e;
export const VERIFY_10 = 0x2f;
export const PRE_FETCH_10 = 0x34;
export const SYNCHRONIZE_CACHE_10 = 0x35;
export const READ_DEFECT_DATA_10 = 0x37;
export const WRITE_BUFFER = 0x3b;
export const READ_BUFFER = 0x3c;
export const READ_LONG_10 = 0x3e;
export const WRITE_LONG_10 = 0x3f;
export const WRITE_SAME_10 = 0x41;
export const UNMAP = 0x42;
export const READ_TOC = 0x43;
export const GET_CONFIGURATION = 0x46;
export const GET_EVENT_STATUS_NOTIFICATION = 0x4a;
export const LOG_SELECT = 0x4c;
export const LOG_SENSE = 0x4d;
export const READ_DISC_INFORMATION = 0x51;
export const MODE_SELECT_10 = 0x55;
export const RESERVE_10 = 0x56;
export const RELEASE_10 = 0x57;
export const MODE_SENSE_10 = 0x5a;
export const PERSISTENT_RESERVE_IN = 0x5e;
export const PERSISTENT_RESERVE_OUT = 0x5f;
export const VARIABLE_LENGTH_CMD = 0x7f;
export const EXTENDED_COPY = 0x83;
export const RECEIVE_COPY_RESULTS = 0x84;
export const ATA_PASS_THROUGH_16 = 0x85;
export const READ_16 = 0x88;
export const COMPARE_AND_WRITE = 0x89;
export const WRITE_16 = 0x8a;
export const WRITE_AND_VERIFY_16 = 0x8e;
export const VERIFY_16 = 0x8f;
export const PRE_FETCH_16 = 0x90;
export const SYNCHRONIZE_CACHE_16 = 0x91;
export const WRITE_SAME_16 = 0x93;
export const ZBC_OUT = 0x94;
export const ZBC_IN = 0x95;
export const SERVICE_ACTION_IN_16 = 0x9e;
export const SERVICE_ACTION_OUT_16 = 0x9f;
export const REPORT_LUNS = 0xa0;
export const ATA_PASS_THROUGH_12 = 0xa1;
export const SECURITY_PROTOCOL_IN = 0xa2;
export const MAINTENANCE_IN = 0xa3;
export const MAINTENANCE_OUT = 0xa4;
export const READ_12 = 0xa8;
export const WRITE_12 = 0xaa;
export const SERVICE_ACTION_IN_12 = 0xab;
export const READ_DVD_STRUCTURE = 0xad;
export const WRITE_AND_VERIFY_12 = 0xae;
export const VERIFY_12 = 0xaf;
export const SECURITY_PROTOCOL_OUT = 0xb5;
export const MECHANISM_STATUS = 0xbd;
export const READ_CD = 0xbe;

/* The same opcodes under QEMU's (include/scsi/constants.h) and Linux's shorter names */
export const MODE_SELECT = MODE_SELECT_6;
export const MODE_SENSE = MODE_SENSE_6;
export const RESERVE = RESERVE_6;
export const RELEASE = RELEASE_6;
export const START_STOP = START_STOP_UNIT;
export const ALLOW_MEDIUM_REMOVAL = PREVENT_ALLOW_MEDIUM_REMOVAL;
export const READ_CAPACITY = READ_CAPACITY_10;
export const SYNCHRONIZE_CACHE = SYNCHRONIZE_CACHE_10;
export const WRITE_VERIFY_10 = WRITE_AND_VERIFY_10;
export const WRITE_VERIFY_12 = WRITE_AND_VERIFY_12;
export const WRITE_VERIFY_16 = WRITE_AND_VERIFY_16;
export const WRITE_SAME = WRITE_SAME_10;
export const VERIFY = VERIFY_10;
export const WRITE_VERIFY = WRITE_AND_VERIFY_10;

/* SERVICE ACTION IN(16) service actions (SBC-3 §5.16, §5.13) */
export const SAI_READ_CAPACITY_16 = 0x10;
export const SAI_GET_LBA_STATUS = 0x12;
export const SAI_REPORT_REFERRALS = 0x13;

/* MAINTENANCE IN service actions (SPC-4 §6.21-6.29) */
export const MI_REPORT_IDENTIFYING_INFORMATION = 0x05;
export const MI_REPORT_TARGET_PGS = 0x0a;
export const MI_REPORT_ALIASES = 0x0b;
export const MI_REPORT_SUPPORTED_OPERATION_CODES = 0x0c;
export const MI_REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS = 0x0d;
export const MI_REPORT_TIMESTAMP = 0x0f;

const NAMES: ReadonlyMap<number, string> = new Map([
  [TEST_UNIT_READY, 'TEST UNIT READY'],
  [REZERO_UNIT, 'REZERO UNIT'],
  [REQUEST_SENSE, 'REQUEST SENSE'],
  [FORMAT_UNIT, 'FORMAT UNIT'],
  [READ_BLOCK_LIMITS, 'READ BLOCK LIMITS'],
  [REASSIGN_BLOCKS, 'REASSIGN BLOCKS'],
  [READ_6, 'READ(6)'],
  [WRITE_6, 'WRITE(6)'],
  [SEEK_6, 'SEEK(6)'],
  [INQUIRY, 'INQUIRY'],
  [MODE_SELECT_6, 'MODE SELECT(6)'],
  [RESERVE_6, 'RESERVE(6)'],
  [RELEASE_6, 'RELEASE(6)'],
  [MODE_SENSE_6, 'MODE SENSE(6)'],
  [START_STOP_UNIT, 'START STOP UNIT'],
  [RECEIVE_DIAGNOSTIC, 'RECEIVE DIAGNOSTIC RESULTS'],
  [SEND_DIAGNOSTIC, 'SEND DIAGNOSTIC'],
  [PREVENT_ALLOW_MEDIUM_REMOVAL, 'PREVENT ALLOW MEDIUM REMOVAL'],
  [READ_FORMAT_CAPACITIES, 'READ FORMAT CAPACITIES'],
  [READ_CAPACITY_10, 'READ CAPACITY(10)'],
  [READ_10, 'READ(10)'],
  [WRITE_10, 'WRITE(10)'],
  [SEEK_10, 'SEEK(10)'],
  [WRITE_AND_VERIFY_10, 'WRITE AND VERIFY(10)'],
  [VERIFY_10, 'VERIFY(10)'],
  [PRE_FETCH_10, 'PRE-FETCH(10)'],
  [SYNCHRONIZE_CACHE_10, 'SYNCHRONIZE CACHE(10)'],
  [READ_DEFECT_DATA_10, 'READ DEFECT DATA(10)'],
  [WRITE_BUFFER, 'WRITE BUFFER'],
  [READ_BUFFER, 'READ BUFFER'],
  [READ_LONG_10, 'READ LONG(10)'],
  [WRITE_LONG_10, 'WRITE LONG(10)'],
  [WRITE_SAME_10, 'WRITE SAME(10)'],
  [UNMAP, 'UNMAP'],
  [READ_TOC, 'READ TOC/PMA/ATIP'],
  [GET_CONFIGURATION, 'GET CONFIGURATION'],
  [GET_EVENT_STATUS_NOTIFICATION, 'GET EVENT STATUS NOTIFICATION'],
  [LOG_SELECT, 'LOG SELECT'],
  [LOG_SENSE, 'LOG SENSE'],
  [READ_DISC_INFORMATION, 'READ DISC INFORMATION'],
  [MODE_SELECT_10, 'MODE SELECT(10)'],
  [RESERVE_10, 'RESERVE(10)'],
  [RELEASE_10, 'RELEASE(10)'],
  [MODE_SENSE_10, 'MODE SENSE(10)'],
  [PERSISTENT_RESERVE_IN, 'PERSISTENT RESERVE IN'],
  [PERSISTENT_RESERVE_OUT, 'PERSISTENT RESERVE OUT'],
  [VARIABLE_LENGTH_CMD, 'VARIABLE LENGTH'],
  [EXTENDED_COPY, 'EXTENDED COPY'],
  [RECEIVE_COPY_RESULTS, 'RECEIVE COPY RESULTS'],
  [ATA_PASS_THROUGH_16, 'ATA PASS-THROUGH(16)'],
  [READ_16, 'READ(16)'],
  [COMPARE_AND_WRITE, 'COMPARE AND WRITE'],
  [WRITE_16, 'WRITE(16)'],
  [WRITE_AND_VERIFY_16, 'WRITE AND VERIFY(16)'],
  [VERIFY_16, 'VERIFY(16)'],
  [PRE_FETCH_16, 'PRE-FETCH(16)'],
  [SYNCHRONIZE_CACHE_16, 'SYNCHRONIZE CACHE(16)'],
  [WRITE_SAME_16, 'WRITE SAME(16)'],
  [ZBC_OUT, 'ZBC OUT'],
  [ZBC_IN, 'ZBC IN'],
  [SERVICE_ACTION_IN_16, 'SERVICE ACTION IN(16)'],
  [SERVICE_ACTION_OUT_16, 'SERVICE ACTION OUT(16)'],
  [REPORT_LUNS, 'REPORT LUNS'],
  [ATA_PASS_THROUGH_12, 'ATA PASS-THROUGH(12)'],
  [SECURITY_PROTOCOL_IN, 'SECURITY PROTOCOL IN'],
  [MAINTENANCE_IN, 'MAINTENANCE IN'],
  [MAINTENANCE_OUT, 'MAINTENANCE OUT'],
  [READ_12, 'READ(12)'],
  [WRITE_12, 'WRITE(12)'],
  [SERVICE_ACTION_IN_12, 'SERVICE ACTION IN(12)'],
  [READ_DVD_STRUCTURE, 'READ DVD STRUCTURE'],
  [WRITE_AND_VERIFY_12, 'WRITE AND VERIFY(12)'],
  [VERIFY_12, 'VERIFY(12)'],
  [SECURITY_PROTOCOL_OUT, 'SECURITY PROTOCOL OUT'],
  [MECHANISM_STATUS, 'MECHANISM STATUS'],
  [READ_CD, 'READ CD'],
]);

/** The command's name for traces; an unnamed opcode is named by its number, never refused. */
export function scsiOpcodeName(opcode: number): string {
  if (opcode >= 0 && opcode < 256 && Number.isInteger(opcode)) return NAME_BY_OPCODE[opcode];
  return NAMES.get(opcode) ?? unnamed(opcode);
}

const unnamed = (opcode: number): string => `opcode(0x${(opcode & 0xff).toString(16).padStart(2, '0')})`;

/** Every byte's name, made once: a trace names the opcode of every command it shows. */
const NAME_BY_OPCODE: readonly string[] = Array.from({ length: 256 }, (_, op) => NAMES.get(op) ?? unnamed(op));

/** The opcode's group code (SPC-4 §4.2.5.1): its top three bits. */
export const groupCode = (opcode: number): number => (opcode >> 5) & 7;

/**
 * The CDB length the group code fixes, or undefined for the reserved group 3 and the vendor
 * groups 6 and 7 (QEMU's scsi_cdb_length answers -1 for them, and scsi_req_new then fails
 * the command with INVALID COMMAND OPERATION CODE).
 */
export function cdbLength(opcode: number): 6 | 10 | 12 | 16 | undefined {
  switch (groupCode(opcode)) {
    case 0:
      return 6;
    case 1:
    case 2:
      return 10;
    case 4:
      return 16;
    case 5:
      return 12;
    default:
      return undefined;
  }
}
