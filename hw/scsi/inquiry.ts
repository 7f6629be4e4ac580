/**
 * Standard INQUIRY data (SPC-4 §6.4.2) and the peripheral device types (SPC-4 table 139).
 *
 *   0  PERIPHERAL QUALIFIER(7:5) PERIPHERAL DEVICE TYPE(4:0)    1  RMB(7) LU_CONG(6)
 *   2  VERSION (5 = SPC-3, 6 = SPC-4)   3  NORMACA(5) HISUP(4) RESPONSE DATA FORMAT(3:0) (= 2)
 *   4  ADDITIONAL LENGTH (n - 4)        5  SCCS(7) ACC(6) TPGS(5:4) 3PC(3) PROTECT(0)
 *   6  ENCSERV(6) VS(5) MULTIP(4)       7  SYNC(4) CMDQUE(1) (SYNC is SPI's; QEMU sets it)
 *   8..15 T10 VENDOR IDENTIFICATION   16..31 PRODUCT IDENTIFICATION   32..35 PRODUCT REVISION LEVEL
 *   (ASCII, space padded)   36..57 vendor specific and SPI fields   58..73 VERSION DESCRIPTORs 1..8
 *
 * QEMU's scsi-hd answers vendor "QEMU", product "QEMU HARDDISK", version 5, byte 3 0x12,
 * byte 7 0x10 | (TCQ ? 0x02 : 0), and an additional length of allocation length - 5 (at most 256
 * bytes in all) when the initiator asks for more than 36.
 */
import * as E from 'fp-ts/lib/Either.js';
import { asciiField, putAsciiField, truncated, type ScsiDataError } from './bytes.js';
import { F, readLayout, writeLayout, type LayoutValue } from './fields.js';

/* Peripheral device types */
export const TYPE_DISK = 0x00;
export const TYPE_TAPE = 0x01;
export const TYPE_PROCESSOR = 0x03;
export const TYPE_ROM = 0x05;
export const TYPE_ENCLOSURE = 0x0d;
export const TYPE_ZBC = 0x14;
/** Well-known logical unit. */
export const TYPE_WLUN = 0x1e;
/** Unknown or no device type (with qualifier 0). */
export const TYPE_NOT_PRESENT = 0x1f;
/** Qualifier 1: a device could be connected at this LUN but is not. */
export const TYPE_INACTIVE = 0x20;
/** Qualifier 3, type 0x1f: the target cannot have a device at this LUN (QEMU's TYPE_NO_LUN). */
export const TYPE_NO_LUN = 0x7f;

/* VERSION */
export const INQUIRY_VERSION_SPC2 = 4;
export const INQUIRY_VERSION_SPC3 = 5;
export const INQUIRY_VERSION_SPC4 = 6;

/* Version descriptors (SPC-4 table 146; Linux enum scsi_version_descriptor) */
export const VERSION_DESCRIPTOR_SAM5 = 0x00a0;
export const VERSION_DESCRIPTOR_SPC4 = 0x0460;
export const VERSION_DESCRIPTOR_SBC3 = 0x04c0;

/** The standard data's fixed part. */
export const INQUIRY_STANDARD_LEN = 36;
/** Through the eighth version descriptor. */
export const INQUIRY_WITH_DESCRIPTORS_LEN = 74;
/** QEMU's SCSI_MAX_INQUIRY_LEN; also the most ADDITIONAL LENGTH can describe (255 + 5 = 260). */
export const SCSI_MAX_INQUIRY_LEN = 256;

const FLAGS = {
  qualifier: F.bits(0, 5, 3),
  deviceType: F.bits(0, 0, 5),
  rmb: F.bit(1, 7),
  luCong: F.bit(1, 6),
  version: F.u8(2),
  normaca: F.bit(3, 5),
  hisup: F.bit(3, 4),
  responseDataFormat: F.bits(3, 0, 4),
  sccs: F.bit(5, 7),
  acc: F.bit(5, 6),
  tpgs: F.bits(5, 4, 2),
  threePc: F.bit(5, 3),
  protect: F.bit(5, 0),
  encserv: F.bit(6, 6),
  multip: F.bit(6, 4),
  sync: F.bit(7, 4),
  cmdque: F.bit(7, 1),
} as const;

