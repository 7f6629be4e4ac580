/**
 * Designation descriptors of the device identification VPD page 0x83 (SPC-4 §7.8.6):
 *
 *   0  PROTOCOL IDENTIFIER(7:4) CODE SET(3:0)      1  PIV(7) ASSOCIATION(5:4) DESIGNATOR TYPE(3:0)
 *   2  reserved                                    3  DESIGNATOR LENGTH (n)      4..  designator
 *
 * Designator types read here: 1 T10 vendor ID (8-byte vendor, then vendor-specific text),
 * 3 NAA (8 or 16 bytes, the top nibble is the NAA format), 4 relative target port (2 reserved
 * bytes, then the port number). Others stay raw. QEMU's scsi-hd lists its `device_id` as a
 * vendor-specific ASCII designator, then `wwn` as NAA, then `port_wwn` and `port_index` for
 * the target port (hw/scsi/scsi-disk.c).
 */
import { asciiField, get16, latin1Bytes, latin1Text, put16, putAsciiField } from './bytes.js';

export const CODE_SET_BINARY = 1;
export const CODE_SET_ASCII = 2;
export const CODE_SET_UTF8 = 3;
export const ASSOCIATION_LU = 0;
export const ASSOCIATION_TARGET_PORT = 1;
export const ASSOCIATION_TARGET_DEVICE = 2;
export const DESIGNATOR_VENDOR_SPECIFIC = 0;
export const DESIGNATOR_T10_VENDOR_ID = 1;
export const DESIGNATOR_EUI64 = 2;
export const DESIGNATOR_NAA = 3;
export const DESIGNATOR_RELATIVE_TARGET_PORT = 4;
export const DESIGNATOR_SCSI_NAME_STRING = 8;
/** SAS's protocol identifier, which QEMU gives its target-port designators (with PIV). */
export const PROTOCOL_SAS = 6;

export type DesignatorId =
  | { readonly type: 't10-vendor-id'; readonly vendor: string; readonly specific: string }
  | { readonly type: 'naa'; readonly naa: Uint8Array }
  | { readonly type: 'relative-target-port'; readonly port: number }
  | { readonly type: 'other'; readonly designatorType: number; readonly data: Uint8Array };

export interface Designator {
  readonly protocolIdentifier: number;
  readonly codeSet: number;
  /** Protocol identifier valid. */
  readonly piv: boolean;
  readonly association: number;
  readonly id: DesignatorId;
}

function idBytes(id: DesignatorId): { type: number; data: Uint8Array } {
  switch (id.type) {
    case 't10-vendor-id': {
      const spec = latin1Bytes(id.specific);
      const data = new Uint8Array(8 + spec.length);
      putAsciiField(data, 0, 8, id.vendor);
      data.set(spec, 8);
      return { type: DESIGNATOR_T10_VENDOR_ID, data };
    }
    case 'naa':
      return { type: DESIGNATOR_NAA, data: id.naa };
    case 'relative-target-port': {
      const data = new Uint8Array(4);
      put16(data, 2, id.port);
      return { type: DESIGNATOR_RELATIVE_TARGET_PORT, data };
    }
    case 'other':
      return { type: id.designatorType & 0xf, data: id.data };
  }
}

/** The descriptors back to back; a designator longer than 255 bytes is cut to 255. */
export function encodeDesignators(ds: readonly Designator[]): Uint8Array {
  const parts = ds.map((d) => {
    const { type, data } = idBytes(d.id);
    const n = Math.min(data.length, 255);
    const out = new Uint8Array(4 + n);
    out[0] = ((d.protocolIdentifier & 0xf) << 4) | (d.codeSet & 0xf);
    out[1] = (d.piv ? 0x80 : 0) | ((d.association & 3) << 4) | type;
    out[3] = n;
    out.set(data.subarray(0, n), 4);
    return out;
  });
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function decodeId(type: number, data: Uint8Array): DesignatorId {
  if (type === DESIGNATOR_T10_VENDOR_ID && data.length >= 8) return { type: 't10-vendor-id', vendor: asciiField(data, 0, 8), specific: latin1Text(data.subarray(8)) };
  if (type === DESIGNATOR_NAA) return { type: 'naa', naa: data.slice() };
  if (type === DESIGNATOR_RELATIVE_TARGET_PORT && data.length === 4) return { type: 'relative-target-port', port: get16(data, 2) };
  return { type: 'other', designatorType: type, data: data.slice() };
}

/** The descriptors in a page's body; a descriptor running past the end is dropped. */
export function decodeDesignators(b: Uint8Array): Designator[] {
  const out: Designator[] = [];
  for (let o = 0; o + 4 <= b.length; ) {
    const n = b[o + 3];
    if (o + 4 + n > b.length) break;
    out.push({
      protocolIdentifier: b[o] >> 4,
      codeSet: b[o] & 0xf,
      piv: (b[o + 1] & 0x80) !== 0,
      association: (b[o + 1] >> 4) & 3,
      id: decodeId(b[o + 1] & 0xf, b.subarray(o + 4, o + 4 + n)),
    });
    o += 4 + n;
  }
  return out;
}

/** A logical unit's T10 vendor ID designator (ASCII). */
export const t10VendorIdDesignator = (vendor: string, specific: string): Designator => ({
  protocolIdentifier: 0,
  codeSet: CODE_SET_ASCII,
  piv: false,
  association: ASSOCIATION_LU,
  id: { type: 't10-vendor-id', vendor, specific },
});

/** A logical unit's 8-byte NAA designator from a 64-bit WWN (QEMU's `wwn` property). */
export function naaDesignator(wwn: bigint, association = ASSOCIATION_LU): Designator {
  const naa = new Uint8Array(8);
  let x = BigInt.asUintN(64, wwn);
  for (let i = 7; i >= 0; i--) {
    naa[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return { protocolIdentifier: 0, codeSet: CODE_SET_BINARY, piv: false, association, id: { type: 'naa', naa } };
}

/** A vendor-specific ASCII designator, as QEMU lists `device_id` (at most 247 characters there). */
export const asciiVendorSpecificDesignator = (text: string): Designator => ({
  protocolIdentifier: 0,
  codeSet: CODE_SET_ASCII,
  piv: false,
  association: ASSOCIATION_LU,
  id: { type: 'other', designatorType: DESIGNATOR_VENDOR_SPECIFIC, data: latin1Bytes(text) },
});
