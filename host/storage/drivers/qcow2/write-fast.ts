/**
 * The two common writes, without the general path's bookkeeping (write.ts): each makes
 * exactly the checks, blkdebug events and requests the general path makes for that case,
 * in its order, and allocates nothing on the way. Anything else is left to the general
 * path (the functions answer undefined before doing anything).
 *
 * - in place (handle_copied with nothing to copy): a write inside one cluster the guest
 *   range owns alone (COPIED), reading there as that cluster's data;
 * - allocating (handle_alloc, then handle_alloc_space): a write inside one cluster whose
 *   L2 entry is empty, in an image with standard L2 entries and no backing file or data
 *   file: a new cluster, the rest of it zeroed with one write-zeroes (as QEMU does when
 *   the copy-on-write regions read as zeroes), the data, then the L2 entry.
 *
 * Both need the L1 entry COPIED and the L2 slice cached.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { metadataOverlapCheck } from './check/overlap.js';
import { sliceOffsetFor } from './cluster-map.js';
import { inPlaceCluster, l1Copied, l1Offset, l2IsEmpty, setL2 } from './format/l2-entry.js';
import { markDirty, needAccurateRefcounts } from './header-update.js';
import { allocClusters } from './refcounts.js';
import { isIoError, offsetToL1Index, offsetToL2SliceIndex, type Qcow2State } from './state.js';

/** qcow2_pre_write_overlap_check for a data write (none into an external data file). */
export function overlapCheck(s: Qcow2State, offset: number, bytes: number, acct: IoAcct): BlockIoError | null {
  return s.hasDataFile ? null : metadataOverlapCheck(s, 0, offset, bytes, acct);
}

/**
 * handle_alloc_space's write-zeroes of [from, from + bytes) in the data file. A span at
 * or past the file's end already reads as zeroes there: the file is only extended to
 * cover it, which leaves the same file as the write-zeroes would (its length included).
 */
export function zeroSpan(s: Qcow2State, from: number, bytes: number, acct: IoAcct): BlockIoError | null {
  const err = overlapCheck(s, from, bytes, acct);
  if (err) return err;
  const len = s.dataFile.getLength();
  if (from < len) return s.dataFile.writeZeroes(from, bytes, NO_FLAGS, acct);
  return from + bytes > len ? s.dataFile.truncate(from + bytes) : null;
}

const NO_FLAGS = Object.freeze({});
const COPIED = Object.freeze({ copied: true });
let enabled = true;

/** Tests compare the general path with these: switch them off (and on again). */
export function setFastWrites(on: boolean): void {
  enabled = on;
}

/** Write `data` at guest `offset` by one of the fast paths, or undefined if neither applies. */
export function writeFast(s: Qcow2State, offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null | undefined {
  const cs = s.clusterSize;
  const inCluster = offset % cs;
  if (!enabled || inCluster + data.length > cs || data.length === 0 || s.hasDataFile) return undefined;
  const l1Index = offsetToL1Index(s, offset);
  if (l1Index >= s.l1Size || !l1Copied(s.l1View, l1Index)) return undefined;
  const l2Offset = l1Offset(s.l1View, l1Index);
  if (l2Offset === 0 || l2Offset % cs) return undefined;
  const sliceOffset = sliceOffsetFor(s, l2Offset, offset);
  const t = s.l2Cache.hit(sliceOffset);
  if (!t) return undefined;
  const index = offsetToL2SliceIndex(s, offset);
  const sc = s.subclusterBits;
  const host = inPlaceCluster(t, index, s, inCluster >> sc, (inCluster + data.length - 1) >> sc);
  if (host >= 0) {
    if (host % cs) return undefined;
    const err = overlapCheck(s, host + inCluster, data.length, acct);
    if (err) return err;
    s.file.debugEvent('write_aio');
    return s.dataFile.pwritev(host + inCluster, data, NO_FLAGS, acct);
  }
  if (s.extendedL2 || s.backing || !l2IsEmpty(t, index, s)) return undefined;
  return writeAllocating(s, offset, data, sliceOffset, index, acct);
}

function writeAllocating(s: Qcow2State, offset: number, data: Uint8Array, sliceOffset: number, index: number, acct: IoAcct): BlockIoError | null {
  const cs = s.clusterSize;
  const inCluster = offset % cs;
  const host = allocClusters(s, cs, acct);
  if (isIoError(host)) return host;
  let err: BlockIoError | null;
  if (inCluster > 0 || inCluster + data.length < cs) {
    s.file.debugEvent('cluster_alloc_space');
    err = zeroSpan(s, host, cs, acct);
    if (err) return err;
  }
  err = overlapCheck(s, host + inCluster, data.length, acct);
  if (err) return err;
  s.file.debugEvent('write_aio');
  err = s.dataFile.pwritev(host + inCluster, data, NO_FLAGS, acct);
  if (err) return err;
  // qcow2_alloc_cluster_link_l2 for one cluster that replaces nothing.
  if (s.useLazyRefcounts) {
    err = markDirty(s, acct);
    if (err) return err;
  }
  if (needAccurateRefcounts(s)) {
    err = s.l2Cache.setDependency(s.refcountCache, acct);
    if (err) return err;
  }
  const t = s.l2Cache.getView(sliceOffset, acct);
  if (isIoError(t)) return t;
  s.l2Cache.markDirty(sliceOffset);
  setL2(t, index, s, host, COPIED);
  return null;
}
