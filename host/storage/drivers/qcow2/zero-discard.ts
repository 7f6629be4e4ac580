/**
 * Write-zeroes and discard (block/qcow2.c qcow2_co_pwrite_zeroes / qcow2_co_pdiscard,
 * block/qcow2-cluster.c qcow2_subcluster_zeroize / qcow2_cluster_discard).
 *
 * Zeroing whole (sub)clusters sets the zero flag (v3) or the subclusters' zero bits,
 * freeing the cluster when unmapping is allowed or it was compressed. A piece that does
 * not cover a whole (sub)cluster, or a v2 image, falls back to writing zero buffers —
 * the generic layer's fallback in QEMU, done here because our generic layer hands the
 * whole range to the driver.
 *
 * Discard drops whole clusters only (as QEMU's generic layer aligns discards to the
 * cluster size): they read as zeroes afterwards on v3 (or fall through to the backing
 * file with `full`, for make-empty and shrinking), and their host clusters are freed,
 * the file being told when discards pass (`pass-discard-request`). A guest's discard on
 * a v2 image with a backing file is ignored, as QEMU 5.0 and later do.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct, ZeroReqFlags } from '../../driver.js';
import { getHostOffset, getClusterTable, sliceView } from './cluster-map.js';
import { clusterType, getL2, getL2Bitmap, isAllocated, scRange, setL2, setL2Bitmap } from './format/l2-entry.js';
import { freeAnyCluster } from './l2-meta.js';
import { processDiscards } from './refcounts.js';
import { brokenError, isIoError, offsetToScIndex, type DiscardType, type Qcow2State } from './state.js';
import { qcow2Write } from './write.js';

const ALL_ZERO = 0xffffffff;
const ZERO_CHUNK = 1 << 20;

/** Write real zero bytes (the generic layer's fallback). */
function writeZeroBuffers(s: Qcow2State, offset: number, bytes: number, acct: IoAcct): BlockIoError | null {
  const zero = new Uint8Array(Math.min(bytes, ZERO_CHUNK));
  for (let done = 0; done < bytes; done += zero.length) {
    const n = Math.min(zero.length, bytes - done);
    const err = qcow2Write(s, offset + done, zero.subarray(0, n), acct);
    if (err) return err;
  }
  return null;
}

/** zero_in_l2_slice: whole clusters [offset, +n clusters) within one L2 slice. Returns how many. */
function zeroInSlice(s: Qcow2State, offset: number, n: number, mayUnmap: boolean, acct: IoAcct): number | BlockIoError {
  const ref = getClusterTable(s, offset, acct);
  if (isIoError(ref)) return ref;
  const count = Math.min(n, s.l2SliceSize - ref.index);
  for (let i = 0; i < count; i++) {
    const t = sliceView(s, ref.sliceOffset, acct);
    if (isIoError(t)) return t;
    const idx = ref.index + i;
    const old = getL2(t, idx, s);
    const oldBm = getL2Bitmap(t, idx, s);
    const type = clusterType(old, s.extendedL2, s.hasDataFile);
    const unmap = type === 'COMPRESSED' || (mayUnmap && isAllocated(type));
    const offsetKept = unmap || old.compressed ? 0 : old.offset;
    const zeroFlag = !s.extendedL2;
    const same = s.extendedL2
      ? !unmap && oldBm.zero === ALL_ZERO && oldBm.alloc === 0
      : !unmap && !old.compressed && old.zero;
    if (same) continue;
    s.l2Cache.markDirty(ref.sliceOffset);
    setL2(t, idx, s, offsetKept, { copied: !unmap && !old.compressed && old.copied, zero: zeroFlag });
    if (s.extendedL2) setL2Bitmap(t, idx, s, 0, ALL_ZERO);
    if (unmap) freeAnyCluster(s, old, 'request', acct);
  }
  return count;
}

