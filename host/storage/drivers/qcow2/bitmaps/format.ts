/**
 * Persistent dirty bitmaps on disk (docs/interop/qcow2.txt, "Bitmaps": "Bitmap directory",
 * "Bitmap table", "Bitmap data"), with the limits QEMU 7.2 puts on them
 * (block/qcow2-bitmap.c: check_dir_entry, check_table_entry, bitmap_list_load).
 *
 * A directory entry, 8-byte aligned:
 *
 *   Byte 0-7:   bitmap_table_offset   (cluster aligned)
 *        8-11:  bitmap_table_size     (entries)
 *       12-15:  flags                 bit 0 in_use, bit 1 auto, bit 2 extra_data_compatible
 *          16:  type                  1 = dirty tracking bitmap
 *          17:  granularity_bits
 *       18-19:  name_size
 *       20-23:  extra_data_size
 *   variable:   extra data, name (not NUL-terminated), zero padding to a multiple of 8
 *
 * A bitmap table entry: bits 9-55 the data cluster's offset; with offset 0, bit 0 says the
 * cluster reads as all ones; bits 1-8 and 56-63 reserved.
 *
 * Pure: the bytes are read by the caller. Nothing here throws or allocates by a number read
 * from the image without a bound: the directory is at most 64 MiB (checked before it is
 * read), and decoding walks it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { QCOW2_MAX_BITMAP_DIRECTORY_SIZE } from '../format/extensions.js';

/** QEMU's limits on a directory entry (BME_*). */
export const BME_MAX_TABLE_SIZE = 0x8000000;
export const BME_MAX_PHYS_SIZE = 0x20000000;
export const BME_MAX_GRANULARITY_BITS = 31;
export const BME_MIN_GRANULARITY_BITS = 9;
export const BME_MAX_NAME_SIZE = 1023;

export const BME_FLAG_IN_USE = 1 << 0;
export const BME_FLAG_AUTO = 1 << 1;
/** Every flag QEMU does not know, extra_data_compatible included: QEMU refuses them. */
export const BME_RESERVED_FLAGS = 0xfffffffc;

export const BT_DIRTY_TRACKING_BITMAP = 1;

/** The fixed part of a directory entry. */
export const DIR_ENTRY_HEADER_SIZE = 24;
export const BME_TABLE_ENTRY_SIZE = 8;


const TABLE_ENTRY_RESERVED_MASK = 0xff000000000001fen;
const TABLE_ENTRY_OFFSET_MASK = 0x00fffffffffffe00n;
const TABLE_ENTRY_FLAG_ALL_ONES = 1n;

/** One directory entry, as decoded. */
export interface BitmapDirEntry {
  /** The table's offset; above 2^53 it is inexact, but such an offset lies past any file. */
  readonly tableOffset: number;
  readonly tableSize: number;
  readonly flags: number;
  readonly type: number;
  readonly granularityBits: number;
  /** The name's bytes, up to the first NUL (QEMU copies it with g_strndup). */
  readonly name: Uint8Array;
}

/** What the checks need of the image. */
export interface BitmapGeometry {
  readonly clusterSize: number;
  /** The virtual disk's size in bytes (bdrv_getlength). */
  readonly diskSize: number;
}

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
const utf8 = new TextDecoder();

/** A bitmap's name as text (QEMU prints the bytes as they are). */
export const bitmapName = (e: Pick<BitmapDirEntry, 'name'>): string => utf8.decode(e.name);

/** calc_dir_entry_size: the entry's size on disk. */
export const dirEntrySize = (nameSize: number, extraDataSize: number): number => pad8(DIR_ENTRY_HEADER_SIZE + nameSize + extraDataSize);

/** Bitmap data bytes for a disk of `diskSize` at `granularityBits`, as QEMU serializes them (whole 64-bit words). */
export function bitmapDataBytes(diskSize: number, granularityBits: number): number {
  const bits = Math.ceil(diskSize / 2 ** granularityBits);
  return Math.ceil(bits / 64) * 8;
}

/** The number of table entries (data clusters) a bitmap of this disk and granularity has. */
export const bitmapTableSize = (g: BitmapGeometry, granularityBits: number): number => Math.ceil(bitmapDataBytes(g.diskSize, granularityBits) / g.clusterSize);

/** Disk bytes one cluster of bitmap data covers (bdrv_dirty_bitmap_serialization_coverage). */
export const clusterCoverage = (clusterSize: number, granularityBits: number): number => clusterSize * 8 * 2 ** granularityBits;

/** check_dir_entry: whether QEMU accepts the entry. */
export function dirEntryValid(e: BitmapDirEntry, nameSize: number, offsetAligned: boolean, g: BitmapGeometry): boolean {
  const bad =
    e.tableSize === 0 ||
    e.tableOffset === 0 ||
    !offsetAligned ||
    e.tableSize > BME_MAX_TABLE_SIZE ||
    e.granularityBits > BME_MAX_GRANULARITY_BITS ||
    e.granularityBits < BME_MIN_GRANULARITY_BITS ||
    (e.flags & BME_RESERVED_FLAGS) !== 0 ||
    nameSize > BME_MAX_NAME_SIZE ||
    e.type !== BT_DIRTY_TRACKING_BITMAP;
  if (bad) return false;
  const phys = e.tableSize * g.clusterSize;
  if (phys > BME_MAX_PHYS_SIZE) return false;
  // A consistent bitmap must cover the disk; one marked in use may be stale after a resize.
  return (e.flags & BME_FLAG_IN_USE) !== 0 || g.diskSize <= phys * 8 * 2 ** e.granularityBits;
}

