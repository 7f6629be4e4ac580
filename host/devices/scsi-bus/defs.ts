/**
 * The SCSI facts the target side uses, from hw/scsi/ (opcodes under QEMU's names, device
 * types, sense keys and QEMU's `sense_code_*` table, sense building), plus the few sizes
 * and codes only QEMU's target code has.
 */
export * from '../../../hw/scsi/opcodes.js';
export { TYPE_DISK, TYPE_ROM, TYPE_NOT_PRESENT, TYPE_INACTIVE, TYPE_NO_LUN } from '../../../hw/scsi/inquiry.js';
export {
  NO_SENSE,
  RECOVERED_ERROR,
  NOT_READY,
  MEDIUM_ERROR,
  HARDWARE_ERROR,
  ILLEGAL_REQUEST,
  UNIT_ATTENTION,
  DATA_PROTECT,
  ABORTED_COMMAND,
  SENSE_CODE as SENSE,
  sameSenseCode as senseEquals,
  senseCodeText,
  type SenseCode,
} from '../../../hw/scsi/sense-codes.js';
export { SCSI_SENSE_BUF_SIZE, buildSense, convertSense, parseSenseCode as parseSense } from '../../../hw/scsi/sense.js';

/** SERVICE ACTION IN(16) service action READ CAPACITY(16). */
export const SAI_READ_CAPACITY_16 = 0x10;
/** SCSI_SENSE_LEN: fixed-format sense as QEMU builds it. */
export const SCSI_SENSE_LEN = 18;
/** SCSI_INQUIRY_LEN: standard INQUIRY data of the target itself. */
export const SCSI_INQUIRY_LEN = 36;

/** "key 05 asc 24 ascq 00" for traces and messages. */
export function senseName(s: { key: number; asc: number; ascq: number }): string {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `key ${h(s.key)} asc ${h(s.asc)} ascq ${h(s.ascq)}`;
}
