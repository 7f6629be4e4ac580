/**
 * The qcow2 header (docs/interop/qcow2.txt, "Header"), big-endian:
 *
 *   0 magic "QFI\xfb"      4 version (2|3)        8 backing_file_offset   16 backing_file_size
 *  20 cluster_bits        24 size               32 crypt_method         36 l1_size
 *  40 l1_table_offset     48 refcount_table_offset                      56 refcount_table_clusters
 *  60 nb_snapshots        64 snapshots_offset   -- version 2 ends at 72 --
 *  72 incompatible_features  80 compatible_features  88 autoclear_features
 *  96 refcount_order     100 header_length     104 compression_type (1 byte) + 7 padding = 112
 *
 * `decodeHeader` reads and checks the fixed fields as qcow2_do_open does, with QEMU's
 * messages; `encodeHeaderCluster` writes the whole first cluster as qcow2_update_header
 * does (header, unknown header fields, extensions, end marker, backing file name).
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  EXT_BACKING_FORMAT,
  EXT_BITMAPS,
  EXT_CRYPTO_HEADER,
  EXT_DATA_FILE,
  EXT_END,
  EXT_FEATURE_TABLE,
  encodeBitmapsExtension,
  encodeCryptoExtension,
  encodeExtension,
  type BitmapsExtension,
  type RawExtension,
} from './extensions.js';
import { encodeFeatureTable, INCOMPAT_COMPRESSION, INCOMPAT_EXTL2, QEMU_FEATURE_TABLE } from './features.js';

export const QCOW_MAGIC = 0x514649fb;
export const V2_HEADER_LENGTH = 72;
export const V3_MIN_HEADER_LENGTH = 104;
/** sizeof(QCowHeader) in QEMU 7.2: the v3 fields, compression_type and its padding. */
export const V3_HEADER_LENGTH = 112;
export const COMPRESSION_TYPE_OFFSET = 104;
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
export const COMPRESSION_ZLIB = 0;
export const COMPRESSION_ZSTD = 1;
export const CRYPT_NONE = 0;
export const CRYPT_AES = 1;
export const CRYPT_LUKS = 2;
/** QEMU's implementation limits. */
export const QCOW_MAX_L1_SIZE = 32 * 1024 * 1024;
export const QCOW_MAX_REFTABLE_SIZE = 8 * 1024 * 1024;
export const QCOW_MAX_SNAPSHOTS = 65536;
export const SNAPSHOT_HEADER_SIZE = 40;
export const MAX_BACKING_FILE_NAME = 1023;

/** Header field offsets QEMU rewrites in place. */
export const OFF_SIZE = 24;
export const OFF_L1_SIZE = 36;
export const OFF_REFCOUNT_TABLE_OFFSET = 48;
export const OFF_INCOMPATIBLE_FEATURES = 72;

