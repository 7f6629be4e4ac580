/**
 * LUNs and the REPORT LUNS parameter data.
 *
 * A LUN is 8 bytes: four levels of two bytes (SAM-5 §4.7). The first level's top two bits
 * choose the addressing method (SAM-5 table 13):
 *   00b peripheral device: bits 13..8 BUS IDENTIFIER, 7..0 target or LUN
 *   01b flat space:        bits 13..0 LUN (0..16383)
 *   10b logical unit:      bits 13..8 TARGET, 7..5 BUS, 4..0 LUN
 *   11b extended:          C1h xxh is a well-known LUN (01h REPORT LUNS, SPC-4 §8.2)
 * QEMU's target reports LUN < 256 with peripheral addressing (00 lun), larger ones flat
 * (40h | lun >> 8, lun & ffh), in single-level LUN structures (hw/scsi/scsi-bus.c).
 *
 * Linux turns a LUN into an integer by swapping the levels' byte pairs (scsilun_to_int): a
 * single-level LUN becomes (byte 0 << 8) | byte 1, so a flat LUN L is 0x4000 | L. That is the
 * number the midlayer and virtio_scsi carry.
 *
 * REPORT LUNS data (SPC-4 §6.33.2): 0..3 LUN LIST LENGTH (8 × n)  4..7 reserved  8.. the LUNs.
 */
import * as E from 'fp-ts/lib/Either.js';
import { get32, put32, truncated, type ScsiDataError } from './bytes.js';

export const SCSI_LUN_LEN = 8;
export const REPORT_LUNS_HEADER_LEN = 8;
/** SELECT REPORT: 0 the LUNs of logical units, 1 well-known LUNs only, 2 all of them. */
export const REPORT_LUNS_SELECT_ALL_LUS = 0;
export const REPORT_LUNS_SELECT_WELL_KNOWN = 1;
export const REPORT_LUNS_SELECT_ALL = 2;
/** The REPORT LUNS well-known logical unit. */
export const REPORT_LUNS_WLUN = 0x01;

/** Linux's scsilun_to_int: the four levels' byte pairs, swapped into one 64-bit number. */
export function scsilunToInt(lun: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < SCSI_LUN_LEN; i += 2) {
    const pair = ((lun[i] ?? 0) << 8) | (lun[i + 1] ?? 0);
    v |= BigInt(pair) << BigInt(i * 8);
  }
  return v;
}

/** Linux's int_to_scsilun, the inverse. */
export function intToScsilun(v: bigint): Uint8Array {
  const out = new Uint8Array(SCSI_LUN_LEN);
  let x = BigInt.asUintN(64, v);
  for (let i = 0; i < SCSI_LUN_LEN; i += 2) {
    out[i] = Number((x >> 8n) & 0xffn);
    out[i + 1] = Number(x & 0xffn);
    x >>= 16n;
  }
  return out;
}

/** Bytes 2..7 are zero: one level. */
export const isSingleLevelLun = (lun: Uint8Array): boolean => lun.length >= 2 && lun.subarray(2, SCSI_LUN_LEN).every((b) => b === 0);

/** The first level of a LUN, by addressing method. */
export type LunAddress =
  | { readonly method: 'peripheral'; readonly bus: number; readonly lun: number }
  | { readonly method: 'flat'; readonly lun: number }
  | { readonly method: 'logical-unit'; readonly target: number; readonly bus: number; readonly lun: number }
  | { readonly method: 'well-known'; readonly wlun: number }
  | { readonly method: 'extended'; readonly bytes: readonly [number, number] };

export function decodeLunAddress(lun: Uint8Array): LunAddress {
  const b0 = lun[0] ?? 0;
  const b1 = lun[1] ?? 0;
  switch (b0 >> 6) {
    case 0:
      return { method: 'peripheral', bus: b0 & 0x3f, lun: b1 };
    case 1:
      return { method: 'flat', lun: ((b0 & 0x3f) << 8) | b1 };
    case 2:
      return { method: 'logical-unit', target: b0 & 0x3f, bus: b1 >> 5, lun: b1 & 0x1f };
    default:
      return b0 === 0xc1 ? { method: 'well-known', wlun: b1 } : { method: 'extended', bytes: [b0, b1] };
  }
}

export function encodeLunAddress(a: LunAddress): Uint8Array {
  const out = new Uint8Array(SCSI_LUN_LEN);
  switch (a.method) {
    case 'peripheral':
      out[0] = a.bus & 0x3f;
      out[1] = a.lun & 0xff;
      break;
    case 'flat':
      out[0] = 0x40 | ((a.lun >> 8) & 0x3f);
      out[1] = a.lun & 0xff;
      break;
    case 'logical-unit':
      out[0] = 0x80 | (a.target & 0x3f);
      out[1] = ((a.bus & 7) << 5) | (a.lun & 0x1f);
      break;
    case 'well-known':
      out[0] = 0xc1;
      out[1] = a.wlun & 0xff;
      break;
    case 'extended':
      out[0] = 0xc0 | (a.bytes[0] & 0x3f);
      out[1] = a.bytes[1] & 0xff;
  }
  return out;
}

/** A LUN as QEMU's target reports it: peripheral below 256, flat from 256 to 16383. */
export const qemuLun = (lun: number): Uint8Array =>
  encodeLunAddress(lun < 256 ? { method: 'peripheral', bus: 0, lun } : { method: 'flat', lun: lun & 0x3fff });

export interface ReportLunsData {
  /** LUN LIST LENGTH: bytes of LUNs the device has, which may be more than were transferred. */
  readonly listLength: number;
  /** The LUNs transferred in full, 8 bytes each. */
  readonly luns: readonly Uint8Array[];
}

export function encodeReportLuns(luns: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(REPORT_LUNS_HEADER_LEN + SCSI_LUN_LEN * luns.length);
  put32(out, 0, SCSI_LUN_LEN * luns.length);
  luns.forEach((l, i) => out.set(l.subarray(0, SCSI_LUN_LEN), REPORT_LUNS_HEADER_LEN + i * SCSI_LUN_LEN));
  return out;
}

/**
 * REPORT LUNS data, as cut by the allocation length: the LUNs wholly present and within the
 * list length. When `listLength` exceeds what arrived, Linux asks again with a bigger buffer.
 */
export function decodeReportLuns(b: Uint8Array): E.Either<ScsiDataError, ReportLunsData> {
  if (b.length < REPORT_LUNS_HEADER_LEN) return E.left(truncated('REPORT LUNS data', REPORT_LUNS_HEADER_LEN, b.length));
  const listLength = get32(b, 0);
  const end = Math.min(b.length, REPORT_LUNS_HEADER_LEN + listLength);
  const luns: Uint8Array[] = [];
  for (let o = REPORT_LUNS_HEADER_LEN; o + SCSI_LUN_LEN <= end; o += SCSI_LUN_LEN) luns.push(b.slice(o, o + SCSI_LUN_LEN));
  return E.right({ listLength, luns });
}
