/**
 * Vital product data pages (SPC-4 §7.8, SBC-3 §6.6), answered to INQUIRY with EVPD=1.
 *
 * Every page: 0 PERIPHERAL QUALIFIER(7:5) DEVICE TYPE(4:0)   1 PAGE CODE   2..3 PAGE LENGTH (n - 3)
 *   0x00 supported VPD pages: the page codes, ascending
 *   0x80 unit serial number: ASCII
 *   0x83 device identification: designation descriptors (designators.ts)
 *   0xb0 block limits (page length 0x3c)            0xb1 block device characteristics (0x3c)
 *   0xb2 logical block provisioning (4, more with a provisioning group descriptor)
 * The fixed pages' fields are the tables below, offsets from the page's first byte.
 *
 * A page cut short by the allocation length decodes with its missing fields zero, as Linux's
 * sd reads an old device's 16-byte block limits page.
 */
import * as E from 'fp-ts/lib/Either.js';
import { get16, latin1Bytes, latin1Text, put16, truncated, type ScsiDataError } from './bytes.js';
import { decodeDesignators, encodeDesignators, type Designator } from './designators.js';
import { F, readLayout, writeLayout, type Layout, type LayoutOverflow, type LayoutValue } from './fields.js';

export const VPD_SUPPORTED_PAGES = 0x00;
export const VPD_UNIT_SERIAL = 0x80;
export const VPD_DEVICE_IDENTIFICATION = 0x83;
export const VPD_BLOCK_LIMITS = 0xb0;
export const VPD_BLOCK_DEVICE_CHARACTERISTICS = 0xb1;
export const VPD_LOGICAL_BLOCK_PROVISIONING = 0xb2;
export const VPD_HEADER_LEN = 4;

export const BLOCK_LIMITS_LAYOUT = {
  wsnz: F.bit(4, 0),
  maximumCompareAndWriteLength: F.u8(5),
  optimalTransferLengthGranularity: F.u16(6),
  maximumTransferLength: F.u32(8),
  optimalTransferLength: F.u32(12),
  maximumPrefetchLength: F.u32(16),
  maximumUnmapLbaCount: F.u32(20),
  maximumUnmapBlockDescriptorCount: F.u32(24),
  optimalUnmapGranularity: F.u32(28),
  ugavalid: F.bit(32, 7),
  unmapGranularityAlignment: F.u31(32),
  maximumWriteSameLength: F.u64(36),
} as const;
export const BLOCK_LIMITS_PAGE_LENGTH = 0x3c;

export const BLOCK_DEVICE_CHARACTERISTICS_LAYOUT = {
  /** 0 not reported, 1 non-rotating (SSD), else rpm. */
  mediumRotationRate: F.u16(4),
  productType: F.u8(6),
  wabereq: F.bits(7, 6, 2),
  wacereq: F.bits(7, 4, 2),
  nominalFormFactor: F.bits(7, 0, 4),
  zoned: F.bits(8, 4, 2),
  fuab: F.bit(8, 1),
  vbuls: F.bit(8, 0),
} as const;
export const BLOCK_DEVICE_CHARACTERISTICS_PAGE_LENGTH = 0x3c;

export const LOGICAL_BLOCK_PROVISIONING_LAYOUT = {
  thresholdExponent: F.u8(4),
  /** UNMAP supported. */
  lbpu: F.bit(5, 7),
  /** WRITE SAME(16) with UNMAP supported. */
  lbpws: F.bit(5, 6),
  /** WRITE SAME(10) with UNMAP supported. */
  lbpws10: F.bit(5, 5),
  /** What unmapped blocks read as (SBC-4: 3 bits; SBC-3's LBPRZ bit is the low one). */
  lbprz: F.bits(5, 2, 3),
  ancSup: F.bit(5, 1),
  dp: F.bit(5, 0),
  minimumPercentage: F.bits(6, 3, 5),
  /** 0 not reported, 1 resource provisioned, 2 thin provisioned. */
  provisioningType: F.bits(6, 0, 3),
  thresholdPercentage: F.u8(7),
} as const;
export const LOGICAL_BLOCK_PROVISIONING_PAGE_LENGTH = 4;
export const PROVISIONING_TYPE_FULL = 0;
export const PROVISIONING_TYPE_RESOURCE = 1;
export const PROVISIONING_TYPE_THIN = 2;

export type BlockLimits = LayoutValue<typeof BLOCK_LIMITS_LAYOUT>;
export type BlockDeviceCharacteristics = LayoutValue<typeof BLOCK_DEVICE_CHARACTERISTICS_LAYOUT>;
export type LogicalBlockProvisioning = LayoutValue<typeof LOGICAL_BLOCK_PROVISIONING_LAYOUT>;

export type VpdPage =
  | { readonly kind: 'supported-pages'; readonly pages: readonly number[] }
  | { readonly kind: 'unit-serial'; readonly serial: string }
  | { readonly kind: 'device-identification'; readonly designators: readonly Designator[] }
  | ({ readonly kind: 'block-limits' } & BlockLimits)
  | ({ readonly kind: 'block-device-characteristics' } & BlockDeviceCharacteristics)
  | ({ readonly kind: 'logical-block-provisioning' } & LogicalBlockProvisioning)
  | { readonly kind: 'other'; readonly pageCode: number; readonly data: Uint8Array };