/** zero_l2_subclusters: subclusters [sc, sc + n) of the cluster at `offset`; false if not possible (compressed). */
function zeroSubclusters(s: Qcow2State, offset: number, n: number, acct: IoAcct): boolean | BlockIoError {
  const ref = getClusterTable(s, offset, acct);
  if (isIoError(ref)) return ref;
  const t = sliceView(s, ref.sliceOffset, acct);
  if (isIoError(t)) return t;
  const e = getL2(t, ref.index, s);
  if (e.compressed) return false;
  const sc = offsetToScIndex(s, offset);
  const bm = getL2Bitmap(t, ref.index, s);
  const alloc = (bm.alloc & ~scRange(sc, sc + n)) >>> 0;
  const zero = (bm.zero | scRange(sc, sc + n)) >>> 0;
  if (alloc !== bm.alloc || zero !== bm.zero) {
    setL2Bitmap(t, ref.index, s, alloc, zero);
    s.l2Cache.markDirty(ref.sliceOffset);
  }
  return true;
}

/**
 * qcow2_subcluster_zeroize over a subcluster-aligned range (its end may be the image's
 * end): partial clusters at either side by subcluster, whole clusters by L2 slice. False
 * when the image cannot (v2, or a compressed cluster to zero in part).
 */
function zeroize(s: Qcow2State, offset: number, bytes: number, mayUnmap: boolean, acct: IoAcct): boolean | BlockIoError {
  if (s.version < 3) return false;
  const cs = s.clusterSize;
  const end0 = offset + bytes;
  const head = Math.min(end0, Math.ceil(offset / cs) * cs) - offset;
  let pos = offset + head;
  const tail = end0 >= s.size ? 0 : end0 - Math.max(pos, end0 - (end0 % cs));
  const end = end0 - tail;
  if (head) {
    const r = zeroSubclusters(s, offset, Math.ceil(head / s.subclusterSize), acct);
    if (r !== true) return r;
  }
  let n = end > pos ? Math.ceil((end - pos) / cs) : 0;
  while (n > 0) {
    const done = zeroInSlice(s, pos, n, mayUnmap, acct);
    if (isIoError(done)) return done;
    n -= done;
    pos += done * cs;
  }
  if (tail) {
    const r = zeroSubclusters(s, end, Math.ceil(tail / s.subclusterSize), acct);
    if (r !== true) return r;
  }
  return true;
}

/** Whether guest [offset, offset + bytes) reads as zeroes now (for the unaligned edges). */
function isZero(s: Qcow2State, offset: number, bytes: number, acct: IoAcct): boolean {
  for (let done = 0; done < bytes; ) {
    const run = getHostOffset(s, offset + done, bytes - done, acct);
    if (isIoError(run) || run.bytes <= 0) return false;
    if (run.type === 'NORMAL' || run.type === 'COMPRESSED' || ((run.type === 'UNALLOCATED_PLAIN' || run.type === 'UNALLOCATED_ALLOC') && s.backing)) {
      return false;
    }
    done += run.bytes;
  }
  return true;
}

/** qcow2_co_pwrite_zeroes for one piece within a subcluster, or a subcluster-aligned range. */
function zeroPiece(s: Qcow2State, offset: number, bytes: number, mayUnmap: boolean, acct: IoAcct): BlockIoError | null {
  const sub = s.subclusterSize;
  const head = offset % sub;
  let tail = (Math.ceil((offset + bytes) / sub) * sub - (offset + bytes)) % sub;
  if (offset + bytes === s.size) tail = 0;
  if (head || tail) {
    // A partial subcluster: only if the rest of it already reads as zero can it become a zero subcluster.
    const ok = isZero(s, offset - head, head, acct) && isZero(s, offset + bytes, tail, acct);
    const run = ok ? getHostOffset(s, offset - head, sub, acct) : undefined;
    const zeroable = run && !isIoError(run) && (run.type === 'UNALLOCATED_PLAIN' || run.type === 'ZERO_PLAIN' || run.type === 'ZERO_ALLOC');
    if (!zeroable) return writeZeroBuffers(s, offset, bytes, acct);
    offset -= head;
    bytes = Math.min(sub, s.size - offset);
  }
  if (s.dataFileRaw) {
    const err = s.dataFile.writeZeroes(offset, bytes, { mayUnmap }, acct);
    if (err) return err;
  }
  const r = zeroize(s, offset, bytes, mayUnmap, acct);
  if (isIoError(r)) return r;
  return r ? null : writeZeroBuffers(s, offset, bytes, acct);
}

