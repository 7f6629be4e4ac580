/**
 * L1 and L2 table entries (docs/interop/qcow2.txt, "Cluster mapping", "Extended L2 Entries").
 *
 * L1 entry:  bits 9-55 L2 table offset, bit 63 COPIED (refcount exactly one).
 * L2 entry:  bit 63 COPIED, bit 62 COMPRESSED, then either
 *   standard:   bit 0 ZERO (v3, not with extended L2), bits 9-55 host cluster offset;
 *   compressed: with x = 62 - (cluster_bits - 8), bits 0..x-1 host byte offset and
 *               bits x..61 the number of additional 512-byte sectors.
 * Extended L2 entries add a 64-bit bitmap: bits 0-31 "subcluster allocated", bits 32-63
 * "subcluster reads as zeroes".
 *
 * Offsets are JS numbers: multiples of 512 below 2^56 are exact doubles.
 */

export const L1E_SIZE = 8;
export const L2E_SIZE_NORMAL = 8;
export const L2E_SIZE_EXTENDED = 16;
export const SUBCLUSTERS_PER_CLUSTER = 32;
/** Largest host offset an L1/L2 entry can hold (bits 9-55). */
export const MAX_ENTRY_OFFSET = 2 ** 56 - 512;

const HI_OFFSET_MASK = 0x00ffffff;
const LO_OFFSET_MASK = 0xfffffe00;
const COPIED = 0x80000000;
const COMPRESSED = 0x40000000;

const entryOffset = (hi: number, lo: number): number => (hi & HI_OFFSET_MASK) * 2 ** 32 + ((lo & LO_OFFSET_MASK) >>> 0);

/** L1 entry at index `i` of `table`: the L2 offset (0 = none). */
export function l1Offset(table: DataView, i: number): number {
  return entryOffset(table.getUint32(i * 8), table.getUint32(i * 8 + 4));
}

export function l1Copied(table: DataView, i: number): boolean {
  return (table.getUint32(i * 8) & COPIED) !== 0;
}

/** Any bit outside the offset and COPIED (reserved, must be zero). */
export function l1Reserved(table: DataView, i: number): boolean {
  return (table.getUint32(i * 8) & 0x7f000000) !== 0 || (table.getUint32(i * 8 + 4) & 0x1ff) !== 0;
}

export function setL1(table: DataView, i: number, offset: number, copied: boolean): void {
  table.setUint32(i * 8, (Math.floor(offset / 2 ** 32) & HI_OFFSET_MASK) | (copied ? COPIED : 0));
  table.setUint32(i * 8 + 4, offset >>> 0);
}

/** A decoded L2 entry (the first 64 bits). */
export type L2Entry =
  | {
      readonly compressed: false;
      /** Host cluster offset, 0 if none. */
      readonly offset: number;
      readonly copied: boolean;
      /** Bit 0: reads as zeroes (v3 without extended L2). */
      readonly zero: boolean;
    }
  | {
      readonly compressed: true;
      /** Host byte offset of the compressed data. */
      readonly offset: number;
      /** Bytes from `offset` to the end of the last sector the data occupies. */
      readonly bytes: number;
      readonly copied: boolean;
    };

/** Geometry an L2 table is read with. */
export interface L2Geometry {
  readonly clusterBits: number;
  readonly extendedL2: boolean;
}

export const l2EntrySize = (g: L2Geometry): number => (g.extendedL2 ? L2E_SIZE_EXTENDED : L2E_SIZE_NORMAL);

/** Bit x where a compressed descriptor's sector count starts. */
export const csizeShift = (clusterBits: number): number => 62 - (clusterBits - 8);

/** Decode entry `i` of an L2 table (or slice). */
export function getL2(t: DataView, i: number, g: L2Geometry): L2Entry {
  const p = i * l2EntrySize(g);
  const hi = t.getUint32(p);
  const lo = t.getUint32(p + 4);
  const copied = (hi & COPIED) !== 0;
  if (hi & COMPRESSED) {
    const raw = (BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo);
    const shift = BigInt(csizeShift(g.clusterBits));
    const offset = Number(raw & ((1n << shift) - 1n));
    const sectors = Number((raw >> shift) & ((1n << BigInt(g.clusterBits - 8)) - 1n)) + 1;
    return { compressed: true, offset, bytes: sectors * 512 - (offset % 512), copied };
  }
  return { compressed: false, offset: entryOffset(hi, lo), copied, zero: (lo & 1) !== 0 };
}

/**
 * The host cluster of entry `i` when a write over its subclusters [firstSc, lastSc] may go
 * straight into it (handle_copied with no copy-on-write left to do): COPIED, not
 * compressed, with a host offset, and reading as that cluster's data there (a standard
 * entry without the zero flag; an extended one with those subclusters allocated and
 * none zero). -1 otherwise. Reads the entry in place, allocating nothing.
 */
export function inPlaceCluster(t: DataView, i: number, g: L2Geometry, firstSc: number, lastSc: number): number {
  const p = i * l2EntrySize(g);
  const hi = t.getUint32(p);
  const lo = t.getUint32(p + 4);
  if (((hi & (COPIED | COMPRESSED)) >>> 0) !== COPIED) return -1;
  const offset = entryOffset(hi, lo);
  if (offset === 0) return -1;
  if (!g.extendedL2) return lo & 1 ? -1 : offset;
  const zero = t.getUint32(p + 8);
  const alloc = t.getUint32(p + 12);
  const want = scRange(firstSc, lastSc + 1);
  return (zero & alloc) === 0 && ((alloc & want) >>> 0) === want && (zero & want) === 0 ? offset : -1;
}

