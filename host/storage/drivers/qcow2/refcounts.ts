/**
 * Host cluster allocation by reference counts (block/qcow2-refcount.c): reading and
 * changing refcounts through the refcount block cache, finding free clusters, allocating
 * refcount blocks that describe themselves, growing the refcount table, packing
 * compressed data into shared clusters, and freeing (with discards passed to the file).
 *
 * QEMU's -EAGAIN (a new refcount block was put where the caller meant to allocate, so it
 * must search again) is the `AGAIN` value here.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { QCOW_MAX_REFTABLE_SIZE } from './format/header.js';
import { MAX_ENTRY_OFFSET } from './format/l2-entry.js';
import { getRefcount as readEntry, refcountMetadataSize, REFTABLE_ENTRY_SIZE, setRefcount as writeEntry } from './format/refcount-block.js';
import { hex, signalCorruption } from './header-update.js';
import { isIoError, sizeToClusters, startOfCluster, type DiscardType, type Qcow2State } from './state.js';

export { refcountMetadataSize };

export const AGAIN = Symbol('EAGAIN');
export type Again = typeof AGAIN;

/** Restarts after AGAIN before the allocator gives up (each restart follows a metadata allocation). */
const MAX_RESTARTS = 64;

/** qcow2_get_refcount: the refcount of cluster `index` (0 where no refcount block exists). */
export function getRefcount(s: Qcow2State, index: number, acct: IoAcct): number | BlockIoError {
  const ti = Math.floor(index / s.refblockSize);
  if (ti >= s.reftable.length) return 0;
  const off = s.reftable[ti];
  if (!off) return 0;
  if (off % s.clusterSize) return signalCorruption(s, true, `Refblock offset ${hex(off)} unaligned (reftable index: ${hex(ti)})`, acct);
  const block = s.refcountCache.get(off, acct);
  return isIoError(block) ? block : readEntry(block, index % s.refblockSize, s.refcountOrder);
}

/** alloc_clusters_noref: the first run of free clusters from free_cluster_index (refcounts unchanged). */
function allocClustersNoref(s: Qcow2State, size: number, max: number, acct: IoAcct): number | BlockIoError {
  if (s.cacheDiscards) processDiscards(s, acct);
  const n = sizeToClusters(s, size);
  if (s.freeClusterIndex < s.allocFloor) s.freeClusterIndex = s.allocFloor;
  for (let i = 0; i < n; i++) {
    const rc = getRefcount(s, s.freeClusterIndex++, acct);
    if (isIoError(rc)) return rc;
    if (rc !== 0) i = -1;
  }
  if (s.freeClusterIndex > 0 && s.freeClusterIndex - 1 > Math.floor(max / s.clusterSize)) return ioError('EIO', `${s.nodeName}: image file too large`);
  const first = s.freeClusterIndex - n;
  return settleFreed(s, first, n, acct) ?? first * s.clusterSize;
}

/**
 * Before clusters [first, first + n) are reused: if one was freed while the L2 entry
 * that let it go may not be on disk yet, flush the L2 cache first. (Beyond QEMU 7.2,
 * which may put new data there while the old entry on disk still points at it.)
 */
function settleFreed(s: Qcow2State, first: number, n: number, acct: IoAcct): BlockIoError | null {
  if (s.freedUnflushed.size === 0) return null;
  let hit = false;
  for (let i = first; i < first + n && !hit; i++) hit = s.freedUnflushed.has(i);
  if (!hit) return null;
  const err = s.l2Cache.flush(acct);
  if (!err) s.freedUnflushed.clear();
  return err;
}

const inSameRefblock = (s: Qcow2State, a: number, b: number): boolean =>
  Math.floor(a / s.clusterSize / s.refblockSize) === Math.floor(b / s.clusterSize / s.refblockSize);

/** Write `bytes` at `offset` of the file and sync (bdrv_pwrite_sync). */
function pwriteSync(s: Qcow2State, offset: number, bytes: Uint8Array, acct: IoAcct): BlockIoError | null {
  return s.file.pwritev(offset, bytes, {}, acct) ?? s.file.flush(acct);
}

/**
 * alloc_refcount_block: the offset of the refcount block for cluster `index`, allocating
 * it (and growing the refcount table) if needed. After an allocation it answers AGAIN.
 */