export interface DecodedVpd {
  /** Byte 0: qualifier and device type (0x00 for a disk). */
  readonly peripheral: number;
  readonly page: VpdPage;
}

export function vpdPageCode(p: VpdPage): number {
  switch (p.kind) {
    case 'supported-pages':
      return VPD_SUPPORTED_PAGES;
    case 'unit-serial':
      return VPD_UNIT_SERIAL;
    case 'device-identification':
      return VPD_DEVICE_IDENTIFICATION;
    case 'block-limits':
      return VPD_BLOCK_LIMITS;
    case 'block-device-characteristics':
      return VPD_BLOCK_DEVICE_CHARACTERISTICS;
    case 'logical-block-provisioning':
      return VPD_LOGICAL_BLOCK_PROVISIONING;
    case 'other':
      return p.pageCode;
  }
}

function fixedPage(pageLength: number, fill: (b: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(VPD_HEADER_LEN + pageLength);
  fill(b);
  return b;
}

function body(p: VpdPage): Uint8Array {
  switch (p.kind) {
    case 'supported-pages':
      return fixedPage(p.pages.length, (b) => b.set(p.pages.map((c) => c & 0xff), VPD_HEADER_LEN));
    case 'unit-serial':
      return fixedPage(p.serial.length, (b) => b.set(latin1Bytes(p.serial), VPD_HEADER_LEN));
    case 'device-identification': {
      const d = encodeDesignators(p.designators);
      return fixedPage(d.length, (b) => b.set(d, VPD_HEADER_LEN));
    }
    case 'block-limits':
      return fixedPage(BLOCK_LIMITS_PAGE_LENGTH, (b) => writeLayout(BLOCK_LIMITS_LAYOUT, p, b));
    case 'block-device-characteristics':
      return fixedPage(BLOCK_DEVICE_CHARACTERISTICS_PAGE_LENGTH, (b) => writeLayout(BLOCK_DEVICE_CHARACTERISTICS_LAYOUT, p, b));
    case 'logical-block-provisioning':
      return fixedPage(LOGICAL_BLOCK_PROVISIONING_PAGE_LENGTH, (b) => writeLayout(LOGICAL_BLOCK_PROVISIONING_LAYOUT, p, b));
    case 'other':
      return fixedPage(p.data.length, (b) => b.set(p.data, VPD_HEADER_LEN));
  }
}

/** A VPD page's bytes. The PAGE LENGTH is 16 bits; a longer body (65535+) is cut. */
export function encodeVpdPage(p: VpdPage, peripheral = 0): Uint8Array {
  const full = body(p);
  const b = full.length > VPD_HEADER_LEN + 0xffff ? full.slice(0, VPD_HEADER_LEN + 0xffff) : full;
  b[0] = peripheral & 0xff;
  b[1] = vpdPageCode(p);
  put16(b, 2, b.length - VPD_HEADER_LEN);
  return b;
}

/** Decode a VPD page: its bytes as far as both PAGE LENGTH and the buffer reach. */
export function decodeVpdPage(raw: Uint8Array): E.Either<ScsiDataError, DecodedVpd> {
  if (raw.length < VPD_HEADER_LEN) return E.left(truncated('VPD page', VPD_HEADER_LEN, raw.length));
  const b = raw.subarray(0, Math.min(raw.length, VPD_HEADER_LEN + get16(raw, 2)));
  const data = b.subarray(VPD_HEADER_LEN);
  const peripheral = b[0];
  const page = (p: VpdPage): E.Either<ScsiDataError, DecodedVpd> => E.right({ peripheral, page: p });
  const what = `VPD page 0x${b[1].toString(16)}`;
  switch (b[1]) {
    case VPD_SUPPORTED_PAGES:
      return page({ kind: 'supported-pages', pages: Array.from(data) });
    case VPD_UNIT_SERIAL:
      return page({ kind: 'unit-serial', serial: latin1Text(data) });
    case VPD_DEVICE_IDENTIFICATION:
      return page({ kind: 'device-identification', designators: decodeDesignators(data) });
    case VPD_BLOCK_LIMITS:
      return E.map((v: BlockLimits) => ({ peripheral, page: { kind: 'block-limits' as const, ...v } }))(fromLayout(BLOCK_LIMITS_LAYOUT, b, what));
    case VPD_BLOCK_DEVICE_CHARACTERISTICS:
      return E.map((v: BlockDeviceCharacteristics) => ({ peripheral, page: { kind: 'block-device-characteristics' as const, ...v } }))(
        fromLayout(BLOCK_DEVICE_CHARACTERISTICS_LAYOUT, b, what),
      );
    case VPD_LOGICAL_BLOCK_PROVISIONING:
      return E.map((v: LogicalBlockProvisioning) => ({ peripheral, page: { kind: 'logical-block-provisioning' as const, ...v } }))(
        fromLayout(LOGICAL_BLOCK_PROVISIONING_LAYOUT, b, what),
      );
    default:
      return page({ kind: 'other', pageCode: b[1], data: data.slice() });
  }
}

function fromLayout<L extends Layout>(layout: L, b: Uint8Array, what: string): E.Either<ScsiDataError, LayoutValue<L>> {
  return E.mapLeft((o: LayoutOverflow): ScsiDataError => ({ _tag: 'Unrepresentable', what, field: o.field, value: o.value }))(readLayout(layout, b));
}
