/**
 * Resizing (block/qcow2.c qcow2_co_truncate, preallocate_co): growing makes the L1 table
 * big enough and, with preallocation, allocates the new clusters' metadata; shrinking
 * (preallocation off only) drops the clusters past the new end, the L2 tables they used,
 * and the unused tail of the file.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { allocHostOffset } from './alloc.js';
import { OFF_SIZE, sizeToL1 } from './format/header.js';
import { linkL2 } from './l2-meta.js';
import { growL1Table, shrinkL1Table } from './l1-table.js';
import { getRefcount } from './refcounts.js';
import { isIoError, type Qcow2State } from './state.js';
import { qcow2Read } from './read.js';
import { clusterDiscard } from './zero-discard.js';

export type PreallocMode = 'off' | 'metadata' | 'falloc' | 'full';

/**
 * preallocate_co: map every cluster of guest [from, to) to a host cluster (L2 entries
 * COPIED; with extended L2 no subcluster is marked allocated), then make the file cover
 * them.
 */
export function preallocate(s: Qcow2State, from: number, to: number, mode: PreallocMode, acct: IoAcct): BlockIoError | null {
  let end = 0;
  for (let pos = from; pos < to; ) {
    const a = allocHostOffset(s, pos, to - pos, acct);
    if (isIoError(a)) return a;
    if (a.bytes <= 0) return ioError('EIO', `${s.nodeName}: Allocating clusters failed`);
    for (const m of a.metas) {
      // What the guest saw in the partial first cluster stays (copy-on-write).
      if (m.cowStart.bytes) {
        const head = new Uint8Array(m.cowStart.bytes);
        const err = qcow2Read(s, m.offset + m.cowStart.offset, head, acct) ?? s.dataFile.pwritev(m.allocOffset + m.cowStart.offset, head, {}, acct);
        if (err) return err;
      }
      const err = linkL2(s, { ...m, prealloc: true }, acct);
      if (err) return err;
    }
    end = Math.max(end, a.hostOffset + a.bytes);
    pos += a.bytes;
  }
  if (end > s.dataFile.getLength()) {
    const err = s.dataFile.truncate(end);
    if (err) return err;
  }
  void mode;
  return null;
}

/** qcow2_get_last_cluster: the last cluster below `n` with a nonzero refcount (-1 if none). */
function lastUsedCluster(s: Qcow2State, n: number, acct: IoAcct): number {
  for (let i = n - 1; i >= 0; i--) {
    const rc = getRefcount(s, i, acct);
    if (isIoError(rc) || rc > 0) return i;
  }
  return -1;
}

/** qcow2_co_truncate. */
export function qcow2Truncate(s: Qcow2State, size: number, mode: PreallocMode, acct: IoAcct): BlockIoError | null {
  if (size % 512) return ioError('EINVAL', `${s.nodeName}: The new size must be a multiple of 512`);
  // Every v3 snapshot records its own disk size, so only a v2 image with snapshots is refused.
  if (s.nbSnapshots && s.version < 3) return ioError('ENOTSUP', `${s.nodeName}: Can't resize a v2 image which has snapshots`);
  const old = s.size;
  const cs = s.clusterSize;
  if (size < old) {
    if (mode !== 'off') return ioError('ENOTSUP', `${s.nodeName}: Preallocation can't be used for shrinking an image`);
    const from = Math.ceil(size / cs) * cs;
    if (old > from) {
      const err = clusterDiscard(s, from, old - from, 'always', true, acct);
      if (err) return err;
    }
    const err = shrinkL1Table(s, sizeToL1(size, s.clusterBits, s.extendedL2), acct);
    if (err) return err;
    if (!s.hasDataFile) {
      const fileClusters = Math.ceil(s.file.getLength() / cs);
      const last = lastUsedCluster(s, fileClusters, acct);
      if ((last + 1) * cs < s.file.getLength()) s.file.truncate((last + 1) * cs);
    }
  } else if (size > old) {
    const err = growL1Table(s, sizeToL1(size, s.clusterBits, s.extendedL2), true, acct);
    if (err) return err;
  }
  if (s.hasDataFile && mode === 'off') {
    const err = s.dataFile.truncate(size);
    if (err) return err;
  }
  const field = new Uint8Array(8);
  new DataView(field.buffer).setBigUint64(0, BigInt(size));
  const err = s.file.pwritev(OFF_SIZE, field, {}, acct) ?? s.file.flush(acct);
  if (err) return err;
  s.size = size;
  if (size > old && mode !== 'off') return preallocate(s, old, size, mode, acct);
  return null;
}