function allocRefcountBlock(s: Qcow2State, index: number, acct: IoAcct): number | Again | BlockIoError {
  s.file.debugEvent('refblock_alloc');
  const ti = Math.floor(index / s.refblockSize);
  if (ti < s.reftable.length && s.reftable[ti]) {
    const off = s.reftable[ti];
    if (off % s.clusterSize) return signalCorruption(s, true, `Refblock offset ${hex(off)} unaligned (reftable index: ${hex(ti)})`, acct);
    return off;
  }
  // The refcount table is about to change, and L2 tables may use what it describes.
  let err = s.l2Cache.flush(acct);
  if (err) return err;
  const newBlock = allocClustersNoref(s, s.clusterSize, Number.MAX_SAFE_INTEGER, acct);
  if (isIoError(newBlock)) return newBlock;
  if (newBlock === 0) return signalCorruption(s, true, 'Preventing invalid allocation of refcount block at offset 0', acct);
  if (inSameRefblock(s, newBlock, index * s.clusterSize)) {
    const block = s.refcountCache.getEmpty(newBlock, acct);
    if (isIoError(block)) return block;
    writeEntry(block, (newBlock / s.clusterSize) % s.refblockSize, s.refcountOrder, 1);
  } else {
    const r = updateRefcount(s, newBlock, s.clusterSize, 1, false, 'never', acct);
    if (r !== null) return r;
    err = s.refcountCache.flush(acct);
    if (err) return err;
    const block = s.refcountCache.getEmpty(newBlock, acct);
    if (isIoError(block)) return block;
  }
  s.file.debugEvent('refblock_alloc_write');
  s.refcountCache.markDirty(newBlock);
  err = s.refcountCache.flush(acct);
  if (err) return err;
  if (ti < s.reftable.length) {
    const data = new Uint8Array(REFTABLE_ENTRY_SIZE);
    new DataView(data.buffer).setBigUint64(0, BigInt(newBlock));
    s.file.debugEvent('refblock_alloc_hookup');
    err = pwriteSync(s, s.reftableOffset + ti * REFTABLE_ENTRY_SIZE, data, acct);
    if (err) return err;
    s.reftable[ti] = newBlock;
    s.maxReftableIndex = Math.max(s.maxReftableIndex, ti);
    return AGAIN;
  }
  // The refcount table is too small: new refcount structures at the end, describing themselves.
  s.file.debugEvent('reftable_grow');
  const blocksUsed = Math.ceil(Math.max(index + 1, newBlock / s.clusterSize + 1) / s.refblockSize);
  const metaOffset = blocksUsed * s.refblockSize * s.clusterSize;
  const end = refcountArea(s, metaOffset, 0, false, ti, newBlock, acct);
  return isIoError(end) ? end : AGAIN;
}

/**
 * qcow2_refcount_area: a new refcount table (and the refcount blocks it lacks) placed at
 * `start`, covering everything up to it plus `additional` clusters, then switched to in
 * the header. Returns the end of the new structures.
 */
export function refcountArea(
  s: Qcow2State,
  start: number,
  additional: number,
  exact: boolean,
  newIndex: number,
  newOffset: number,
  acct: IoAcct,
): number | BlockIoError {
  const cs = s.clusterSize;
  const total = refcountMetadataSize(start / cs + additional, cs, s.refcountOrder, !exact).blocks;
  const tooBig = ioError('EIO', `${s.nodeName}: refcount table would exceed ${QCOW_MAX_REFTABLE_SIZE} bytes`);
  if (total > QCOW_MAX_REFTABLE_SIZE) return tooBig;
  const areaIndex = Math.floor(start / cs / s.refblockSize);
  const perCluster = cs / REFTABLE_ENTRY_SIZE;
  const tableSize = Math.ceil((exact ? total : total + Math.ceil(total / 2)) / perCluster) * perCluster;
  const tableClusters = (tableSize * REFTABLE_ENTRY_SIZE) / cs;
  if (tableSize > QCOW_MAX_REFTABLE_SIZE / REFTABLE_ENTRY_SIZE) return tooBig;
  const table = new Array<number>(tableSize).fill(0);
  const keep = tableSize > s.maxReftableIndex ? s.maxReftableIndex + 1 : tableSize;
  for (let i = 0; i < keep && i < s.reftable.length; i++) table[i] = s.reftable[i];
  if (newOffset) table[newIndex] = newOffset;
  let missing = 0;
  for (let i = areaIndex; i < total; i++) if (!table[i]) missing++;
  const tableOffset = start + missing * cs;
  const end = tableOffset + tableClusters * cs;
  let blockOffset = start;
  for (let i = areaIndex; i < total; i++) {
    let at = table[i];
    let block: Uint8Array | BlockIoError;
    if (at) {
      block = s.refcountCache.get(at, acct);
    } else {
      at = blockOffset;
      block = s.refcountCache.getEmpty(at, acct);
      s.refcountCache.markDirty(at);
      table[i] = at;
      blockOffset += cs;
    }
    if (isIoError(block)) return block;
    const first = i * s.refblockSize * cs;
    if (first < end) {
      let j = first < start ? (start - first) / cs : 0;
      const endIndex = Math.min((end - first) / cs, s.refblockSize);
      for (; j < endIndex; j++) writeEntry(block, j, s.refcountOrder, 1);
      s.refcountCache.markDirty(at);
    }
  }
  s.file.debugEvent('refblock_alloc_write_blocks');
  let err = s.refcountCache.flush(acct);
  if (err) return err;
  const raw = new Uint8Array(tableSize * REFTABLE_ENTRY_SIZE);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < total; i++) view.setBigUint64(i * 8, BigInt(table[i]));
  s.file.debugEvent('refblock_alloc_write_table');
  err = pwriteSync(s, tableOffset, raw, acct);
  if (err) return err;
  const hdr = new Uint8Array(12);
  const hv = new DataView(hdr.buffer);
  hv.setBigUint64(0, BigInt(tableOffset));
  hv.setUint32(8, tableClusters);
  s.file.debugEvent('refblock_alloc_switch_table');
  err = pwriteSync(s, 48, hdr, acct);
  if (err) return err;
  const oldOffset = s.reftableOffset;
  const oldBytes = s.reftable.length * REFTABLE_ENTRY_SIZE;
  s.reftable = table;
  s.reftableOffset = tableOffset;
  s.maxReftableIndex = lastNonZero(table);
  freeClusters(s, oldOffset, oldBytes, 'other', acct);
  return end;
}

