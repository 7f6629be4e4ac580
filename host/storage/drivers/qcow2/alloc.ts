/**
 * Where a write goes (block/qcow2-cluster.c qcow2_alloc_host_offset): clusters this guest
 * range already owns (COPIED) are written in place (handle_copied); others get new
 * clusters (handle_alloc), contiguous with the previous piece where possible. One call
 * returns one contiguous host range and the L2 updates it needs afterwards.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { clusterType, getL2, type L2Entry } from './format/l2-entry.js';
import { hex, signalCorruption } from './header-update.js';
import { calculateL2Meta, type L2Meta } from './l2-meta.js';
import { getClusterTable, sliceView } from './cluster-map.js';
import { allocClusters, allocClustersAt } from './refcounts.js';
import { isIoError, offsetIntoCluster, offsetToL2SliceIndex, startOfCluster, type Qcow2State } from './state.js';

/** A contiguous piece of a write: `bytes` at host `hostOffset`, then `metas` to link. */
export interface HostAlloc {
  readonly hostOffset: number;
  readonly bytes: number;
  readonly metas: L2Meta[];
}

/** cluster_needs_new_alloc: not a cluster this range owns alone. */
function needsNewAlloc(s: Qcow2State, e: L2Entry): boolean {
  const t = clusterType(e, s.extendedL2, s.hasDataFile);
  return !((t === 'NORMAL' || t === 'ZERO_ALLOC') && e.copied);
}

/** count_single_write_clusters: how many entries from `index` are alike (and contiguous when kept). */
function countSingleWrite(s: Qcow2State, t: DataView, index: number, n: number, newAlloc: boolean): number {
  let expected = getL2(t, index, s).offset;
  let i = 0;
  for (; i < n; i++) {
    const e = getL2(t, index + i, s);
    if (needsNewAlloc(s, e) !== newAlloc) break;
    if (!newAlloc) {
      if (e.offset !== expected) break;
      expected += s.clusterSize;
    }
  }
  return i;
}

type Step = { readonly progress: false } | { readonly progress: true; readonly host: number; readonly bytes: number };
const NONE: Step = { progress: false };

/** Clusters the range may span in one step: to the end of the L2 slice. */
const clustersInSlice = (s: Qcow2State, offset: number, bytes: number): number =>
  Math.min(Math.ceil((offsetIntoCluster(s, offset) + bytes) / s.clusterSize), s.l2SliceSize - offsetToL2SliceIndex(s, offset));

/** handle_copied: the COPIED clusters at `offset` (at host `want` if one is required). */
function handleCopied(s: Qcow2State, offset: number, want: number, bytes: number, metas: L2Meta[], acct: IoAcct): Step | BlockIoError {
  const n = clustersInSlice(s, offset, bytes);
  const ref = getClusterTable(s, offset, acct);
  if (isIoError(ref)) return ref;
  const t = sliceView(s, ref.sliceOffset, acct);
  if (isIoError(t)) return t;
  const e = getL2(t, ref.index, s);
  if (needsNewAlloc(s, e)) return NONE;
  const host = e.offset;
  if (host % s.clusterSize) {
    const what = !e.compressed && e.zero ? 'Preallocated zero' : 'Data';
    return signalCorruption(s, true, `${what} cluster offset ${hex(host)} unaligned (guest offset: ${hex(offset)})`, acct);
  }
  const inCluster = offsetIntoCluster(s, offset);
  if (want >= 0 && host !== want - inCluster) return NONE;
  const keep = countSingleWrite(s, t, ref.index, n, false);
  const got = Math.min(bytes, keep * s.clusterSize - inCluster);
  const m = calculateL2Meta(s, host, offset, got, ref.sliceOffset, ref.index, true, acct);
  if (isIoError(m)) return m;
  if (m) metas.push(m);
  return { progress: true, host: host + inCluster, bytes: got };
}

/** handle_alloc: new clusters for the range at `offset` (at host `want` if one is required). */
function handleAlloc(s: Qcow2State, offset: number, want: number, bytes: number, metas: L2Meta[], acct: IoAcct): Step | BlockIoError {
  let n = clustersInSlice(s, offset, bytes);
  const ref = getClusterTable(s, offset, acct);
  if (isIoError(ref)) return ref;
  const t = sliceView(s, ref.sliceOffset, acct);
  if (isIoError(t)) return t;
  n = countSingleWrite(s, t, ref.index, n, true);
  if (n === 0) return NONE;
  let cluster: number;
  if (s.hasDataFile) {
    // Guest clusters sit at their own offset in an external data file; nothing is refcounted.
    cluster = startOfCluster(s, offset);
    if (want >= 0 && cluster !== startOfCluster(s, want)) return NONE;
  } else if (want < 0) {
    const r = allocClusters(s, n * s.clusterSize, acct);
    if (isIoError(r)) return r;
    cluster = r;
  } else {
    cluster = startOfCluster(s, want);
    const r = allocClustersAt(s, cluster, n, acct);
    if (isIoError(r)) return r;
    n = r;
    if (n === 0) return NONE;
  }
  const inCluster = offsetIntoCluster(s, offset);
  const got = Math.min(bytes, Math.min(bytes + inCluster, n * s.clusterSize) - inCluster);
  // Allocation may have evicted the slice: look it up again.
  const again = getClusterTable(s, offset, acct);
  if (isIoError(again)) return again;
  const m = calculateL2Meta(s, cluster, offset, got, again.sliceOffset, again.index, false, acct);
  if (isIoError(m)) return m;
  if (m) metas.push(m);
  return { progress: true, host: cluster + inCluster, bytes: got };
}

/** qcow2_alloc_host_offset: the first contiguous host range for writing `bytes` at `offset`. */
export function allocHostOffset(s: Qcow2State, offset: number, bytes: number, acct: IoAcct): HostAlloc | BlockIoError {
  const metas: L2Meta[] = [];
  let host = -1;
  let done = 0;
  while (done < bytes) {
    const want = host < 0 ? -1 : host + done;
    let step = handleCopied(s, offset + done, want, bytes - done, metas, acct);
    if (isIoError(step)) return step;
    if (!step.progress) {
      step = handleAlloc(s, offset + done, want, bytes - done, metas, acct);
      if (isIoError(step)) return step;
    }
    if (!step.progress) break;
    if (host < 0) host = step.host;
    done += step.bytes;
  }
  return { hostOffset: host, bytes: done, metas };
}