export interface Qcow2Header {
  readonly version: number;
  readonly backingFileOffset: number;
  readonly backingFileSize: number;
  readonly clusterBits: number;
  readonly size: number;
  readonly cryptMethod: number;
  readonly l1Size: number;
  readonly l1TableOffset: number;
  readonly refcountTableOffset: number;
  readonly refcountTableClusters: number;
  readonly nbSnapshots: number;
  readonly snapshotsOffset: number;
  readonly incompatibleFeatures: bigint;
  readonly compatibleFeatures: bigint;
  readonly autoclearFeatures: bigint;
  readonly refcountOrder: number;
  readonly headerLength: number;
  readonly compressionType: number;
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** A u64 field as a number (inexact above 2^53, which every check treats as too large). */
const u64 = (v: DataView, p: number): number => v.getUint32(p) * 2 ** 32 + v.getUint32(p + 4);
const setU64 = (v: DataView, p: number, x: number): void => {
  v.setUint32(p, Math.floor(x / 2 ** 32));
  v.setUint32(p + 4, x >>> 0);
};

/**
 * Decode and check the fixed header at the start of `buf` (at least 112 bytes; bytes past
 * the file's end read as zero). Checks, in QEMU's order and words: magic, version,
 * cluster_bits, header_length, backing_file_offset, compression type. Feature bits,
 * tables and sizes are checked by `validateHeader`.
 */
export function decodeHeader(buf: Uint8Array): E.Either<string, Qcow2Header> {
  if (buf.length < V3_HEADER_LENGTH) return E.left('Image is not in qcow2 format');
  const v = view(buf);
  if (v.getUint32(0) !== QCOW_MAGIC) return E.left('Image is not in qcow2 format');
  const version = v.getUint32(4);
  if (version < 2 || version > 3) return E.left(`Unsupported qcow2 version ${version}`);
  const clusterBits = v.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) return E.left(`Unsupported cluster size: 2^${clusterBits}`);
  const clusterSize = 2 ** clusterBits;
  const v3 = version === 3;
  const headerLength = v3 ? v.getUint32(100) : V2_HEADER_LENGTH;
  if (v3 && headerLength < V3_MIN_HEADER_LENGTH) return E.left('qcow2 header too short');
  if (headerLength > clusterSize) return E.left('qcow2 header exceeds cluster size');
  const backingFileOffset = u64(v, 8);
  if (backingFileOffset > clusterSize) return E.left('Invalid backing file offset');
  const incompatibleFeatures = v3 ? v.getBigUint64(72) : 0n;
  const compressionType = headerLength > COMPRESSION_TYPE_OFFSET ? buf[COMPRESSION_TYPE_OFFSET] : COMPRESSION_ZLIB;
  if (compressionType !== COMPRESSION_ZLIB && compressionType !== COMPRESSION_ZSTD) return E.left(`qcow2: unknown compression type: ${compressionType}`);
  const bit = (incompatibleFeatures & INCOMPAT_COMPRESSION) !== 0n;
  if (compressionType === COMPRESSION_ZLIB && bit) return E.left('qcow2: Compression type incompatible feature bit must not be set');
  if (compressionType !== COMPRESSION_ZLIB && !bit) return E.left('qcow2: Compression type incompatible feature bit must be set');
  return E.right({
    version,
    backingFileOffset,
    backingFileSize: v.getUint32(16),
    clusterBits,
    size: u64(v, 24),
    cryptMethod: v.getUint32(32),
    l1Size: v.getUint32(36),
    l1TableOffset: u64(v, 40),
    refcountTableOffset: u64(v, 48),
    refcountTableClusters: v.getUint32(56),
    nbSnapshots: v.getUint32(60),
    snapshotsOffset: u64(v, 64),
    incompatibleFeatures,
    compatibleFeatures: v3 ? v.getBigUint64(80) : 0n,
    autoclearFeatures: v3 ? v.getBigUint64(88) : 0n,
    refcountOrder: v3 ? v.getUint32(96) : 4,
    headerLength,
    compressionType,
  });
}

/** Guest clusters one L2 table maps. */
export const l2Entries = (clusterBits: number, extendedL2: boolean): number => 2 ** clusterBits / (extendedL2 ? 16 : 8);

/** size_to_l1: L1 entries needed for a disk of `size` bytes. */
export function sizeToL1(size: number, clusterBits: number, extendedL2: boolean): number {
  return Math.ceil(size / (2 ** clusterBits * l2Entries(clusterBits, extendedL2)));
}

/**
 * qcow2_validate_table: `entries` of `entrySize` bytes at `offset`, at most `maxBytes`,
 * cluster-aligned. Besides QEMU's checks, a table must not overlap the header cluster
 * and must lie inside the image file (so nothing is allocated for a table that is not
 * there).
 */
export function validateTable(
  name: string,
  offset: number,
  entries: number,
  entrySize: number,
  maxBytes: number,
  clusterSize: number,
  fileLength: number,
): string | null {
  if (entries > maxBytes / entrySize) return `${name} too large`;
  const bytes = entries * entrySize;
  if (!Number.isSafeInteger(offset + bytes) || offset % clusterSize !== 0) return `${name} offset invalid`;
  if (entries === 0) return null;
  if (offset < clusterSize) return `${name} overlaps the image header (offset ${offset})`;
  if (offset + bytes > fileLength) return `${name} is not inside the image file (offset ${offset}, ${bytes} bytes, file size ${fileLength})`;
  return null;
}

