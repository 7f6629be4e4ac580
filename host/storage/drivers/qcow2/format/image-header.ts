/**
 * The first cluster of an image, parsed and checked as qcow2_do_open checks it, in its
 * order and with its messages: the fixed header, feature bits, table placement and
 * sizes, header extensions and the backing file name. Pure: the caller reads the bytes.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeExtensions, interpretExtensions, type HeaderExtensions } from './extensions.js';
import { AUTOCLEAR_BITMAPS, INCOMPAT_CORRUPT, INCOMPAT_MASK, unsupportedFeatureMessage } from './features.js';
import {
  CRYPT_AES,
  CRYPT_LUKS,
  CRYPT_NONE,
  decodeHeader,
  hasExtL2,
  MAX_BACKING_FILE_NAME,
  QCOW_MAX_L1_SIZE,
  QCOW_MAX_REFTABLE_SIZE,
  QCOW_MAX_SNAPSHOTS,
  SNAPSHOT_HEADER_SIZE,
  sizeToL1,
  V3_HEADER_LENGTH,
  validateTable,
  type Qcow2Header,
} from './header.js';
import { SUBCLUSTERS_PER_CLUSTER } from './l2-entry.js';
import { MAX_REFCOUNT_ORDER } from './refcount-block.js';

export interface ParsedImage {
  readonly header: Qcow2Header;
  readonly extensions: HeaderExtensions;
  readonly unknownHeaderFields: Uint8Array;
  readonly backingFile?: string;
}

export interface ParseOptions {
  /** Opened read-write (a corrupt image is refused). */
  readonly writable: boolean;
  /** The image file's size in bytes: tables must lie inside it. */
  readonly fileLength: number;
}

const INT_MAX = 2 ** 31 - 1;
const utf8 = new TextDecoder();

/**
 * Parse `cluster`: the image's first cluster (bytes past the end of the file read as zero);
 * at least 112 bytes, and a whole cluster once the header says how big one is.
 */
export function parseImageHeader(cluster: Uint8Array, o: ParseOptions): E.Either<string, ParsedImage> {
  const dec = decodeHeader(cluster);
  if (E.isLeft(dec)) return dec;
  const h = dec.right;
  const cs = 2 ** h.clusterBits;
  if (cluster.length < cs) return E.left(`qcow2 header: ${cluster.length} bytes given for a ${cs}-byte cluster`);
  const unknownHeaderFields = h.headerLength > V3_HEADER_LENGTH ? cluster.slice(V3_HEADER_LENGTH, h.headerLength) : new Uint8Array(0);
  const extEnd = h.backingFileOffset || cs;
  const autoclearBitmaps = (h.autoclearFeatures & AUTOCLEAR_BITMAPS) !== 0n;
  const unknown = h.incompatibleFeatures & ~INCOMPAT_MASK;
  if (unknown) {
    const raw = decodeExtensions(cluster, h.headerLength, extEnd);
    const table = E.isRight(raw) ? E.getOrElse(() => ({ unknown: [] }) as HeaderExtensions)(interpretExtensions(raw.right, { luks: true, clusterSize: cs, autoclearBitmaps })) : undefined;
    return E.left(unsupportedFeatureMessage(table?.featureTable ?? [], unknown));
  }
  if (h.incompatibleFeatures & INCOMPAT_CORRUPT && o.writable) return E.left('qcow2: Image is corrupt; cannot be opened read/write');
  const subcluster = hasExtL2(h) ? cs / SUBCLUSTERS_PER_CLUSTER : cs;
  if (subcluster < 512) return E.left(`Unsupported subcluster size: ${subcluster}`);
  if (h.refcountOrder > MAX_REFCOUNT_ORDER) return E.left('Reference count entry width too large; may not exceed 64 bits');
  if (h.cryptMethod !== CRYPT_NONE) {
    if (h.cryptMethod === CRYPT_AES) return E.left('Use of AES-CBC encrypted qcow2 images is no longer supported in system emulators');
    if (h.cryptMethod === CRYPT_LUKS) return E.left('iopath does not support LUKS-encrypted qcow2 images');
    return E.left(`Unsupported encryption method ${h.cryptMethod}`);
  }
  if (h.refcountTableClusters === 0) return E.left('Image does not contain a reference count table');
  const tables: Array<[string, number, number, number, number]> = [
    ['Reference count table', h.refcountTableOffset, h.refcountTableClusters, cs, QCOW_MAX_REFTABLE_SIZE],
    ['Snapshot table', h.snapshotsOffset, h.nbSnapshots, SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE * QCOW_MAX_SNAPSHOTS],
    ['Active L1 table', h.l1TableOffset, h.l1Size, 8, QCOW_MAX_L1_SIZE],
  ];
  for (const [name, offset, entries, size, max] of tables) {
    // Snapshot entries vary in size: only their first header must be in the file.
    const checked = name === 'Snapshot table' ? Math.min(entries, 1) : entries;
    if (entries > max / size) return E.left(`${name} too large`);
    const err = validateTable(name, offset, checked, size, max, cs, o.fileLength);
    if (err) return E.left(err);
  }
  if (!Number.isSafeInteger(h.size)) return E.left('Image is too big');
  const l1Needed = sizeToL1(h.size, h.clusterBits, hasExtL2(h));
  if (l1Needed > INT_MAX) return E.left('Image is too big');
  if (h.l1Size < l1Needed) return E.left('L1 table is too small');
  const raw = decodeExtensions(cluster, h.headerLength, extEnd);
  if (E.isLeft(raw)) return raw;
  const ext = interpretExtensions(raw.right, { luks: false, clusterSize: cs, autoclearBitmaps });
  if (E.isLeft(ext)) return ext;
  let backingFile: string | undefined;
  if (h.backingFileOffset !== 0) {
    const len = h.backingFileSize;
    if (len > Math.min(MAX_BACKING_FILE_NAME, cs - h.backingFileOffset)) return E.left('Backing file name too long');
    backingFile = utf8.decode(cluster.subarray(h.backingFileOffset, h.backingFileOffset + len));
  }
  return E.right({ header: h, extensions: ext.right, unknownHeaderFields, backingFile });
}
