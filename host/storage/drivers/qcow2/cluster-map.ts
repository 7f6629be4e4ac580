/**
 * Guest offset → host offset through the L1 and L2 tables (block/qcow2-cluster.c):
 * `getHostOffset` (qcow2_get_host_offset) for reads and block status, and
 * `getClusterTable` (get_cluster_table) for writers, which allocates an L2 table — or
 * copies a shared one — when the L1 entry has no COPIED flag.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import {
  getL2,
  getL2Bitmap,
  l1Copied,
  l1Offset,
  l2EntrySize,
  scRange,
  setL1,
  subclusterType,
  type L2Entry,
  type SubclusterType,
} from './format/l2-entry.js';
import { hex, signalCorruption } from './header-update.js';
import { growL1Table, writeL1Entry } from './l1-table.js';
import { allocClusters, freeClusters } from './refcounts.js';
import { isIoError, offsetToL1Index, offsetToL2Index, offsetToL2SliceIndex, offsetToScIndex, type Qcow2State } from './state.js';

/** A loaded L2 slice: its cache key and the index of the wanted entry in it. */
export interface SliceRef {
  readonly sliceOffset: number;
  readonly index: number;
}

/** l2_load: the cache key of the slice of the L2 table at `l2Offset` that maps guest `offset`. */
export function sliceOffsetFor(s: Qcow2State, l2Offset: number, offset: number): number {
  const first = offsetToL2Index(s, offset) - offsetToL2SliceIndex(s, offset);
  return l2Offset + first * l2EntrySize(s);
}

/** The slice's bytes as a DataView (loading it if needed). */
export function sliceView(s: Qcow2State, sliceOffset: number, acct: IoAcct): DataView | BlockIoError {
  return s.l2Cache.getView(sliceOffset, acct);
}

/** What a run of guest bytes maps to. */
export interface HostRun {
  /** Bytes from the queried offset with the same type (and, where there is one, contiguous host offsets). */
  readonly bytes: number;
  readonly type: SubclusterType;
  /** For NORMAL/ZERO_ALLOC/UNALLOCATED_ALLOC: the host offset of the first byte. */
  readonly hostOffset: number;
  /** For COMPRESSED: the entry. */
  readonly entry?: L2Entry;
}

const countTrailingOnes = (x: number): number => {
  let n = 0;
  while (n < 32 && (x >>> n) & 1) n++;
  return n;
};
const countTrailingZeros = (x: number): number => (x === 0 ? 32 : countTrailingOnes(~x >>> 0));

/** qcow2_get_subcluster_range_type: how many subclusters from `from` share its type (-1: invalid). */
function rangeType(s: Qcow2State, e: L2Entry, bm: { alloc: number; zero: number }, from: number): { type: SubclusterType; count: number } {
  const type = subclusterType(e, bm, from, s.extendedL2, s.hasDataFile);
  if (type === 'INVALID') return { type, count: -1 };
  if (!s.extendedL2 || type === 'COMPRESSED') return { type, count: s.subclustersPerCluster - from };
  const below = scRange(0, from);
  switch (type) {
    case 'NORMAL':
      return { type, count: countTrailingOnes((bm.alloc | below) >>> 0) - from };
    case 'ZERO_PLAIN':
    case 'ZERO_ALLOC':
      return { type, count: countTrailingOnes((bm.zero | below) >>> 0) - from };
    default:
      return { type, count: countTrailingZeros(((bm.zero | bm.alloc) & ~below) >>> 0) - from };
  }
}

/**
 * qcow2_get_host_offset: the run starting at guest `offset`, at most `bytes` long and
 * never past the end of its L2 slice.
 */
