/**
 * qcow2 feature bits (docs/interop/qcow2.txt, "Header", bytes 72-95) and the feature name
 * table header extension (0x6803f857) that names them for programs that do not know them.
 *
 * Feature words are 64-bit, so they are kept as bigint.
 */

/** incompatible_features: an implementation must refuse an image with a bit it does not know. */
export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_DATA_FILE = 1n << 2n;
export const INCOMPAT_COMPRESSION = 1n << 3n;
export const INCOMPAT_EXTL2 = 1n << 4n;
export const INCOMPAT_MASK = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;

/** compatible_features: may be ignored. */
export const COMPAT_LAZY_REFCOUNTS = 1n << 0n;

/** autoclear_features: a writer that does not know a bit must clear it. */
export const AUTOCLEAR_BITMAPS = 1n << 0n;
export const AUTOCLEAR_DATA_FILE_RAW = 1n << 1n;
export const AUTOCLEAR_MASK = AUTOCLEAR_BITMAPS | AUTOCLEAR_DATA_FILE_RAW;

export const FEAT_TYPE_INCOMPATIBLE = 0;
export const FEAT_TYPE_COMPATIBLE = 1;
export const FEAT_TYPE_AUTOCLEAR = 2;

/** One entry of the feature name table: 1 byte type, 1 byte bit, 46 bytes of name. */
export interface FeatureName {
  readonly type: number;
  readonly bit: number;
  readonly name: string;
}

export const FEATURE_ENTRY_SIZE = 48;
const NAME_BYTES = 46;

/** The table QEMU 7.2 writes into v3 images with clusters larger than 4 KiB. */
export const QEMU_FEATURE_TABLE: readonly FeatureName[] = [
  { type: FEAT_TYPE_INCOMPATIBLE, bit: 0, name: 'dirty bit' },
  { type: FEAT_TYPE_INCOMPATIBLE, bit: 1, name: 'corrupt bit' },
  { type: FEAT_TYPE_INCOMPATIBLE, bit: 2, name: 'external data file' },
  { type: FEAT_TYPE_INCOMPATIBLE, bit: 3, name: 'compression type' },
  { type: FEAT_TYPE_INCOMPATIBLE, bit: 4, name: 'extended L2 entries' },
  { type: FEAT_TYPE_COMPATIBLE, bit: 0, name: 'lazy refcounts' },
  { type: FEAT_TYPE_AUTOCLEAR, bit: 0, name: 'bitmaps' },
  { type: FEAT_TYPE_AUTOCLEAR, bit: 1, name: 'raw external data' },
];

const latin1 = new TextDecoder('latin1');

/** The extension's data for `table` (names longer than 46 bytes are cut). */
export function encodeFeatureTable(table: readonly FeatureName[]): Uint8Array {
  const out = new Uint8Array(table.length * FEATURE_ENTRY_SIZE);
  table.forEach((f, i) => {
    const p = i * FEATURE_ENTRY_SIZE;
    out[p] = f.type;
    out[p + 1] = f.bit;
    for (let j = 0; j < Math.min(NAME_BYTES, f.name.length); j++) out[p + 2 + j] = f.name.charCodeAt(j) & 0xff;
  });
  return out;
}

/** Entries of a feature name table; a trailing partial entry is ignored. */
export function decodeFeatureTable(data: Uint8Array): FeatureName[] {
  const out: FeatureName[] = [];
  for (let p = 0; p + FEATURE_ENTRY_SIZE <= data.length; p += FEATURE_ENTRY_SIZE) {
    const raw = data.subarray(p + 2, p + 2 + NAME_BYTES);
    const nul = raw.indexOf(0);
    out.push({ type: data[p], bit: data[p + 1], name: latin1.decode(nul < 0 ? raw : raw.subarray(0, nul)) });
  }
  return out;
}

/**
 * QEMU's report_unsupported_feature: the named incompatible features of `mask` (as the
 * image's own table names them, up to its first nameless entry), then the unnamed rest
 * as one hex mask.
 */
export function unsupportedFeatureMessage(table: readonly FeatureName[], mask: bigint): string {
  const parts: string[] = [];
  for (const f of table) {
    if (f.name === '') break;
    if (f.type !== FEAT_TYPE_INCOMPATIBLE || f.bit > 63) continue;
    const bit = 1n << BigInt(f.bit);
    if (mask & bit) {
      parts.push(f.name);
      mask &= ~bit;
    }
  }
  if (mask) parts.push(`Unknown incompatible feature: ${mask.toString(16)}`);
  return `Unsupported qcow2 feature(s): ${parts.join(', ')}`;
}
