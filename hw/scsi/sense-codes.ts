/**
 * Sense keys (SPC-4 §4.5.6, table 48) and the additional sense codes the models use, each a
 * (key, ASC, ASCQ) triple named as QEMU's scsi/utils.c names its `SENSE_CODE(...)` table,
 * plus the few unit attentions and medium errors Linux's midlayer tells apart (SPC-4 annex D.2).
 */

export const NO_SENSE = 0x0;
export const RECOVERED_ERROR = 0x1;
export const NOT_READY = 0x2;
export const MEDIUM_ERROR = 0x3;
export const HARDWARE_ERROR = 0x4;
export const ILLEGAL_REQUEST = 0x5;
export const UNIT_ATTENTION = 0x6;
export const DATA_PROTECT = 0x7;
export const BLANK_CHECK = 0x8;
export const VENDOR_SPECIFIC = 0x9;
export const COPY_ABORTED = 0xa;
export const ABORTED_COMMAND = 0xb;
export const VOLUME_OVERFLOW = 0xd;
export const MISCOMPARE = 0xe;

const KEY_NAMES: readonly string[] = [
  'NO SENSE',
  'RECOVERED ERROR',
  'NOT READY',
  'MEDIUM ERROR',
  'HARDWARE ERROR',
  'ILLEGAL REQUEST',
  'UNIT ATTENTION',
  'DATA PROTECT',
  'BLANK CHECK',
  'VENDOR SPECIFIC',
  'COPY ABORTED',
  'ABORTED COMMAND',
  'RESERVED (0xc)',
  'VOLUME OVERFLOW',
  'MISCOMPARE',
  'COMPLETED',
];

export function senseKeyName(key: number): string {
  return KEY_NAMES[key & 0xf];
}

/** A sense key with its additional sense code and qualifier (QEMU's `SCSISense`). */
export interface SenseCode {
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
}

const sc = (key: number, asc: number, ascq: number): SenseCode => ({ key, asc, ascq });

/** The named sense codes. The QEMU names come first, in scsi/utils.c's order. */
export const SENSE_CODE = {
  NO_SENSE: sc(NO_SENSE, 0x00, 0x00),
  LUN_NOT_READY: sc(NOT_READY, 0x04, 0x03),
  NO_MEDIUM: sc(NOT_READY, 0x3a, 0x00),
  NOT_READY_REMOVAL_PREVENTED: sc(NOT_READY, 0x53, 0x02),
  TARGET_FAILURE: sc(HARDWARE_ERROR, 0x44, 0x00),
  INVALID_OPCODE: sc(ILLEGAL_REQUEST, 0x20, 0x00),
  LBA_OUT_OF_RANGE: sc(ILLEGAL_REQUEST, 0x21, 0x00),
  INVALID_FIELD: sc(ILLEGAL_REQUEST, 0x24, 0x00),
  INVALID_PARAM: sc(ILLEGAL_REQUEST, 0x26, 0x00),
  INVALID_PARAM_LEN: sc(ILLEGAL_REQUEST, 0x1a, 0x00),
  LUN_NOT_SUPPORTED: sc(ILLEGAL_REQUEST, 0x25, 0x00),
  SAVING_PARAMS_NOT_SUPPORTED: sc(ILLEGAL_REQUEST, 0x39, 0x00),
  INCOMPATIBLE_FORMAT: sc(ILLEGAL_REQUEST, 0x30, 0x00),
  ILLEGAL_REQ_REMOVAL_PREVENTED: sc(ILLEGAL_REQUEST, 0x53, 0x02),
  INVALID_TAG: sc(ILLEGAL_REQUEST, 0x4b, 0x01),
  IO_ERROR: sc(ABORTED_COMMAND, 0x00, 0x06),
  I_T_NEXUS_LOSS: sc(ABORTED_COMMAND, 0x29, 0x07),
  LUN_FAILURE: sc(ABORTED_COMMAND, 0x3e, 0x01),
  OVERLAPPED_COMMANDS: sc(ABORTED_COMMAND, 0x4e, 0x00),
  LUN_COMM_FAILURE: sc(ABORTED_COMMAND, 0x08, 0x00),
  READ_ERROR: sc(MEDIUM_ERROR, 0x11, 0x00),
  NOT_READY: sc(NOT_READY, 0x04, 0x00),
  CAPACITY_CHANGED: sc(UNIT_ATTENTION, 0x2a, 0x09),
  RESET: sc(UNIT_ATTENTION, 0x29, 0x00),
  SCSI_BUS_RESET: sc(UNIT_ATTENTION, 0x29, 0x02),
  UNIT_ATTENTION_NO_MEDIUM: sc(UNIT_ATTENTION, 0x3a, 0x00),
  MEDIUM_CHANGED: sc(UNIT_ATTENTION, 0x28, 0x00),
  REPORTED_LUNS_CHANGED: sc(UNIT_ATTENTION, 0x3f, 0x0e),
  DEVICE_INTERNAL_RESET: sc(UNIT_ATTENTION, 0x29, 0x04),
  WRITE_PROTECTED: sc(DATA_PROTECT, 0x27, 0x00),
  SPACE_ALLOC_FAILED: sc(DATA_PROTECT, 0x27, 0x07),
  // Beyond QEMU's table (SPC-4 annex D.2):
  POWER_ON_OCCURRED: sc(UNIT_ATTENTION, 0x29, 0x01),
  BUS_DEVICE_RESET: sc(UNIT_ATTENTION, 0x29, 0x03),
  MODE_PARAMETERS_CHANGED: sc(UNIT_ATTENTION, 0x2a, 0x01),
  LUN_BECOMING_READY: sc(NOT_READY, 0x04, 0x01),
  INITIALIZING_COMMAND_REQUIRED: sc(NOT_READY, 0x04, 0x02),
  WRITE_ERROR: sc(MEDIUM_ERROR, 0x0c, 0x00),
  MISCOMPARE_DURING_VERIFY: sc(MISCOMPARE, 0x1d, 0x00),
  PARAMETER_NOT_SUPPORTED: sc(ILLEGAL_REQUEST, 0x26, 0x01),
} as const satisfies Record<string, SenseCode>;

