/**
 * READ CAPACITY parameter data (SBC-3 §5.15.2, §5.16.2).
 *
 * READ CAPACITY(10), 8 bytes:   0..3 RETURNED LOGICAL BLOCK ADDRESS (the last LBA, 0xffffffff
 *                               when it does not fit)   4..7 LOGICAL BLOCK LENGTH IN BYTES
 * READ CAPACITY(16), 32 bytes:  0..7 RETURNED LOGICAL BLOCK ADDRESS   8..11 LOGICAL BLOCK LENGTH
 *   12  P_TYPE(3:1) PROT_EN(0)
 *   13  P_I_EXPONENT(7:4) LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT(3:0)
 *   14  LBPME(7) LBPRZ(6) LOWEST ALIGNED LOGICAL BLOCK ADDRESS(13:8 in 5:0)   15 (7:0)
 *   16..31 reserved
 */
import * as E from 'fp-ts/lib/Either.js';
import { bit, bits, flag, get16, get32, get64, get64Safe, put32, put64, truncated, type ScsiDataError } from './bytes.js';

export const READ_CAPACITY_10_LEN = 8;
export const READ_CAPACITY_16_LEN = 32;

export interface ReadCapacity10Data {
  readonly lastLba: number;
  readonly blockLength: number;
}

export interface ReadCapacity16Data {
  readonly lastLba: number;
  readonly blockLength: number;
  /** Protection type - 1 when PROT_EN is set. */
  readonly pType: number;
  readonly protEn: boolean;
  readonly pIExponent: number;
  /** log2(physical block / logical block). */
  readonly lbPerPbExponent: number;
  /** Logical block provisioning management enabled: the disk is thin (UNMAP works). */
  readonly lbpme: boolean;
  /** Unmapped blocks read as zeroes. */
  readonly lbprz: boolean;
  readonly lowestAlignedLba: number;
}

/**
 * READ CAPACITY(10) data for a disk of `blocks` logical blocks: a last LBA above 32 bits is
 * reported as 0xffffffff, which tells the initiator to ask READ CAPACITY(16) (QEMU, SBC-3).
 */
export function readCapacity10For(blocks: number, blockLength: number): ReadCapacity10Data {
  return { lastLba: Math.min(Math.max(blocks - 1, 0), 0xffff_ffff), blockLength };
}

export function encodeReadCapacity10(d: ReadCapacity10Data): Uint8Array {
  const out = new Uint8Array(READ_CAPACITY_10_LEN);
  put32(out, 0, d.lastLba);
  put32(out, 4, d.blockLength);
  return out;
}

export function decodeReadCapacity10(b: Uint8Array): E.Either<ScsiDataError, ReadCapacity10Data> {
  if (b.length < READ_CAPACITY_10_LEN) return E.left(truncated('READ CAPACITY(10) data', READ_CAPACITY_10_LEN, b.length));
  return E.right({ lastLba: get32(b, 0), blockLength: get32(b, 4) });
}

export function encodeReadCapacity16(d: ReadCapacity16Data): Uint8Array {
  const out = new Uint8Array(READ_CAPACITY_16_LEN);
  put64(out, 0, d.lastLba);
  put32(out, 8, d.blockLength);
  out[12] = ((d.pType & 7) << 1) | flag(d.protEn, 0);
  out[13] = ((d.pIExponent & 0xf) << 4) | (d.lbPerPbExponent & 0xf);
  out[14] = flag(d.lbpme, 7) | flag(d.lbprz, 6) | ((d.lowestAlignedLba >> 8) & 0x3f);
  out[15] = d.lowestAlignedLba & 0xff;
  return out;
}

/** The first 16 bytes carry every field; Linux's sd reads no further. */
const RC16_FIELDS_LEN = 16;

export function decodeReadCapacity16(b: Uint8Array): E.Either<ScsiDataError, ReadCapacity16Data> {
  if (b.length < RC16_FIELDS_LEN) return E.left(truncated('READ CAPACITY(16) data', RC16_FIELDS_LEN, b.length));
  const lastLba = get64Safe(b, 0);
  if (lastLba === undefined) return E.left({ _tag: 'Unrepresentable', what: 'READ CAPACITY(16) data', field: 'RETURNED LOGICAL BLOCK ADDRESS', value: get64(b, 0) });
  return E.right({
    lastLba,
    blockLength: get32(b, 8),
    pType: bits(b, 12, 1, 3),
    protEn: bit(b, 12, 0),
    pIExponent: bits(b, 13, 4, 4),
    lbPerPbExponent: bits(b, 13, 0, 4),
    lbpme: bit(b, 14, 7),
    lbprz: bit(b, 14, 6),
    lowestAlignedLba: get16(b, 14) & 0x3fff,
  });
}
