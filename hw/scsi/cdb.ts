/**
 * Command descriptor blocks: the union of commands (cdb-types.ts), their builders
 * (cdb-encode.ts), the total parser (cdb-parse.ts), and what both sides derive from a
 * command: the sense a refused CDB earns, and the data phase it implies.
 *
 * Example (SBC-3 §5.11): READ(10) of 8 blocks at LBA 0x12345678 with FUA is
 *   28 08 12 34 56 78 00 00 08 00
 */
import { cdbOpcode, encodeCdb } from './cdb-encode.js';
import { parseCdb, type CdbError } from './cdb-parse.js';
import type { Cdb } from './cdb-types.js';
import { scsiOpcodeName } from './opcodes.js';
import { invalidFieldInCdb, senseOf, type SenseData } from './sense.js';
import { SENSE_CODE } from './sense-codes.js';

export type * from './cdb-types.js';
export { cdbOpcode, encodeCdb, parseCdb, type CdbError };

/** The sense data a device server returns, with CHECK CONDITION, for a refused CDB. */
export function cdbErrorSense(e: CdbError): SenseData {
  switch (e._tag) {
    case 'InvalidOpcode':
    case 'Truncated':
      return senseOf(SENSE_CODE.INVALID_OPCODE);
    case 'InvalidField':
      return invalidFieldInCdb(e.byte, e.bit);
    case 'LbaOutOfRange':
      return senseOf(SENSE_CODE.LBA_OUT_OF_RANGE);
  }
}

export function cdbErrorMessage(e: CdbError): string {
  switch (e._tag) {
    case 'InvalidOpcode':
      return `CDB: ${scsiOpcodeName(e.opcode)} is not a supported command`;
    case 'Truncated':
      return `CDB: ${scsiOpcodeName(e.opcode)} needs ${e.needed} bytes, got ${e.got}`;
    case 'InvalidField':
      return `CDB: ${e.message} (byte ${e.byte}${e.bit === undefined ? '' : `, bit ${e.bit}`})`;
    case 'LbaOutOfRange':
      return `CDB: ${scsiOpcodeName(e.opcode)} LBA ${e.lba} is beyond any disk`;
  }
}

/** Which way a command's data moves: SAM's data-in (from the device) and data-out (to it). */
export type DataDirection = 'none' | 'from-device' | 'to-device';

/** The data phase a command implies: its direction and the bytes the initiator provides or expects. */
export interface DataPhase {
  readonly direction: DataDirection;
  readonly bytes: number;
}

const NONE: DataPhase = { direction: 'none', bytes: 0 };
const fromDevice = (bytes: number): DataPhase => (bytes === 0 ? NONE : { direction: 'from-device', bytes });
const toDevice = (bytes: number): DataPhase => (bytes === 0 ? NONE : { direction: 'to-device', bytes });

/**
 * The data phase of a command on a device with `blockSize`-byte logical blocks: allocation
 * lengths for data-in commands, parameter list lengths and blocks for data-out ones
 * (QEMU's scsi_req_xfer and scsi_cmd_xfer_mode agree on these for a disk).
 */
export function cdbDataPhase(c: Cdb, blockSize: number): DataPhase {
  switch (c.op) {
    case 'READ':
      return fromDevice(c.transferLength * blockSize);
    case 'WRITE':
    case 'WRITE_AND_VERIFY':
      return toDevice(c.transferLength * blockSize);
    case 'VERIFY':
      return c.bytchk === 0 ? NONE : toDevice((c.bytchk === 1 ? c.verificationLength : 1) * blockSize);
    case 'WRITE_SAME':
      return c.ndob ? NONE : toDevice(blockSize);
    case 'MODE_SELECT':
    case 'UNMAP':
      return toDevice(c.parameterListLength);
    case 'REQUEST_SENSE':
    case 'INQUIRY':
    case 'MODE_SENSE':
    case 'READ_CAPACITY_16':
    case 'GET_LBA_STATUS':
    case 'REPORT_LUNS':
    case 'GET_EVENT_STATUS_NOTIFICATION':
    case 'READ_TOC':
    case 'REPORT_SUPPORTED_OPCODES':
      return fromDevice(c.allocationLength);
    case 'READ_CAPACITY_10':
      return fromDevice(8);
    case 'FORMAT_UNIT': // its parameter list (FMTDATA=1) is not modelled: QEMU formats nothing
    case 'TEST_UNIT_READY':
    case 'START_STOP_UNIT':
    case 'PREVENT_ALLOW_MEDIUM_REMOVAL':
    case 'SYNCHRONIZE_CACHE':
    case 'SEEK_10':
    case 'RESERVE':
    case 'RELEASE':
      return NONE;
  }
}

/** A command's name for traces: "READ(10)", "WRITE SAME(16)". */
export const cdbName = (c: Cdb): string => scsiOpcodeName(cdbOpcode(c));