const lastNonZero = (t: readonly number[]): number => {
  for (let i = t.length - 1; i >= 0; i--) if (t[i]) return i;
  return 0;
};

/**
 * update_refcount: add `addend` to (or subtract it from) the refcount of every cluster
 * that [offset, offset + length) touches. A cluster whose refcount drops to 0 leaves the
 * caches, stops being the one compressed data is packed into, and, if `type` passes
 * discards, is discarded in the file.
 */
export function updateRefcount(
  s: Qcow2State,
  offset: number,
  length: number,
  addend: number,
  decrease: boolean,
  type: DiscardType,
  acct: IoAcct,
): null | Again | BlockIoError {
  if (length <= 0) return null;
  const cs = s.clusterSize;
  let result: null | Again | BlockIoError = null;
  if (decrease) result = s.refcountCache.setDependency(s.l2Cache, acct);
  const start = startOfCluster(s, offset);
  const last = startOfCluster(s, offset + length - 1);
  let oldTable = -1;
  let blockOffset = 0;
  let at = start;
  for (; result === null && at <= last; at += cs) {
    const index = at / cs;
    const ti = Math.floor(index / s.refblockSize);
    if (ti !== oldTable) {
      const r = allocRefcountBlock(s, index, acct);
      if (r === AGAIN && s.freeClusterIndex > start / cs) s.freeClusterIndex = start / cs;
      if (typeof r !== 'number') {
        result = r;
        break;
      }
      blockOffset = r;
    }
    oldTable = ti;
    const block = s.refcountCache.get(blockOffset, acct);
    if (isIoError(block)) {
      result = block;
      break;
    }
    s.refcountCache.markDirty(blockOffset);
    const bi = index % s.refblockSize;
    let rc = readEntry(block, bi, s.refcountOrder);
    if (decrease ? rc < addend : rc + addend > s.refcountMax) {
      result = ioError('EINVAL', `${s.nodeName}: refcount of cluster ${hex(at)} would ${decrease ? 'drop below 0' : 'overflow'}`);
      break;
    }
    rc = decrease ? rc - addend : rc + addend;
    if (rc === 0 && index < s.freeClusterIndex) s.freeClusterIndex = index;
    if (rc === 0) s.freedUnflushed.add(index);
    writeEntry(block, bi, s.refcountOrder, rc);
    if (rc === 0) {
      if (s.refcountCache.peek(at)) {
        s.refcountCache.discard(at);
        oldTable = -1;
      }
      for (let p = at; p < at + cs; p += s.l2Cache.entrySize) s.l2Cache.discard(p);
      // Stop packing compressed data into a cluster that is free now: once reallocated it is
      // someone else's (QEMU 7.2 keeps free_byte_offset here and overwrites that data).
      if (s.freeByteOffset && startOfCluster(s, s.freeByteOffset) === at) s.freeByteOffset = 0;
      if (s.discardPassthrough[type]) queueDiscard(s, at, cs);
    }
  }
  if (!s.cacheDiscards) processDiscards(s, acct);
  if (result !== null && at > offset) {
    // Undo what was done, as QEMU tries to (it may succeed, e.g. after ENOSPC on a new refblock).
    updateRefcount(s, offset, at - offset, addend, !decrease, 'never', acct);
  }
  return result;
}

