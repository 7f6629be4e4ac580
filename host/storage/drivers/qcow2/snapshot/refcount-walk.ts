/**
 * qcow2_update_snapshot_refcount (block/qcow2-refcount.c): walk an L1 table (a
 * snapshot's, read from disk, or the active one in memory) and every L2 table it
 * points to, adding `addend` (-1, 0 or +1) to the refcount of each L2 table and each
 * cluster they use, and setting each entry's COPIED flag to "refcount is exactly 1".
 * Compressed clusters never get COPIED. With addend 0 only the flags are brought up to
 * date.
 *
 * The walk ends with a flush of the caches; the L1 table is then written back (synced)
 * if a flag changed, unless the table is being dropped (addend -1).
 */
import type { BlockIoError } from '../../../block-backend-api.js';
import type { IoAcct } from '../../../driver.js';
import { clusterType, getL2, l1Offset, l2EntrySize } from '../format/l2-entry.js';
import { flushCaches, hex, signalCorruption } from '../header-update.js';
import { AGAIN, getRefcount, processDiscards, updateRefcount } from '../refcounts.js';
import { isIoError, type Qcow2State } from '../state.js';

const COPIED_HI = 0x80000000;

/** update_refcount, retried while a refcount block had to be allocated first (QEMU's -EAGAIN). */
function addRef(s: Qcow2State, offset: number, length: number, addend: number, acct: IoAcct): BlockIoError | null {
  for (let i = 0; i < 8; i++) {
    const r = updateRefcount(s, offset, length, Math.abs(addend), addend < 0, 'snapshot', acct);
    if (r !== AGAIN) return r;
  }
  return signalCorruption(s, false, `refcount update at ${hex(offset)} did not settle`, acct);
}

/** Set or clear COPIED in the 8-byte entry at byte `p` of `bytes`; whether it changed. */
function setCopied(bytes: Uint8Array, p: number, copied: boolean): boolean {
  const v = new DataView(bytes.buffer, bytes.byteOffset + p, 4);
  const hi = v.getUint32(0);
  const next = copied ? (hi | COPIED_HI) >>> 0 : hi & ~COPIED_HI & 0xffffffff;
  if (next >>> 0 === hi) return false;
  v.setUint32(0, next >>> 0);
  return true;
}

function walkL2(s: Qcow2State, l2Offset: number, addend: number, acct: IoAcct): BlockIoError | null {
  const sliceBytes = s.l2Cache.entrySize;
  const entry = l2EntrySize(s);
  const perSlice = sliceBytes / entry;
  for (let slice = 0; slice * sliceBytes < s.clusterSize; slice++) {
    const key = l2Offset + slice * sliceBytes;
    for (let j = 0; j < perSlice; j++) {
      let data = s.l2Cache.get(key, acct);
      if (isIoError(data)) return data;
      const e = getL2(new DataView(data.buffer, data.byteOffset, data.byteLength), j, s);
      let refcount = 0;
      switch (clusterType(e, s.extendedL2, s.hasDataFile)) {
        case 'COMPRESSED':
          if (addend !== 0 && e.compressed) {
            const err = addRef(s, e.offset, e.bytes, addend, acct);
            if (err) return err;
          }
          refcount = 2;
          break;
        case 'NORMAL':
        case 'ZERO_ALLOC': {
          if (e.offset % s.clusterSize) {
            const index = slice * perSlice + j;
            return signalCorruption(s, true, `Cluster allocation offset ${hex(e.offset)} unaligned (L2 offset: ${hex(l2Offset)}, L2 index: ${hex(index)})`, acct);
          }
          if (addend !== 0) {
            const err = addRef(s, e.offset, 1, addend, acct);
            if (err) return err;
          }
          const rc = getRefcount(s, e.offset / s.clusterSize, acct);
          if (isIoError(rc)) return rc;
          refcount = rc;
          break;
        }
        default:
          refcount = 0;
      }
      data = s.l2Cache.get(key, acct);
      if (isIoError(data)) return data;
      if (setCopied(data, j * entry, refcount === 1)) {
        if (addend > 0) {
          const err = s.l2Cache.setDependency(s.refcountCache, acct);
          if (err) return err;
        }
        s.l2Cache.markDirty(key);
      }
    }
  }
  return null;
}

/**
 * Walk the L1 table of `l1Size` entries at `l1TableOffset` (the active table in memory
 * when it is the active one's offset).
 */
export function updateSnapshotRefcount(s: Qcow2State, l1TableOffset: number, l1Size: number, addend: -1 | 0 | 1, acct: IoAcct): BlockIoError | null {
  const active = l1TableOffset === s.l1TableOffset;
  let l1: Uint8Array;
  if (active) {
    l1 = s.l1.subarray(0, l1Size * 8);
  } else {
    l1 = new Uint8Array(l1Size * 8);
    const err = s.file.preadv(l1TableOffset, l1, acct);
    if (err) return err;
  }
  const view = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
  let modified = false;
  s.cacheDiscards = true;
  let err: BlockIoError | null = null;
  for (let i = 0; i < l1Size && !err; i++) {
    if (view.getUint32(i * 8) === 0 && view.getUint32(i * 8 + 4) === 0) continue;
    const l2Offset = l1Offset(view, i);
    if (l2Offset % s.clusterSize) {
      err = signalCorruption(s, true, `L2 table offset ${hex(l2Offset)} unaligned (L1 index: ${hex(i)})`, acct);
      break;
    }
    err = walkL2(s, l2Offset, addend, acct);
    if (err) break;
    if (addend !== 0) err = addRef(s, l2Offset, 1, addend, acct);
    if (err) break;
    const rc = getRefcount(s, l2Offset / s.clusterSize, acct);
    if (isIoError(rc)) {
      err = rc;
      break;
    }
    // The entry keeps its offset, loses reserved bits, and carries COPIED iff rc == 1.
    const hiBefore = view.getUint32(i * 8);
    const loBefore = view.getUint32(i * 8 + 4);
    const hi = (Math.floor(l2Offset / 2 ** 32) | (rc === 1 ? COPIED_HI : 0)) >>> 0;
    const lo = l2Offset >>> 0;
    if (hi !== hiBefore || lo !== loBefore) {
      view.setUint32(i * 8, hi);
      view.setUint32(i * 8 + 4, lo);
      modified = true;
    }
  }
  if (!err) err = flushCaches(s, acct);
  s.cacheDiscards = false;
  processDiscards(s, acct);
  if (!err && addend >= 0 && modified) {
    err = s.file.pwritev(l1TableOffset, l1, {}, acct) ?? s.file.flush(acct);
  }
  return err;
}