/** Everything the first cluster holds besides the header fields. */
export interface HeaderCluster {
  readonly header: Omit<Qcow2Header, 'backingFileOffset' | 'backingFileSize' | 'headerLength'>;
  /** Bytes between the known header and header_length, kept as they were. */
  readonly unknownHeaderFields: Uint8Array;
  readonly backingFile?: string;
  readonly backingFormat?: string;
  readonly dataFile?: string;
  readonly crypto?: { readonly offset: number; readonly length: number };
  readonly bitmaps?: BitmapsExtension;
  readonly unknownExtensions: readonly RawExtension[];
}

const utf8 = new TextEncoder();

/**
 * The first cluster as qcow2_update_header writes it, or a message when it does not fit
 * (QEMU's -ENOSPC). The feature name table is written for v3 with clusters over 4 KiB.
 */
export function encodeHeaderCluster(hc: HeaderCluster, clusterSize: number): E.Either<string, Uint8Array> {
  const h = hc.header;
  const out = new Uint8Array(clusterSize);
  const v = view(out);
  const fixed = h.version === 2 ? V2_HEADER_LENGTH : V3_HEADER_LENGTH;
  const headerLength = V3_HEADER_LENGTH + hc.unknownHeaderFields.length;
  v.setUint32(0, QCOW_MAGIC);
  v.setUint32(4, h.version);
  v.setUint32(20, h.clusterBits);
  setU64(v, 24, h.size);
  v.setUint32(32, h.cryptMethod);
  v.setUint32(36, h.l1Size);
  setU64(v, 40, h.l1TableOffset);
  setU64(v, 48, h.refcountTableOffset);
  v.setUint32(56, h.refcountTableClusters);
  v.setUint32(60, h.nbSnapshots);
  setU64(v, 64, h.snapshotsOffset);
  if (h.version >= 3) {
    v.setBigUint64(72, h.incompatibleFeatures);
    v.setBigUint64(80, h.compatibleFeatures);
    v.setBigUint64(88, h.autoclearFeatures);
    v.setUint32(96, h.refcountOrder);
    v.setUint32(100, headerLength);
    out[COMPRESSION_TYPE_OFFSET] = h.compressionType;
  }
  const parts: Uint8Array[] = [];
  if (hc.unknownHeaderFields.length) parts.push(hc.unknownHeaderFields);
  if (hc.backingFormat !== undefined) parts.push(encodeExtension(EXT_BACKING_FORMAT, utf8.encode(hc.backingFormat)));
  if (hc.dataFile !== undefined) parts.push(encodeExtension(EXT_DATA_FILE, utf8.encode(hc.dataFile)));
  if (hc.crypto) parts.push(encodeExtension(EXT_CRYPTO_HEADER, encodeCryptoExtension(hc.crypto)));
  if (h.version >= 3 && clusterSize > 4096) parts.push(encodeExtension(EXT_FEATURE_TABLE, encodeFeatureTable(QEMU_FEATURE_TABLE)));
  if (hc.bitmaps) parts.push(encodeExtension(EXT_BITMAPS, encodeBitmapsExtension(hc.bitmaps)));
  for (const u of hc.unknownExtensions) parts.push(encodeExtension(u.magic, u.data));
  parts.push(encodeExtension(EXT_END, new Uint8Array(0)));
  let p = fixed;
  for (const part of parts) {
    if (p + part.length > clusterSize) return E.left('Header extensions do not fit in the first cluster');
    out.set(part, p);
    p += part.length;
  }
  if (hc.backingFile !== undefined) {
    const name = utf8.encode(hc.backingFile);
    if (p + name.length > clusterSize) return E.left('Backing file name does not fit in the first cluster');
    out.set(name, p);
    setU64(v, 8, p);
    v.setUint32(16, name.length);
  }
  return E.right(out);
}

/** Whether the image uses extended L2 entries. */
export const hasExtL2 = (h: Pick<Qcow2Header, 'incompatibleFeatures'>): boolean => (h.incompatibleFeatures & INCOMPAT_EXTL2) !== 0n;
