/**
 * bdrv_make_empty for qcow2 (block/qcow2.c qcow2_make_empty), what `qemu-img commit`
 * does to the top image once its data is in the backing file.
 *
 * A v3 image without snapshots, bitmaps, LUKS header or external data file is reset
 * outright (make_completely_empty): with the dirty bit set, the L1 table and the first
 * clusters are zeroed, the header points at an empty refcount table in cluster 1, its
 * first refcount block in cluster 2 and the L1 table in cluster 3, the header clusters
 * are allocated again from that empty state, the dirty bit is cleared and the file cut
 * after the L1 table. Anything else has every cluster discarded.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { markClean, markDirty } from './header-update.js';
import { allocClusters } from './refcounts.js';
import { isIoError, type Qcow2State } from './state.js';
import { clusterDiscard } from './zero-discard.js';

const QCOW_CRYPT_LUKS = 2;
/** The header's l1_table_offset (u64), refcount_table_offset (u64), refcount_table_clusters (u32). */
const OFF_L1_TABLE_OFFSET = 40;

export function makeEmpty(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  const cs = s.clusterSize;
  const l1Clusters = Math.ceil(s.l1Size / (cs / 8));
  const complete =
    s.version >= 3 && s.nbSnapshots === 0 && !s.bitmaps?.nbBitmaps && 3 + l1Clusters <= s.refblockSize && s.cryptMethod !== QCOW_CRYPT_LUKS && !s.hasDataFile;
  if (complete) return makeCompletelyEmpty(s, l1Clusters, acct);
  const step = Math.floor(0x7fffffff / cs) * cs;
  for (let offset = 0; offset < s.size; offset += step) {
    const err = clusterDiscard(s, offset, Math.min(step, s.size - offset), 'snapshot', true, acct);
    if (err) return err;
  }
  return null;
}

function makeCompletelyEmpty(s: Qcow2State, l1Clusters: number, acct: IoAcct): BlockIoError | null {
  const cs = s.clusterSize;
  // qcow2_cache_empty: written back, then forgotten.
  let err = s.l2Cache.flush(acct) ?? s.refcountCache.flush(acct);
  if (err) return err;
  s.l2Cache.clear();
  s.refcountCache.clear();
  // From here on the refcounts on disk describe nothing: the dirty bit says so.
  err = markDirty(s, acct);
  if (err) return err;
  s.file.debugEvent('l1_update');
  err = s.file.writeZeroes(s.l1TableOffset, l1Clusters * cs, {}, acct);
  if (err) return broken(s, err);
  s.l1.fill(0);
  s.file.debugEvent('empty_image_prepare');
  err = s.file.writeZeroes(cs, (2 + l1Clusters) * cs, {}, acct);
  if (err) return broken(s, err);
  const hdr = new Uint8Array(20);
  const v = new DataView(hdr.buffer);
  v.setBigUint64(0, BigInt(3 * cs));
  v.setBigUint64(8, BigInt(cs));
  v.setUint32(16, 1);
  s.file.debugEvent('l1_update');
  s.file.debugEvent('reftable_update');
  err = s.file.pwritev(OFF_L1_TABLE_OFFSET, hdr, {}, acct) ?? s.file.flush(acct);
  if (err) return broken(s, err);
  s.l1TableOffset = 3 * cs;
  s.reftableOffset = cs;
  s.reftable = new Array<number>(cs / 8).fill(0);
  s.maxReftableIndex = 0;
  s.file.debugEvent('refblock_alloc');
  const entry = new Uint8Array(8);
  new DataView(entry.buffer).setBigUint64(0, BigInt(2 * cs));
  err = s.file.pwritev(cs, entry, {}, acct) ?? s.file.flush(acct);
  if (err) return broken(s, err);
  s.reftable[0] = 2 * cs;
  s.freeClusterIndex = 0;
  s.freeByteOffset = 0;
  s.freedUnflushed.clear();
  const at = allocClusters(s, 3 * cs + s.l1Size * 8, acct);
  if (isIoError(at)) return broken(s, at);
  if (at !== 0) return broken(s, ioError('EIO', `${s.nodeName}: First cluster in emptied image is in use`));
  err = markClean(s, acct);
  if (err) return err;
  return s.file.truncate((3 + l1Clusters) * cs);
}

/** fail_broken_refcounts: what is in memory no longer matches the disk; the node is unusable. */
function broken(s: Qcow2State, err: BlockIoError): BlockIoError {
  s.broken = `image could not be emptied: ${err.message}`;
  return err;
}