/**
 * bitmap_list_load's walk over the directory: `dir` holds the bytes of the directory that lie
 * in the file, `size` is its size from the header extension (bytes past `dir` read as zero,
 * as they do past the end of a file). The entries, or QEMU's message for the first problem.
 */
export function decodeDirectory(dir: Uint8Array, size: number, nbBitmaps: number, g: BitmapGeometry): E.Either<string, BitmapDirEntry[]> {
  if (size === 0) return E.left('Requested bitmap directory size is zero');
  if (size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) return E.left('Requested bitmap directory size is too big');
  const byte = (i: number): number => (i < dir.length ? dir[i] : 0);
  const u16 = (i: number): number => byte(i) * 0x100 + byte(i + 1);
  const u32 = (i: number): number => ((byte(i) << 24) | (byte(i + 1) << 16) | (byte(i + 2) << 8) | byte(i + 3)) >>> 0;
  const out: BitmapDirEntry[] = [];
  let p = 0;
  while (p < size) {
    if (p + DIR_ENTRY_HEADER_SIZE > size) return E.left('Broken bitmap directory');
    if (out.length + 1 > nbBitmaps) return E.left('More bitmaps found than specified in header extension');
    const hi = u32(p);
    const lo = u32(p + 4);
    const nameSize = u16(p + 18);
    const extraDataSize = u32(p + 20);
    const next = p + dirEntrySize(nameSize, extraDataSize);
    if (next > size) return E.left('Broken bitmap directory');
    const nameAt = p + DIR_ENTRY_HEADER_SIZE + extraDataSize;
    const raw = new Uint8Array(nameSize);
    for (let i = 0; i < nameSize; i++) raw[i] = byte(nameAt + i);
    const nul = raw.indexOf(0);
    const e: BitmapDirEntry = {
      tableOffset: hi * 2 ** 32 + lo,
      tableSize: u32(p + 8),
      flags: u32(p + 12),
      type: byte(p + 16),
      granularityBits: byte(p + 17),
      name: nul < 0 ? raw : raw.slice(0, nul),
    };
    if (extraDataSize !== 0) return E.left('Bitmap extra data is not supported');
    // Aligned to any power-of-two cluster size up to 2 MiB: the low 32 bits say it.
    if (!dirEntryValid(e, nameSize, lo % g.clusterSize === 0, g)) return E.left(`Bitmap '${bitmapName(e)}' doesn't satisfy the constraints`);
    out.push(e);
    p = next;
  }
  if (out.length !== nbBitmaps) return E.left('Less bitmaps found than specified in header extension');
  return E.right(out);
}

/** The directory as QEMU writes it (bitmap_list_store): no extra data, padding zero. */
export function encodeDirectory(entries: readonly BitmapDirEntry[]): Uint8Array {
  const size = entries.reduce((n, e) => n + dirEntrySize(e.name.length, 0), 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  for (const e of entries) {
    v.setUint32(p, Math.floor(e.tableOffset / 2 ** 32));
    v.setUint32(p + 4, e.tableOffset >>> 0);
    v.setUint32(p + 8, e.tableSize);
    v.setUint32(p + 12, e.flags);
    out[p + 16] = e.type;
    out[p + 17] = e.granularityBits;
    v.setUint16(p + 18, e.name.length);
    out.set(e.name, p + DIR_ENTRY_HEADER_SIZE);
    p += dirEntrySize(e.name.length, 0);
  }
  return out;
}

/** A bitmap table entry, decoded. */
export interface TableEntry {
  /** The data cluster, 0 when none. */
  readonly offset: number;
  /** With no data cluster: the cluster reads as all ones (else all zeros). */
  readonly allOnes: boolean;
}

/** check_table_entry: the entry decoded, or undefined when QEMU refuses it. */
export function decodeTableEntry(raw: bigint, clusterSize: number): TableEntry | undefined {
  if (raw & TABLE_ENTRY_RESERVED_MASK) return undefined;
  const offset = raw & TABLE_ENTRY_OFFSET_MASK;
  if (offset === 0n) return { offset: 0, allOnes: (raw & TABLE_ENTRY_FLAG_ALL_ONES) !== 0n };
  if (raw & TABLE_ENTRY_FLAG_ALL_ONES || offset % BigInt(clusterSize) !== 0n) return undefined;
  // Below 2^56 and a multiple of 512: exact as a number.
  return { offset: Number(offset), allOnes: false };
}

/** A table's entries as stored (data cluster offsets, 0 for none). */
export function encodeTable(offsets: readonly number[]): Uint8Array {
  const out = new Uint8Array(offsets.length * BME_TABLE_ENTRY_SIZE);
  const v = new DataView(out.buffer);
  offsets.forEach((o, i) => v.setBigUint64(i * BME_TABLE_ENTRY_SIZE, BigInt(o)));
  return out;
}

/** qemu-img info's flags of a bitmap (Qcow2BitmapInfoFlags), in QEMU's order. */
export function infoFlags(flags: number): string[] {
  const out: string[] = [];
  if (flags & BME_FLAG_IN_USE) out.push('in-use');
  if (flags & BME_FLAG_AUTO) out.push('auto');
  return out;
}