export type SenseCodeName = keyof typeof SENSE_CODE;

/** The ASC/ASCQ descriptions (SPC-4 table D.2) of the codes above. */
const ASC_TEXT: ReadonlyMap<number, string> = new Map([
  [0x0000, 'NO ADDITIONAL SENSE INFORMATION'],
  [0x0006, 'I/O PROCESS TERMINATED'],
  [0x0400, 'LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE'],
  [0x0401, 'LOGICAL UNIT IS IN PROCESS OF BECOMING READY'],
  [0x0402, 'LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED'],
  [0x0403, 'LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED'],
  [0x0800, 'LOGICAL UNIT COMMUNICATION FAILURE'],
  [0x0c00, 'WRITE ERROR'],
  [0x1100, 'UNRECOVERED READ ERROR'],
  [0x1a00, 'PARAMETER LIST LENGTH ERROR'],
  [0x1d00, 'MISCOMPARE DURING VERIFY OPERATION'],
  [0x2000, 'INVALID COMMAND OPERATION CODE'],
  [0x2100, 'LOGICAL BLOCK ADDRESS OUT OF RANGE'],
  [0x2400, 'INVALID FIELD IN CDB'],
  [0x2500, 'LOGICAL UNIT NOT SUPPORTED'],
  [0x2600, 'INVALID FIELD IN PARAMETER LIST'],
  [0x2601, 'PARAMETER NOT SUPPORTED'],
  [0x2700, 'WRITE PROTECTED'],
  [0x2707, 'SPACE ALLOCATION FAILED WRITE PROTECT'],
  [0x2800, 'NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED'],
  [0x2900, 'POWER ON, RESET, OR BUS DEVICE RESET OCCURRED'],
  [0x2901, 'POWER ON OCCURRED'],
  [0x2902, 'SCSI BUS RESET OCCURRED'],
  [0x2903, 'BUS DEVICE RESET FUNCTION OCCURRED'],
  [0x2904, 'DEVICE INTERNAL RESET'],
  [0x2907, 'I_T NEXUS LOSS OCCURRED'],
  [0x2a01, 'MODE PARAMETERS CHANGED'],
  [0x2a09, 'CAPACITY DATA HAS CHANGED'],
  [0x3000, 'INCOMPATIBLE MEDIUM INSTALLED'],
  [0x3900, 'SAVING PARAMETERS NOT SUPPORTED'],
  [0x3a00, 'MEDIUM NOT PRESENT'],
  [0x3e01, 'LOGICAL UNIT FAILURE'],
  [0x3f0e, 'REPORTED LUNS DATA HAS CHANGED'],
  [0x4400, 'INTERNAL TARGET FAILURE'],
  [0x4b01, 'INVALID TARGET PORT TRANSFER TAG RECEIVED'],
  [0x4e00, 'OVERLAPPED COMMANDS ATTEMPTED'],
  [0x5302, 'MEDIUM REMOVAL PREVENTED'],
]);

const hex2 = (n: number): string => (n & 0xff).toString(16).padStart(2, '0');

/** "ASC/ASCQ" text: the SPC description when known, else the two numbers. */
export function ascText(asc: number, ascq: number): string {
  return ASC_TEXT.get(((asc & 0xff) << 8) | (ascq & 0xff)) ?? `ASC 0x${hex2(asc)} ASCQ 0x${hex2(ascq)}`;
}

/** A sense code for traces: "ILLEGAL REQUEST: INVALID FIELD IN CDB (24/00)". */
export function senseCodeText(s: SenseCode): string {
  return `${senseKeyName(s.key)}: ${ascText(s.asc, s.ascq)} (${hex2(s.asc)}/${hex2(s.ascq)})`;
}

export const sameSenseCode = (a: SenseCode, b: SenseCode): boolean => a.key === b.key && a.asc === b.asc && a.ascq === b.ascq;