/** Write a standard entry. */
export function setL2(t: DataView, i: number, g: L2Geometry, offset: number, flags: { readonly copied?: boolean; readonly zero?: boolean } = {}): void {
  const p = i * l2EntrySize(g);
  t.setUint32(p, (Math.floor(offset / 2 ** 32) & HI_OFFSET_MASK) | (flags.copied ? COPIED : 0));
  t.setUint32(p + 4, ((offset >>> 0) & LO_OFFSET_MASK) | (flags.zero ? 1 : 0));
}

/**
 * Write a compressed descriptor for data at host byte `offset` ending in the sector that
 * holds byte `offset + size - 1`.
 */
export function setL2Compressed(t: DataView, i: number, g: L2Geometry, offset: number, size: number): void {
  const p = i * l2EntrySize(g);
  const extra = Math.floor((offset + size - 1) / 512) - Math.floor(offset / 512);
  const raw = (1n << 62n) | (BigInt(extra) << BigInt(csizeShift(g.clusterBits))) | BigInt(offset);
  t.setBigUint64(p, raw);
}

/** Whether entry `i` is all zero (unallocated, no flags). */
export function l2IsEmpty(t: DataView, i: number, g: L2Geometry): boolean {
  const p = i * l2EntrySize(g);
  return t.getUint32(p) === 0 && t.getUint32(p + 4) === 0;
}

/** Extended L2: the subcluster bitmap of entry `i` as [alloc, zero] 32-bit masks. */
export function getL2Bitmap(t: DataView, i: number, g: L2Geometry): { readonly alloc: number; readonly zero: number } {
  if (!g.extendedL2) return { alloc: 0, zero: 0 };
  const p = i * L2E_SIZE_EXTENDED + 8;
  return { zero: t.getUint32(p), alloc: t.getUint32(p + 4) };
}

export function setL2Bitmap(t: DataView, i: number, g: L2Geometry, alloc: number, zero: number): void {
  if (!g.extendedL2) return;
  const p = i * L2E_SIZE_EXTENDED + 8;
  t.setUint32(p, zero >>> 0);
  t.setUint32(p + 4, alloc >>> 0);
}

/** Bits [first, end) of a 32-bit subcluster mask. */
export function scRange(first: number, end: number): number {
  if (end <= first) return 0;
  const width = end - first;
  return (width >= 32 ? 0xffffffff : ((1 << width) - 1) << first) >>> 0;
}

/**
 * QCow2SubclusterType: what one (sub)cluster is. `*_ALLOC` have a host cluster whose
 * content is not used; `INVALID` is an extended entry marked both allocated and zero.
 */
export type SubclusterType =
  | 'UNALLOCATED_PLAIN'
  | 'UNALLOCATED_ALLOC'
  | 'ZERO_PLAIN'
  | 'ZERO_ALLOC'
  | 'NORMAL'
  | 'COMPRESSED'
  | 'INVALID';

/** QCow2ClusterType: the whole cluster, ignoring subclusters. */
export type ClusterType = 'UNALLOCATED' | 'ZERO_PLAIN' | 'ZERO_ALLOC' | 'NORMAL' | 'COMPRESSED';

/** qcow2_get_cluster_type. With an external data file, offset 0 + COPIED is a real cluster. */
export function clusterType(e: L2Entry, extendedL2: boolean, hasDataFile: boolean): ClusterType {
  if (e.compressed) return 'COMPRESSED';
  if (e.zero && !extendedL2) return e.offset ? 'ZERO_ALLOC' : 'ZERO_PLAIN';
  if (!e.offset) return hasDataFile && e.copied ? 'NORMAL' : 'UNALLOCATED';
  return 'NORMAL';
}

/** qcow2_get_subcluster_type for subcluster `sc` of the entry. */
export function subclusterType(
  e: L2Entry,
  bitmap: { readonly alloc: number; readonly zero: number },
  sc: number,
  extendedL2: boolean,
  hasDataFile: boolean,
): SubclusterType {
  if (!extendedL2) {
    const t = clusterType(e, false, hasDataFile);
    return t === 'UNALLOCATED' ? 'UNALLOCATED_PLAIN' : t;
  }
  if (e.compressed) return 'COMPRESSED';
  const bit = 1 << sc;
  if (clusterType(e, true, hasDataFile) === 'NORMAL') {
    // A host cluster: a zero subcluster keeps its place in it (ZERO_ALLOC, whose old
    // content a copy-on-write must not take for the guest's).
    if ((bitmap.zero & bitmap.alloc) !== 0) return 'INVALID';
    if (bitmap.zero & bit) return 'ZERO_ALLOC';
    return bitmap.alloc & bit ? 'NORMAL' : 'UNALLOCATED_ALLOC';
  }
  // No host cluster: no subcluster can be allocated.
  if (bitmap.alloc !== 0) return 'INVALID';
  return bitmap.zero & bit ? 'ZERO_PLAIN' : 'UNALLOCATED_PLAIN';
}

/** Whether the cluster has a host cluster that counts (qcow2_cluster_is_allocated). */
export const isAllocated = (t: ClusterType): boolean => t === 'NORMAL' || t === 'ZERO_ALLOC' || t === 'COMPRESSED';