export function getHostOffset(s: Qcow2State, offset: number, bytes: number, acct: IoAcct): HostRun | BlockIoError {
  const cs = s.clusterSize;
  const inCluster = offset % cs;
  const sliceIndex = offsetToL2SliceIndex(s, offset);
  const needed = Math.min(bytes + inCluster, (s.l2SliceSize - sliceIndex) * cs);
  const done = (avail: number, type: SubclusterType, hostOffset = 0, entry?: L2Entry): HostRun => ({
    bytes: Math.min(avail, needed) - inCluster,
    type,
    hostOffset,
    entry,
  });
  const l1Index = offsetToL1Index(s, offset);
  if (l1Index >= s.l1Size) return done(needed, 'UNALLOCATED_PLAIN');
  const l2Offset = l1Offset(s.l1View, l1Index);
  if (!l2Offset) return done(needed, 'UNALLOCATED_PLAIN');
  if (l2Offset % cs) return signalCorruption(s, true, `L2 table offset ${hex(l2Offset)} unaligned (L1 index: ${hex(l1Index)})`, acct);
  const t = sliceView(s, sliceOffsetFor(s, l2Offset, offset), acct);
  if (isIoError(t)) return t;
  const sc = offsetToScIndex(s, offset);
  const e = getL2(t, sliceIndex, s);
  const first = rangeType(s, e, getL2Bitmap(t, sliceIndex, s), sc);
  const where = `(L2 offset: ${hex(l2Offset)}, L2 index: ${hex(sliceIndex)})`;
  if (s.version < 3 && (first.type === 'ZERO_PLAIN' || first.type === 'ZERO_ALLOC')) {
    return signalCorruption(s, true, `Zero cluster entry found in pre-v3 image ${where}`, acct);
  }
  let hostOffset = 0;
  if (first.type === 'COMPRESSED') {
    if (s.hasDataFile) return signalCorruption(s, true, `Compressed cluster entry found in image with external data file ${where}`, acct);
  } else if (first.type === 'NORMAL' || first.type === 'ZERO_ALLOC' || first.type === 'UNALLOCATED_ALLOC') {
    const host = e.offset;
    hostOffset = host + inCluster;
    if (host % cs) return signalCorruption(s, true, `Cluster allocation offset ${hex(host)} unaligned ${where}`, acct);
    if (s.hasDataFile && hostOffset !== offset) {
      return signalCorruption(s, true, `External data file host cluster offset ${hex(host)} does not match guest cluster offset: ${hex(offset - inCluster)}, L2 index: ${hex(sliceIndex)})`, acct);
    }
  }
  // count_contiguous_subclusters
  const nbClusters = Math.ceil(needed / cs);
  let count = 0;
  let expected = e.offset;
  const checkOffset = first.type === 'NORMAL' || first.type === 'ZERO_ALLOC' || first.type === 'UNALLOCATED_ALLOC';
  for (let i = 0; i < nbClusters; i++) {
    const from = i === 0 ? sc : 0;
    const ei = i === 0 ? e : getL2(t, sliceIndex + i, s);
    const r = i === 0 ? first : rangeType(s, ei, getL2Bitmap(t, sliceIndex + i, s), from);
    if (r.count < 0) return signalCorruption(s, true, `Invalid cluster entry found  (L2 offset: ${hex(l2Offset)}, L2 index: ${hex(sliceIndex + i)})`, acct);
    if (i === 0) {
      if (r.type === 'COMPRESSED') {
        count = r.count;
        break;
      }
    } else if (r.type !== first.type) {
      break;
    } else if (checkOffset) {
      expected += cs;
      if (ei.offset !== expected) break;
    }
    count += r.count;
    if (from + r.count < s.subclustersPerCluster) break;
  }
  return done((count + sc) * s.subclusterSize, first.type, hostOffset, first.type === 'COMPRESSED' ? e : undefined);
}

/**
 * l2_allocate: a new L2 table for L1 entry `l1Index`, a copy of the old one if there was
 * one; written before the L1 entry points to it.
 */
function l2Allocate(s: Qcow2State, l1Index: number, acct: IoAcct): BlockIoError | null {
  const oldL2 = l1Offset(s.l1View, l1Index);
  const l2Offset = allocClusters(s, s.clusterSize, acct);
  if (isIoError(l2Offset)) return l2Offset;
  if (l2Offset === 0) return signalCorruption(s, true, 'Preventing invalid allocation of L2 table at offset 0', acct);
  let err = s.refcountCache.flush(acct);
  if (err) return err;
  const sliceBytes = s.l2Cache.entrySize;
  for (let p = 0; p < s.clusterSize; p += sliceBytes) {
    let copy: Uint8Array | undefined;
    if (oldL2) {
      s.file.debugEvent('l2_alloc_cow_read');
      const old = s.l2Cache.get(oldL2 + p, acct);
      if (isIoError(old)) return old;
      copy = old.slice();
    }
    const slice = s.l2Cache.getEmpty(l2Offset + p, acct);
    if (isIoError(slice)) return slice;
    if (copy) slice.set(copy);
    s.file.debugEvent('l2_alloc_write');
    s.l2Cache.markDirty(l2Offset + p);
  }
  err = s.l2Cache.flush(acct);
  if (err) return err;
  setL1(s.l1View, l1Index, l2Offset, true);
  return writeL1Entry(s, l1Index, acct);
}

/**
 * get_cluster_table: the L2 slice a writer may change for guest `offset` (growing the L1
 * table, allocating or un-sharing the L2 table as needed).
 */
export function getClusterTable(s: Qcow2State, offset: number, acct: IoAcct): SliceRef | BlockIoError {
  const l1Index = offsetToL1Index(s, offset);
  if (l1Index >= s.l1Size) {
    const err = growL1Table(s, l1Index + 1, false, acct);
    if (err) return err;
  }
  let l2Offset = l1Offset(s.l1View, l1Index);
  if (l2Offset % s.clusterSize) return signalCorruption(s, true, `L2 table offset ${hex(l2Offset)} unaligned (L1 index: ${hex(l1Index)})`, acct);
  if (!l1Copied(s.l1View, l1Index)) {
    const err = l2Allocate(s, l1Index, acct);
    if (err) return err;
    if (l2Offset) freeClusters(s, l2Offset, s.clusterSize, 'other', acct);
    l2Offset = l1Offset(s.l1View, l1Index);
  }
  const sliceOffset = sliceOffsetFor(s, l2Offset, offset);
  const data = s.l2Cache.get(sliceOffset, acct);
  if (isIoError(data)) return data;
  return { sliceOffset, index: offsetToL2SliceIndex(s, offset) };
}
