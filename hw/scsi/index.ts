/**
 * SCSI as initiator and target share it, byte for byte (SPC-4, SBC-3, SAM-5, MMC-6 as Linux's
 * include/scsi/ and QEMU's include/scsi/, scsi/utils.c and hw/scsi/ show them):
 *
 *   opcodes.ts      operation codes, names, CDB length by group code
 *   status.ts       SAM status codes, Linux host bytes (DID_*)
 *   sense-codes.ts  sense keys and named ASC/ASCQ triples (QEMU's SENSE_CODE table)
 *   sense.ts        fixed and descriptor sense data, conversion between them
 *   cdb*.ts         the command union, its builders and its total parser
 *   unmap.ts        the UNMAP parameter list
 *   inquiry.ts      standard INQUIRY data, device types
 *   vpd.ts, designators.ts   VPD pages 0x00 0x80 0x83 0xb0 0xb1 0xb2
 *   mode-pages.ts, mode-params.ts   mode pages, headers and block descriptors
 *   capacity.ts     READ CAPACITY(10)/(16) data
 *   report-luns.ts  LUN formats and REPORT LUNS data
 *   bytes.ts, fields.ts   big-endian fields and table-driven layouts under all of them
 *
 * Decoders take any bytes and answer a value or a typed error; nothing here throws on input.
 * arbitraries.ts (fast-check generators) is test support and not exported here.
 */
export * from './bytes.js';
export * from './capacity.js';
export * from './cdb.js';
export * from './designators.js';
export * from './fields.js';
export * from './inquiry.js';
export * from './mode-pages.js';
export * from './mode-params.js';
export * from './opcodes.js';
export * from './report-luns.js';
export * from './sense.js';
export * from './sense-codes.js';
export * from './status.js';
export * from './unmap.js';
export * from './vpd.js';