/** update_refcount_discard: queue a range for discard, merging with a neighbour. */
function queueDiscard(s: Qcow2State, offset: number, bytes: number): void {
  for (const d of s.pendingDiscards) {
    if (d.offset + d.bytes === offset) {
      d.bytes += bytes;
      return;
    }
    if (offset + bytes === d.offset) {
      d.offset = offset;
      d.bytes += bytes;
      return;
    }
  }
  s.pendingDiscards.push({ offset, bytes });
}

/** qcow2_process_discards: pass the queued ranges to the file. */
export function processDiscards(s: Qcow2State, acct: IoAcct): void {
  if (s.pendingDiscards.length === 0) return;
  const list = s.pendingDiscards.splice(0);
  for (const d of list) s.file.discard(d.offset, d.bytes, acct);
}

/** qcow2_alloc_clusters: `size` bytes of free clusters, their refcounts set to 1. */
export function allocClusters(s: Qcow2State, size: number, acct: IoAcct): number | BlockIoError {
  s.file.debugEvent('cluster_alloc');
  for (let i = 0; i < MAX_RESTARTS; i++) {
    const offset = allocClustersNoref(s, size, MAX_ENTRY_OFFSET, acct);
    if (isIoError(offset)) return offset;
    const r = updateRefcount(s, offset, size, 1, false, 'never', acct);
    if (r === null) return offset;
    if (r !== AGAIN) return r;
  }
  return ioError('EIO', `${s.nodeName}: cluster allocation did not settle`);
}

/**
 * qcow2_alloc_clusters_at: allocate as many of the `n` clusters at `offset` as are free
 * in a row. Returns how many.
 */
export function allocClustersAt(s: Qcow2State, offset: number, n: number, acct: IoAcct): number | BlockIoError {
  if (n === 0) return 0;
  for (let k = 0; k < MAX_RESTARTS; k++) {
    let i = 0;
    for (; i < n; i++) {
      const rc = getRefcount(s, offset / s.clusterSize + i, acct);
      if (isIoError(rc)) return rc;
      if (rc !== 0) break;
    }
    const err = settleFreed(s, offset / s.clusterSize, i, acct);
    if (err) return err;
    const r = updateRefcount(s, offset, i * s.clusterSize, 1, false, 'never', acct);
    if (r === null) return i;
    if (r !== AGAIN) return r;
  }
  return ioError('EIO', `${s.nodeName}: cluster allocation did not settle`);
}

/**
 * qcow2_alloc_bytes: `size` bytes (≤ a cluster) for compressed data, packed after the
 * last ones when they fit; each cluster touched gains a reference.
 */
export function allocBytes(s: Qcow2State, size: number, maxOffset: number, acct: IoAcct): number | BlockIoError {
  const cs = s.clusterSize;
  s.file.debugEvent('cluster_alloc_bytes');
  let offset = s.freeByteOffset;
  if (offset) {
    const rc = getRefcount(s, Math.floor(offset / cs), acct);
    if (isIoError(rc)) return rc;
    if (rc === s.refcountMax) offset = 0;
  }
  let free = cs - (offset % cs);
  for (let k = 0; ; k++) {
    if (k === MAX_RESTARTS) return ioError('EIO', `${s.nodeName}: cluster allocation did not settle`);
    if (!offset || free < size) {
      const fresh = allocClustersNoref(s, cs, Math.min(maxOffset, MAX_ENTRY_OFFSET), acct);
      if (isIoError(fresh)) return fresh;
      if (fresh === 0) return signalCorruption(s, true, 'Preventing invalid allocation of compressed cluster at offset 0', acct);
      if (!offset || Math.ceil(offset / cs) * cs !== fresh) {
        offset = fresh;
        free = cs;
      } else {
        free += cs;
      }
    }
    const r = updateRefcount(s, offset, size, 1, false, 'never', acct);
    if (r === null) break;
    offset = 0;
    if (r !== AGAIN) return r;
  }
  const err = s.l2Cache.setDependency(s.refcountCache, acct);
  if (err) return err;
  s.freeByteOffset = (offset + size) % cs ? offset + size : 0;
  return offset;
}

/** qcow2_free_clusters: drop a reference to each cluster of the range (a failure leaks them). */
export function freeClusters(s: Qcow2State, offset: number, size: number, type: DiscardType, acct: IoAcct): void {
  s.file.debugEvent('cluster_free');
  updateRefcount(s, offset, size, 1, true, type, acct);
}
