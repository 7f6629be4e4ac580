/**
 * `L2Meta` (QEMU's QCowL2Meta): what a write that allocated clusters must do after its
 * data is written — copy the parts of the clusters it did not write (copy-on-write) and
 * point the L2 entries at the new clusters — and `calculateL2Meta`, which works out the
 * copy-on-write regions (block/qcow2-cluster.c calculate_l2_meta).
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { clusterType, getL2, getL2Bitmap, l2IsEmpty, scRange, setL2, setL2Bitmap, subclusterType, type L2Entry, type SubclusterType } from './format/l2-entry.js';
import { hex, markDirty, needAccurateRefcounts, signalCorruption } from './header-update.js';
import { getClusterTable, sliceView } from './cluster-map.js';
import { freeClusters } from './refcounts.js';
import { isIoError, offsetIntoCluster, offsetToScIndex, startOfCluster, type DiscardType, type Qcow2State } from './state.js';

/** A region relative to the first cluster of an L2Meta. */
export interface CowRegion {
  readonly offset: number;
  readonly bytes: number;
}

export interface L2Meta {
  /** Host offset of the first (new or kept) cluster. */
  readonly allocOffset: number;
  /** Guest offset of the first cluster. */
  readonly offset: number;
  readonly nbClusters: number;
  /** The clusters were already this guest range's (COPIED): nothing to free. */
  readonly keepOld: boolean;
  readonly cowStart: CowRegion;
  readonly cowEnd: CowRegion;
  /** Preallocation: no subcluster becomes allocated. */
  readonly prealloc: boolean;
}

const ctz = (x: number): number => (x === 0 ? 32 : 31 - Math.clz32(x & -x));

/**
 * calculate_l2_meta: the meta for writing `bytes` at guest `offset` into clusters at
 * `hostCluster` (entry `index` of the slice at `sliceOffset` maps `offset`). Returns
 * undefined when nothing needs doing afterwards (a write into fully allocated clusters).
 */
export function calculateL2Meta(
  s: Qcow2State,
  hostCluster: number,
  offset: number,
  bytes: number,
  sliceOffset: number,
  index: number,
  keepOld: boolean,
  acct: IoAcct,
): L2Meta | undefined | BlockIoError {
  const t = sliceView(s, sliceOffset, acct);
  if (isIoError(t)) return t;
  const cs = s.clusterSize;
  const cowStartTo = offsetIntoCluster(s, offset);
  const cowEndFrom = cowStartTo + bytes;
  const nb = Math.ceil(cowEndFrom / cs);
  const type = (i: number, sc: number): SubclusterType => subclusterType(getL2(t, index + i, s), getL2Bitmap(t, index + i, s), sc, s.extendedL2, s.hasDataFile);
  let skipCow = keepOld;
  for (let i = 0; i < nb; i++) {
    let ty: SubclusterType;
    if (skipCow) {
      const from = offsetToScIndex(s, Math.max(cowStartTo, i * cs) % cs);
      const to = offsetToScIndex(s, (Math.min(cowEndFrom, (i + 1) * cs) - 1) % cs);
      ty = type(i, from);
      for (let sc = from; sc <= to && ty === 'NORMAL'; sc++) if (type(i, sc) !== 'NORMAL') ty = type(i, sc);
      if (ty !== 'NORMAL') skipCow = false;
    } else {
      ty = type(i, 0);
    }
    if (ty === 'INVALID') return signalCorruption(s, true, `Invalid cluster entry found (L2 offset: ${hex(sliceOffset)}, L2 index: ${hex(index + i)})`, acct);
  }
  if (skipCow) return undefined;

  const firstSc = offsetToScIndex(s, offset);
  const first = type(0, firstSc);
  const firstAlloc = getL2Bitmap(t, index, s).alloc;
  let cowStartFrom: number;
  if (!keepOld) {
    if (first === 'NORMAL' || first === 'ZERO_ALLOC' || first === 'UNALLOCATED_ALLOC') {
      cowStartFrom = s.extendedL2 ? Math.min(firstSc, ctz(firstAlloc)) * s.subclusterSize : 0;
    } else if (first === 'COMPRESSED') {
      cowStartFrom = 0;
    } else {
      cowStartFrom = firstSc * s.subclusterSize;
    }
  } else {
    cowStartFrom = first === 'NORMAL' ? cowStartTo : firstSc * s.subclusterSize;
  }

  const lastSc = offsetToScIndex(s, offset + bytes - 1);
  const last = type(nb - 1, lastSc);
  const lastAlloc = getL2Bitmap(t, index + nb - 1, s).alloc;
  const roundUp = (x: number, a: number): number => Math.ceil(x / a) * a;
  let cowEndTo: number;
  if (!keepOld) {
    if ((last === 'NORMAL' || last === 'ZERO_ALLOC' || last === 'UNALLOCATED_ALLOC')) {
      cowEndTo = roundUp(cowEndFrom, cs);
      if (s.extendedL2) cowEndTo -= Math.min(s.subclustersPerCluster - lastSc - 1, Math.clz32(lastAlloc)) * s.subclusterSize;
    } else if (last === 'COMPRESSED') {
      cowEndTo = roundUp(cowEndFrom, cs);
    } else {
      cowEndTo = roundUp(cowEndFrom, s.subclusterSize);
    }
  } else {
    cowEndTo = last === 'NORMAL' ? cowEndFrom : roundUp(cowEndFrom, s.subclusterSize);
  }
  return {
    allocOffset: hostCluster,
    offset: startOfCluster(s, offset),
    nbClusters: nb,
    keepOld,
    cowStart: { offset: cowStartFrom, bytes: cowStartTo - cowStartFrom },
    cowEnd: { offset: cowEndFrom, bytes: cowEndTo - cowEndFrom },
    prealloc: false,
  };
}

