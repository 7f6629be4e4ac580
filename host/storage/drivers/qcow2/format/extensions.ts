/**
 * qcow2 header extensions (docs/interop/qcow2.txt, "Header extensions"): after the header
 * and up to the backing file name (or the end of the first cluster), a list of
 *
 *   Byte 0-3: type   4-7: length of the data   8-n: data   n-m: padding to a multiple of 8
 *
 * ended by type 0. Extensions this code does not know are kept and written back.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeFeatureTable, type FeatureName } from './features.js';

export const EXT_END = 0x00000000;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_TABLE = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_CRYPTO_HEADER = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

/** QEMU keeps the backing format in a 16-byte buffer. */
export const MAX_BACKING_FORMAT = 15;
/** The bitmaps extension's fixed size, and QEMU's limits on it. */
export const BITMAPS_EXT_SIZE = 24;
export const QCOW2_MAX_BITMAPS = 65535;
export const QCOW2_MAX_BITMAP_DIRECTORY_SIZE = 1024 * QCOW2_MAX_BITMAPS;
const CRYPTO_EXT_SIZE = 16;

export interface RawExtension {
  readonly magic: number;
  readonly data: Uint8Array;
}

export interface BitmapsExtension {
  readonly nbBitmaps: number;
  readonly directorySize: number;
  readonly directoryOffset: number;
}

/** What the extensions of an image say. */
export interface HeaderExtensions {
  readonly backingFormat?: string;
  readonly dataFile?: string;
  readonly featureTable?: readonly FeatureName[];
  readonly crypto?: { readonly offset: number; readonly length: number };
  /** The bitmaps extension, when the autoclear bit says its bitmaps are consistent. */
  readonly bitmaps?: BitmapsExtension;
  /**
   * The image has a bitmaps extension but its autoclear bit is clear: a program without
   * bitmap support wrote to it. QEMU ignores the extension and drops it on a writable open.
   */
  readonly bitmapsIgnored?: boolean;
  /** Unknown extensions, in the order QEMU writes them back (the reverse of reading). */
  readonly unknown: readonly RawExtension[];
}

const utf8 = new TextDecoder();
const pad8 = (n: number): number => (n + 7) & ~7;
const u64 = (v: DataView, p: number): number => v.getUint32(p) * 2 ** 32 + v.getUint32(p + 4);

/**
 * Split [start, end) of `buf` into extensions, stopping at the end marker or at `end`.
 * "Header extension too large" when one runs past `end`, as QEMU says.
 */
export function decodeExtensions(buf: Uint8Array, start: number, end: number): E.Either<string, RawExtension[]> {
  const limit = Math.min(end, buf.length);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RawExtension[] = [];
  let p = start;
  while (p < end) {
    if (p + 8 > limit) return E.left('Header extension too large');
    const magic = view.getUint32(p);
    const len = view.getUint32(p + 4);
    p += 8;
    if (len > end - p || p + len > limit) return E.left('Header extension too large');
    if (magic === EXT_END) break;
    out.push({ magic, data: buf.slice(p, p + len) });
    p += pad8(len);
  }
  return E.right(out);
}

/** One extension as it is stored: type, length, data, zero padding. */
export function encodeExtension(magic: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + pad8(data.length));
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  view.setUint32(4, data.length);
  out.set(data, 8);
  return out;
}

/** The known extensions' meaning, checked as qcow2_read_extensions checks it. */
export function interpretExtensions(
  raw: readonly RawExtension[],
  opts: { readonly luks: boolean; readonly clusterSize: number; readonly autoclearBitmaps: boolean },
): E.Either<string, HeaderExtensions> {
  let backingFormat: string | undefined;
  let dataFile: string | undefined;
  let featureTable: FeatureName[] | undefined;
  let crypto: HeaderExtensions['crypto'];
  let bitmaps: BitmapsExtension | undefined;
  let bitmapsIgnored = false;
  const unknown: RawExtension[] = [];
  for (const ext of raw) {
    const view = new DataView(ext.data.buffer, ext.data.byteOffset, ext.data.byteLength);
    switch (ext.magic) {
      case EXT_BACKING_FORMAT:
        if (ext.data.length > MAX_BACKING_FORMAT) return E.left(`ERROR: ext_backing_format: len=${ext.data.length} too large (>=${MAX_BACKING_FORMAT + 1})`);
        backingFormat = utf8.decode(ext.data);
        break;
      case EXT_FEATURE_TABLE:
        featureTable = decodeFeatureTable(ext.data);
        break;
      case EXT_CRYPTO_HEADER:
        if (!opts.luks) return E.left('CRYPTO header extension only expected with LUKS encryption method');
        if (ext.data.length !== CRYPTO_EXT_SIZE) return E.left(`CRYPTO header extension size ${ext.data.length}, but expected size ${CRYPTO_EXT_SIZE}`);
        crypto = { offset: u64(view, 0), length: u64(view, 8) };
        if (crypto.offset % opts.clusterSize !== 0) return E.left(`Encryption header offset '${crypto.offset}' is not a multiple of cluster size '${opts.clusterSize}'`);
        break;
      case EXT_BITMAPS: {
        if (ext.data.length !== BITMAPS_EXT_SIZE) return E.left('bitmaps_ext: Invalid extension length');
        if (!opts.autoclearBitmaps) {
          bitmapsIgnored = true;
          break;
        }
        if (view.getUint32(4) !== 0) return E.left('bitmaps_ext: Reserved field is not zero');
        const b = { nbBitmaps: view.getUint32(0), directorySize: u64(view, 8), directoryOffset: u64(view, 16) };
        if (b.nbBitmaps > QCOW2_MAX_BITMAPS) return E.left(`bitmaps_ext: Image has ${b.nbBitmaps} bitmaps, exceeding the QEMU supported maximum of ${QCOW2_MAX_BITMAPS}`);
        if (b.nbBitmaps === 0) return E.left('found bitmaps extension with zero bitmaps');
        if (b.directoryOffset % opts.clusterSize !== 0) return E.left('bitmaps_ext: invalid bitmap directory offset');
        if (b.directorySize > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
          return E.left(`bitmaps_ext: bitmap directory size (${b.directorySize}) exceeds the maximum supported size (${QCOW2_MAX_BITMAP_DIRECTORY_SIZE})`);
        }
        bitmaps = b;
        break;
      }
      case EXT_DATA_FILE:
        dataFile = utf8.decode(ext.data);
        break;
      default:
        unknown.unshift(ext);
    }
  }
  return E.right({ backingFormat, dataFile, featureTable, crypto, bitmaps, bitmapsIgnored, unknown });
}

/** The bitmaps extension's data. */
export function encodeBitmapsExtension(b: BitmapsExtension): Uint8Array {
  const out = new Uint8Array(BITMAPS_EXT_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, b.nbBitmaps);
  view.setUint32(8, Math.floor(b.directorySize / 2 ** 32));
  view.setUint32(12, b.directorySize >>> 0);
  view.setUint32(16, Math.floor(b.directoryOffset / 2 ** 32));
  view.setUint32(20, b.directoryOffset >>> 0);
  return out;
}

/** The crypto header pointer extension's data. */
export function encodeCryptoExtension(c: { readonly offset: number; readonly length: number }): Uint8Array {
  const out = new Uint8Array(CRYPTO_EXT_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(c.offset / 2 ** 32));
  view.setUint32(4, c.offset >>> 0);
  view.setUint32(8, Math.floor(c.length / 2 ** 32));
  view.setUint32(12, c.length >>> 0);
  return out;
}