/** Write-zeroes split as QEMU's generic layer splits it: unaligned head, aligned middle, unaligned tail. */
export function qcow2WriteZeroes(s: Qcow2State, offset: number, bytes: number, flags: ZeroReqFlags, acct: IoAcct): BlockIoError | null {
  if (s.broken) return brokenError(s);
  const sub = s.subclusterSize;
  const mayUnmap = !!flags.mayUnmap;
  const end = offset + bytes;
  const a = Math.min(end, Math.ceil(offset / sub) * sub);
  const b = Math.max(a, end === s.size ? end : end - (end % sub));
  if (a > offset) {
    const err = zeroPiece(s, offset, a - offset, mayUnmap, acct);
    if (err) return err;
  }
  if (b > a) {
    const err = zeroPiece(s, a, b - a, mayUnmap, acct);
    if (err) return err;
  }
  if (end > b) return zeroPiece(s, b, end - b, mayUnmap, acct);
  return null;
}

/** discard_in_l2_slice. */
function discardInSlice(s: Qcow2State, offset: number, n: number, type: DiscardType, full: boolean, acct: IoAcct): number | BlockIoError {
  const ref = getClusterTable(s, offset, acct);
  if (isIoError(ref)) return ref;
  const count = Math.min(n, s.l2SliceSize - ref.index);
  for (let i = 0; i < count; i++) {
    const t = sliceView(s, ref.sliceOffset, acct);
    if (isIoError(t)) return t;
    const idx = ref.index + i;
    const old = getL2(t, idx, s);
    const oldBm = getL2Bitmap(t, idx, s);
    const raw0 = t.getUint32(idx * (s.extendedL2 ? 16 : 8));
    const raw1 = t.getUint32(idx * (s.extendedL2 ? 16 : 8) + 4);
    const allocated = isAllocated(clusterType(old, s.extendedL2, s.hasDataFile));
    let entryZero = false;
    let bm = oldBm;
    let cleared = true;
    if (!full && (s.backing || allocated)) {
      if (s.extendedL2) bm = { alloc: 0, zero: ALL_ZERO };
      else entryZero = s.version >= 3;
    } else if (full) {
      bm = { alloc: 0, zero: 0 };
    } else {
      cleared = false;
    }
    if (!cleared) continue;
    const newLo = entryZero ? 1 : 0;
    if (raw0 === 0 && raw1 === newLo && bm.alloc === oldBm.alloc && bm.zero === oldBm.zero) continue;
    s.l2Cache.markDirty(ref.sliceOffset);
    setL2(t, idx, s, 0, { zero: entryZero });
    setL2Bitmap(t, idx, s, bm.alloc, bm.zero);
    freeAnyCluster(s, old, type, acct);
  }
  return count;
}

/** qcow2_cluster_discard: whole clusters of [offset, offset + bytes). */
export function clusterDiscard(s: Qcow2State, offset: number, bytes: number, type: DiscardType, full: boolean, acct: IoAcct): BlockIoError | null {
  let n = Math.ceil(bytes / s.clusterSize);
  s.cacheDiscards = true;
  let err: BlockIoError | null = null;
  while (n > 0) {
    const done = discardInSlice(s, offset, n, type, full, acct);
    if (isIoError(done)) {
      err = done;
      break;
    }
    n -= done;
    offset += done * s.clusterSize;
  }
  s.cacheDiscards = false;
  processDiscards(s, acct);
  return err;
}

/**
 * qcow2_co_pdiscard with the generic layer's alignment: only the whole clusters inside the
 * range. A v2 image over a backing file discards nothing (QEMU answers ENOTSUP, which the
 * generic layer swallows): without a zero flag the cluster would fall through to the
 * backing file and show its stale data.
 */
export function qcow2Discard(s: Qcow2State, offset: number, bytes: number, acct: IoAcct): BlockIoError | null {
  if (s.broken) return brokenError(s);
  if (s.version < 3 && s.backing) return null;
  const cs = s.clusterSize;
  const end = offset + bytes;
  const a = Math.ceil(offset / cs) * cs;
  const b = end === s.size ? end : end - (end % cs);
  if (b <= a) return null;
  return clusterDiscard(s, a, b - a, 'request', false, acct);
}
