/**
 * The active L1 table (block/qcow2-cluster.c): writing one entry back, growing the table
 * (a new, larger copy, then the header switched to it) and shrinking it.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { metadataOverlapCheck, OL_ACTIVE_L1 } from './check/overlap.js';
import { OFF_L1_SIZE, QCOW_MAX_L1_SIZE } from './format/header.js';
import { L1E_SIZE, l1Offset, setL1 } from './format/l2-entry.js';
import { allocClusters, freeClusters } from './refcounts.js';
import { isIoError, type Qcow2State } from './state.js';

/** qcow2_write_l1_entry: write the file-aligned group of L1 entries holding `index`, synced. */
export function writeL1Entry(s: Qcow2State, index: number, acct: IoAcct): BlockIoError | null {
  const bufsize = Math.max(L1E_SIZE, Math.min(s.file.requestAlignment, s.clusterSize));
  const per = bufsize / L1E_SIZE;
  const first = index - (index % per);
  const n = Math.min(per, s.l1Size - first);
  const at = s.l1TableOffset + first * L1E_SIZE;
  const bad = metadataOverlapCheck(s, OL_ACTIVE_L1, at, n * L1E_SIZE, acct);
  if (bad) return bad;
  s.file.debugEvent('l1_update');
  return s.file.pwritev(at, s.l1.subarray(first * L1E_SIZE, (first + n) * L1E_SIZE), {}, acct) ?? s.file.flush(acct);
}

/**
 * qcow2_grow_l1_table: make the L1 table at least `minSize` entries (exactly that with
 * `exact`, else growing by half at a time), in newly allocated clusters.
 */
export function growL1Table(s: Qcow2State, minSize: number, exact: boolean, acct: IoAcct): BlockIoError | null {
  if (minSize <= s.l1Size) return null;
  const tooBig = ioError('EIO', `${s.nodeName}: L1 table would exceed ${QCOW_MAX_L1_SIZE} bytes`);
  if (minSize > QCOW_MAX_L1_SIZE / L1E_SIZE) return tooBig;
  let newSize = minSize;
  if (!exact) {
    newSize = Math.max(1, s.l1Size);
    while (minSize > newSize) newSize = Math.ceil((newSize * 3) / 2);
  }
  if (newSize > QCOW_MAX_L1_SIZE / L1E_SIZE) return tooBig;
  const bytes = newSize * L1E_SIZE;
  const table = new Uint8Array(bytes);
  table.set(s.l1.subarray(0, s.l1Size * L1E_SIZE));
  s.file.debugEvent('l1_grow_alloc_table');
  const offset = allocClusters(s, bytes, acct);
  if (isIoError(offset)) return offset;
  let err = s.refcountCache.flush(acct);
  if (err) return err;
  s.file.debugEvent('l1_grow_write_table');
  err = metadataOverlapCheck(s, 0, offset, bytes, acct) ?? s.file.pwritev(offset, table, {}, acct) ?? s.file.flush(acct);
  if (err) return err;
  const hdr = new Uint8Array(12);
  const hv = new DataView(hdr.buffer);
  hv.setUint32(0, newSize);
  hv.setBigUint64(4, BigInt(offset));
  s.file.debugEvent('l1_grow_activate_table');
  err = s.file.pwritev(OFF_L1_SIZE, hdr, {}, acct) ?? s.file.flush(acct);
  if (err) return err;
  const oldOffset = s.l1TableOffset;
  const oldBytes = s.l1Size * L1E_SIZE;
  s.l1 = table;
  s.l1View = new DataView(table.buffer);
  s.l1TableOffset = offset;
  s.l1Size = newSize;
  freeClusters(s, oldOffset, oldBytes, 'other', acct);
  return null;
}

/**
 * qcow2_shrink_l1_table: clear the entries from `newSize` on, on disk first, then free
 * the L2 tables they pointed to. The table keeps its size.
 */
export function shrinkL1Table(s: Qcow2State, newSize: number, acct: IoAcct): BlockIoError | null {
  if (newSize >= s.l1Size) return null;
  const zero = new Uint8Array((s.l1Size - newSize) * L1E_SIZE);
  s.file.debugEvent('l1_shrink_write_table');
  const at = s.l1TableOffset + newSize * L1E_SIZE;
  const err = metadataOverlapCheck(s, OL_ACTIVE_L1, at, zero.length, acct) ?? s.file.pwritev(at, zero, {}, acct) ?? s.file.flush(acct);
  if (err) return err;
  s.file.debugEvent('l1_shrink_free_l2_clusters');
  for (let i = newSize; i < s.l1Size; i++) {
    const l2 = l1Offset(s.l1View, i);
    setL1(s.l1View, i, 0, false);
    if (l2) freeClusters(s, l2, s.clusterSize, 'always', acct);
  }
  return null;
}
