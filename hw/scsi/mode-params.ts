/**
 * Mode parameter lists (SPC-4 §7.5.4-7.5.5, SBC-3 §6.4.2): what MODE SENSE returns and MODE
 * SELECT sends. A header, block descriptors, then pages (mode-pages.ts).
 *
 *   header(6):  0 MODE DATA LENGTH (n - 1)  1 MEDIUM TYPE  2 DEVICE-SPECIFIC PARAMETER  3 BLOCK DESCRIPTOR LENGTH
 *   header(10): 0..1 MODE DATA LENGTH (n - 2)  2 MEDIUM TYPE  3 DEVICE-SPECIFIC PARAMETER  4 LONGLBA(0)
 *               6..7 BLOCK DESCRIPTOR LENGTH
 *   short LBA block descriptor (8):  0..3 NUMBER OF LOGICAL BLOCKS  5..7 LOGICAL BLOCK LENGTH
 *   long LBA block descriptor (16):  0..7 NUMBER OF LOGICAL BLOCKS  12..15 LOGICAL BLOCK LENGTH
 * For a disk the device-specific parameter holds WP (bit 7) and DPOFUA (bit 4). In MODE SELECT
 * data the mode data length is reserved (0).
 *
 * Decoding bounds everything by the bytes present: MODE SENSE data by its mode data length
 * too; a page or descriptor cut short by the allocation length is left out.
 */
import * as E from 'fp-ts/lib/Either.js';
import { get16, get32, get64, get64Safe, put16, put32, put64, truncated, type ScsiDataError } from './bytes.js';
import { decodeModePage, encodeModePage, modePageSize, type ModePage } from './mode-pages.js';

/** Device-specific parameter of a disk: write protected. */
export const MODE_DSP_WP = 0x80;
/** Device-specific parameter of a disk: DPO and FUA supported (QEMU's `dpofua`). */
export const MODE_DSP_DPOFUA = 0x10;

export interface BlockDescriptor {
  readonly numberOfBlocks: number;
  readonly blockLength: number;
}

export interface ModeParameters {
  /** Which header: MODE SENSE/SELECT(6) or (10). */
  readonly format: 6 | 10;
  readonly mediumType: number;
  readonly deviceSpecific: number;
  /** Long LBA block descriptors (header(10) only; false for 6). */
  readonly longLba: boolean;
  readonly blockDescriptors: readonly BlockDescriptor[];
  readonly pages: readonly ModePage[];
}

const headerLen = (format: 6 | 10): number => (format === 6 ? 4 : 8);
const descLen = (longLba: boolean): number => (longLba ? 16 : 8);

/** The list's bytes. `select`: MODE SELECT data, whose MODE DATA LENGTH is reserved (zero). */
export function encodeModeParameters(p: ModeParameters, opts: { select?: boolean } = {}): Uint8Array {
  const long = p.format === 10 && p.longLba;
  const hdr = headerLen(p.format);
  const dl = descLen(long);
  const pages = p.pages.map(encodeModePage);
  const bdLength = dl * p.blockDescriptors.length;
  const out = new Uint8Array(hdr + bdLength + pages.reduce((s, x) => s + x.length, 0));
  const dataLength = opts.select ? 0 : out.length - (p.format === 6 ? 1 : 2);
  if (p.format === 6) {
    out[0] = dataLength & 0xff;
    out[1] = p.mediumType & 0xff;
    out[2] = p.deviceSpecific & 0xff;
    out[3] = bdLength & 0xff;
  } else {
    put16(out, 0, dataLength);
    out[2] = p.mediumType & 0xff;
    out[3] = p.deviceSpecific & 0xff;
    out[4] = long ? 1 : 0;
    put16(out, 6, bdLength);
  }
  p.blockDescriptors.forEach((d, i) => {
    const o = hdr + i * dl;
    if (long) {
      put64(out, o, d.numberOfBlocks);
      put32(out, o + 12, d.blockLength);
    } else {
      put32(out, o, d.numberOfBlocks);
      put32(out, o + 4, d.blockLength & 0xff_ffff);
    }
  });
  let o = hdr + bdLength;
  for (const pg of pages) {
    out.set(pg, o);
    o += pg.length;
  }
  return out;
}

/**
 * Decode a mode parameter list of the given header format. `select`: MODE SELECT data, which
 * runs to the end of the buffer (the CDB's parameter list length) rather than to a mode data length.
 */
export function decodeModeParameters(b: Uint8Array, format: 6 | 10, opts: { select?: boolean } = {}): E.Either<ScsiDataError, ModeParameters> {
  const what = `mode parameter list (${format})`;
  const hdr = headerLen(format);
  if (b.length < hdr) return E.left(truncated(what, hdr, b.length));
  const dataLength = format === 6 ? b[0] : get16(b, 0);
  const end = opts.select ? b.length : Math.min(b.length, dataLength + (format === 6 ? 1 : 2));
  const longLba = format === 10 && (b[4] & 1) === 1;
  const bdLength = format === 6 ? b[3] : get16(b, 6);
  const dl = descLen(longLba);
  if (bdLength % dl !== 0) return E.left({ _tag: 'BadField', what, field: 'BLOCK DESCRIPTOR LENGTH', value: bdLength });
  const blockDescriptors: BlockDescriptor[] = [];
  for (let o = hdr; o + dl <= Math.min(end, hdr + bdLength); o += dl) {
    if (!longLba) {
      blockDescriptors.push({ numberOfBlocks: get32(b, o), blockLength: get32(b, o + 4) & 0xff_ffff });
      continue;
    }
    const n = get64Safe(b, o);
    if (n === undefined) return E.left({ _tag: 'Unrepresentable', what, field: 'NUMBER OF LOGICAL BLOCKS', value: get64(b, o) });
    blockDescriptors.push({ numberOfBlocks: n, blockLength: get32(b, o + 12) });
  }
  const pages: ModePage[] = [];
  // Every page is at least 2 bytes, so the walk ends.
  for (let o = hdr + bdLength; o < end; ) {
    const size = modePageSize(b, o);
    if (size === undefined || o + size > end) break;
    pages.push(decodeModePage(b.subarray(o, o + size)));
    o += size;
  }
  return E.right({ format, mediumType: format === 6 ? b[1] : b[2], deviceSpecific: format === 6 ? b[2] : b[3], longLba, blockDescriptors, pages });
}
