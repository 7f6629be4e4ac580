/**
 * A logical unit's WWID as multipathd gets it (udev's `scsi_id --page=0x83`, ID_SERIAL):
 * the identity that says two SCSI devices are two paths to one LUN.
 *
 * From the device identification page (0x83), the first logical-unit designator in
 * scsi_id's order of preference — NAA (IEEE registered extended, then registered, then
 * any), EUI-64, T10 vendor ID, vendor specific — each binary one written as hex, each
 * ASCII one as text, after one hex digit naming its designator type. A vendor-specific
 * designator is not unique by itself, so the vendor and product from INQUIRY go before it
 * ("0QEMU    QEMU HARDDISK   drive-scsi0-0-0-0"). Without page 0x83 (or nothing usable
 * on it): 'S', vendor, product and the unit serial number of page 0x80. Whitespace runs
 * become one '_', trailing whitespace goes (udev's util_replace_whitespace), which is how
 * multipath -ll prints it: "0QEMU_QEMU_HARDDISK_drive-scsi0-0-0-0", "35000c50015ea71ac".
 *
 * Every byte here came from the device; a page of any shape gives an id or undefined.
 */
import { ASSOCIATION_LU, CODE_SET_ASCII, CODE_SET_BINARY, DESIGNATOR_EUI64, DESIGNATOR_NAA, DESIGNATOR_T10_VENDOR_ID, DESIGNATOR_VENDOR_SPECIFIC } from '../../hw/scsi/designators.js';
import { latin1Text } from '../../hw/scsi/bytes.js';
import type { ScsiDevice } from '../scsi/device.js';

const VPD_HEADER = 4;
/** WWID_SIZE in multipath-tools: longer ids are cut. */
export const WWID_SIZE = 128;

/** NAA formats scsi_id prefers (the top nibble of the designator). */
const NAA_IEEE_REG_EXTENDED = 6;
const NAA_IEEE_REG = 5;

interface Raw {
  readonly codeSet: number;
  readonly association: number;
  readonly type: number;
  readonly data: Uint8Array;
}

/** The page's designation descriptors, raw (SPC-4 §7.8.6); one running past the end ends the list. */
function rawDesignators(page: Uint8Array): Raw[] {
  if (page.length < VPD_HEADER || page[1] !== 0x83) return [];
  const body = page.subarray(VPD_HEADER, VPD_HEADER + ((page[2] << 8) | page[3]));
  const out: Raw[] = [];
  for (let o = 0; o + 4 <= body.length; ) {
    const n = body[o + 3];
    if (o + 4 + n > body.length) break;
    out.push({ codeSet: body[o] & 0xf, association: (body[o + 1] >> 4) & 3, type: body[o + 1] & 0xf, data: body.subarray(o + 4, o + 4 + n) });
    o += 4 + n;
  }
  return out;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** scsi_id's id_search_list: (designator type, NAA format or any, code set). */
const SEARCH: readonly [number, number | undefined, number][] = [
  [DESIGNATOR_NAA, NAA_IEEE_REG_EXTENDED, CODE_SET_BINARY],
  [DESIGNATOR_NAA, NAA_IEEE_REG_EXTENDED, CODE_SET_ASCII],
  [DESIGNATOR_NAA, NAA_IEEE_REG, CODE_SET_BINARY],
  [DESIGNATOR_NAA, NAA_IEEE_REG, CODE_SET_ASCII],
  [DESIGNATOR_NAA, undefined, CODE_SET_BINARY],
  [DESIGNATOR_NAA, undefined, CODE_SET_ASCII],
  [DESIGNATOR_EUI64, undefined, CODE_SET_BINARY],
  [DESIGNATOR_EUI64, undefined, CODE_SET_ASCII],
  [DESIGNATOR_T10_VENDOR_ID, undefined, CODE_SET_BINARY],
  [DESIGNATOR_T10_VENDOR_ID, undefined, CODE_SET_ASCII],
  [DESIGNATOR_VENDOR_SPECIFIC, undefined, CODE_SET_BINARY],
  [DESIGNATOR_VENDOR_SPECIFIC, undefined, CODE_SET_ASCII],
];

/** util_replace_whitespace: runs of whitespace become one '_', none at the end; cut to WWID_SIZE. */
export function replaceWhitespace(s: string): string {
  return s
    .replace(/[\s\0]+$/u, '')
    .replace(/[\s\0]+/gu, '_')
    .slice(0, WWID_SIZE);
}

const padded = (s: string, n: number): string => s.padEnd(n, ' ').slice(0, n);

/** The WWID from page 0x83 (and INQUIRY's vendor and product), or undefined. */
export function wwidFromPage83(page: Uint8Array, vendor: string, product: string): string | undefined {
  const ds = rawDesignators(page).filter((d) => d.association === ASSOCIATION_LU && d.data.length > 0);
  for (const [type, naa, codeSet] of SEARCH) {
    const d = ds.find((x) => x.type === type && x.codeSet === codeSet && (naa === undefined || x.data[0] >> 4 === naa));
    if (d === undefined) continue;
    const body = codeSet === CODE_SET_BINARY ? hex(d.data) : latin1Text(d.data);
    const prefix = type === DESIGNATOR_VENDOR_SPECIFIC ? padded(vendor, 8) + padded(product, 16) : '';
    return replaceWhitespace(type.toString(16) + prefix + body);
  }
  return undefined;
}

/** The WWID from the unit serial number page (0x80), or undefined. */
export function wwidFromPage80(page: Uint8Array, vendor: string, product: string): string | undefined {
  if (page.length <= VPD_HEADER || page[1] !== 0x80) return undefined;
  const len = Math.min(page.length - VPD_HEADER, (page[2] << 8) | page[3]);
  const serial = latin1Text(page.subarray(VPD_HEADER, VPD_HEADER + len)).trim();
  if (serial.length === 0) return undefined;
  return replaceWhitespace('S' + padded(vendor, 8) + padded(product, 16) + serial);
}

/** The device's WWID from the VPD pages the midlayer cached at scan time. */
export function scsiWwid(sdev: ScsiDevice): string | undefined {
  const { pg83, pg80 } = sdev.vpd;
  return (pg83 && wwidFromPage83(pg83, sdev.vendor, sdev.model)) ?? (pg80 && wwidFromPage80(pg80, sdev.vendor, sdev.model)) ?? undefined;
}