/**
 * qcow2_free_any_cluster: drop the reference an L2 entry held (a compressed cluster's
 * sectors, or a standard cluster). With an external data file nothing is refcounted; the
 * data file is told when discards pass.
 */
export function freeAnyCluster(s: Qcow2State, e: L2Entry, type: DiscardType, acct: IoAcct): void {
  const ct = clusterType(e, s.extendedL2, s.hasDataFile);
  if (s.hasDataFile) {
    if (s.discardPassthrough[type] && (ct === 'NORMAL' || ct === 'ZERO_ALLOC')) s.dataFile.discard(e.offset, s.clusterSize, acct);
    return;
  }
  if (e.compressed) {
    freeClusters(s, e.offset, e.bytes, type, acct);
  } else if (ct === 'NORMAL' || ct === 'ZERO_ALLOC') {
    if (e.offset % s.clusterSize) signalCorruption(s, false, `Cannot free unaligned cluster ${hex(e.offset)}`, acct);
    else freeClusters(s, e.offset, s.clusterSize, type, acct);
  }
}

/**
 * qcow2_alloc_cluster_link_l2: point the meta's L2 entries at its clusters (COPIED, and
 * for extended L2 the written subclusters allocated), then free what they replaced.
 * The copy-on-write data must already be written.
 */
export function linkL2(s: Qcow2State, m: L2Meta, acct: IoAcct): BlockIoError | null {
  if (m.nbClusters === 0) return null;
  if (s.useLazyRefcounts) {
    const err = markDirty(s, acct);
    if (err) return err;
  }
  if (needAccurateRefcounts(s)) {
    const err = s.l2Cache.setDependency(s.refcountCache, acct);
    if (err) return err;
  }
  const ref = getClusterTable(s, m.offset, acct);
  if (isIoError(ref)) return ref;
  const t = sliceView(s, ref.sliceOffset, acct);
  if (isIoError(t)) return t;
  s.l2Cache.markDirty(ref.sliceOffset);
  const old: L2Entry[] = [];
  const cs = s.clusterSize;
  for (let i = 0; i < m.nbClusters; i++) {
    const idx = ref.index + i;
    if (!l2IsEmpty(t, idx, s)) old.push(getL2(t, idx, s));
    setL2(t, idx, s, m.allocOffset + i * cs, { copied: true });
    if (s.extendedL2 && !m.prealloc) {
      const bm = getL2Bitmap(t, idx, s);
      const from = Math.max(m.cowStart.offset, i * cs);
      const to = Math.min(m.cowEnd.offset + m.cowEnd.bytes, (i + 1) * cs);
      const a = offsetToScIndex(s, from % cs);
      const b = offsetToScIndex(s, (to - 1) % cs) + 1;
      setL2Bitmap(t, idx, s, bm.alloc | scRange(a, b), bm.zero & ~scRange(a, b));
    }
  }
  if (!m.keepOld) for (const e of old) freeAnyCluster(s, e, 'never', acct);
  return null;
}