export const INQUIRY_FLAGS_LAYOUT = FLAGS;

export type StandardInquiry = LayoutValue<typeof FLAGS> & {
  /** At most 8 characters; decoded without the padding. */
  readonly vendor: string;
  /** At most 16 characters. */
  readonly product: string;
  /** At most 4 characters. */
  readonly revision: string;
  /** Up to eight 16-bit descriptors; zero entries are not listed. */
  readonly versionDescriptors: readonly number[];
};

/**
 * The standard data: 36 bytes, or 74 with version descriptors, or `length` bytes (zero padded,
 * capped at 260) with ADDITIONAL LENGTH = length - 5, as QEMU sizes its answer.
 */
export function encodeStandardInquiry(d: StandardInquiry, length?: number): Uint8Array {
  const min = d.versionDescriptors.length > 0 ? INQUIRY_WITH_DESCRIPTORS_LEN : INQUIRY_STANDARD_LEN;
  const len = Math.min(Math.max(min, length ?? min), 260);
  const out = new Uint8Array(len);
  writeLayout(FLAGS, d, out);
  out[4] = len - 5;
  putAsciiField(out, 8, 8, d.vendor);
  putAsciiField(out, 16, 16, d.product);
  putAsciiField(out, 32, 4, d.revision);
  d.versionDescriptors.slice(0, 8).forEach((v, i) => {
    out[58 + 2 * i] = (v >> 8) & 0xff;
    out[59 + 2 * i] = v & 0xff;
  });
  return out;
}

/** Decode standard INQUIRY data; fewer than 36 bytes is refused. */
export function decodeStandardInquiry(b: Uint8Array): E.Either<ScsiDataError, StandardInquiry> {
  if (b.length < INQUIRY_STANDARD_LEN) return E.left(truncated('standard INQUIRY data', INQUIRY_STANDARD_LEN, b.length));
  const end = Math.min(b.length, b[4] + 5, INQUIRY_WITH_DESCRIPTORS_LEN);
  const versionDescriptors: number[] = [];
  for (let o = 58; o + 2 <= end; o += 2) {
    const v = (b[o] << 8) | b[o + 1];
    if (v !== 0) versionDescriptors.push(v);
  }
  const flags = readLayout(FLAGS, b);
  if (E.isLeft(flags)) return E.left({ _tag: 'Unrepresentable', what: 'standard INQUIRY data', field: flags.left.field, value: flags.left.value });
  return E.right({
    ...flags.right,
    vendor: asciiField(b, 8, 8),
    product: asciiField(b, 16, 16),
    revision: asciiField(b, 32, 4),
    versionDescriptors,
  });
}

/** QEMU's scsi-hd answer (hw/scsi/scsi-disk.c scsi_disk_emulate_inquiry) with its defaults. */
export function qemuDiskInquiry(o: { removable?: boolean; tcq?: boolean; version?: string; vendor?: string; product?: string; scsiVersion?: number } = {}): StandardInquiry {
  return {
    qualifier: 0,
    deviceType: TYPE_DISK,
    rmb: o.removable ?? false,
    luCong: false,
    version: o.scsiVersion ?? INQUIRY_VERSION_SPC3,
    normaca: false,
    hisup: true,
    responseDataFormat: 2,
    sccs: false,
    acc: false,
    tpgs: 0,
    threePc: false,
    protect: false,
    encserv: false,
    multip: false,
    sync: true,
    cmdque: o.tcq ?? true,
    vendor: o.vendor ?? 'QEMU',
    product: o.product ?? 'QEMU HARDDISK',
    revision: o.version ?? '2.5+',
    versionDescriptors: [],
  };
}
