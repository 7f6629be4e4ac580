/**
 * Guest reads and writes through a vmdk node (QEMU's vmdk_co_preadv, vmdk_pwritev,
 * get_whole_cluster, vmdk_co_pwrite_zeroes), one grain (or flat extent) at a time:
 *
 * - read: an allocated grain from its file (inflating a compressed one); an unallocated
 *   one from the backing image (whose CID must match parentCID) or as zeroes; a zeroed
 *   grain (GTE 1) as zeroes, never from the backing image;
 * - write: in place if allocated; else a grain is taken at the end of the file, the rest
 *   of it filled from the backing image (copy-on-write) or with zeroes, the data written,
 *   then the grain table entry (both directories) and a flush. Compressed extents take only
 *   whole new grains (the last may be short), as QEMU's do. The first write after each open
 *   changes the CID;
 * - write-zeroes: whole grains become zeroed-grain entries when the image has them;
 *   unallocated grains without a backing image are left alone (they read as zeroes); the
 *   rest is written with zeroes.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { clusterBytes, lookup, readCompressed, takeClusterSector, updateL2, writeCompressed, type Extent, type L2Slot, type Lookup } from './extent.js';
import { SECTOR, VMDK_GTE_ZEROED } from './header.js';
import { cidValid, findExtent, fresh, updateCid, type VmdkState } from './state.js';

type Piece = (e: Extent, offset: number, inCluster: number, n: number, done: number) => BlockIoError | null;

/** Calls `fn` for each run of [offset, offset + bytes) inside one grain (or one flat extent). */
function perGrain(s: VmdkState, offset: number, bytes: number, fn: Piece): BlockIoError | null {
  for (let done = 0; done < bytes; ) {
    const pos = offset + done;
    const e = findExtent(s, pos);
    if (!e) return { errno: 'EIO', message: `${s.nodeName}: no extent holds offset ${pos}` };
    const cb = clusterBytes(e);
    const inCluster = (pos - e.start) % cb;
    const n = Math.min(bytes - done, cb - inCluster, e.start + e.sectors * SECTOR - pos);
    const err = fn(e, pos, inCluster, n, done);
    if (err) return err;
    done += n;
  }
  return null;
}

const eio = (s: VmdkState, message: string): BlockIoError => ({ errno: 'EIO', message: `${s.nodeName}: ${message}` });
const badCid = (s: VmdkState): BlockIoError => ({ errno: 'EINVAL', message: `${s.nodeName}: the backing image's CID does not match parentCID ${s.parentCid.toString(16)}` });

export function readVmdk(s: VmdkState, offset: number, buf: Uint8Array, acct: IoAcct): BlockIoError | null {
  return (
    fresh(s) ??
    perGrain(s, offset, buf.length, (e, pos, inCluster, n, done) => {
      const dst = buf.subarray(done, done + n);
      if (!e.sparse) {
        e.file.debugEvent('read_aio');
        return e.file.preadv(e.flatStart + (pos - e.start), dst, acct);
      }
      const l = lookup(e, pos, acct);
      if (l.kind === 'error') return eio(s, l.message);
      if (l.kind === 'ok' && !e.sparse.compressed) e.file.debugEvent('read_aio');
      if (l.kind === 'ok') return e.sparse.compressed ? readCompressed(e, l.clusterOffset, inCluster, dst, acct) : e.file.preadv(l.clusterOffset + inCluster, dst, acct);
      if (l.kind === 'unalloc' && s.backing) s.file.debugEvent('read_backing_aio');
      if (l.kind === 'unalloc' && s.backing) return cidValid(s) ? s.backing.preadv(pos, dst, acct) : badCid(s);
      dst.fill(0);
      return null;
    })
  );
}

/** get_whole_cluster: fill the new grain at `clusterOffset` outside [skip0, skip1) from the backing image or with zeroes. */
function fillGrain(s: VmdkState, e: Extent, clusterOffset: number, grainStart: number, skip0: number, skip1: number, zeroed: boolean, acct: IoAcct): BlockIoError | null {
  const cb = clusterBytes(e);
  const fromBacking = s.backing !== undefined && !zeroed;
  if (s.backing && !cidValid(s)) return badCid(s);
  for (const [a, b] of [[0, skip0], [skip1, cb]]) {
    if (b <= a) continue;
    const part = new Uint8Array(b - a);
    if (fromBacking) {
      e.file.debugEvent('cow_read');
      const r = s.backing!.preadv(grainStart + a, part, acct);
      if (r) return r;
    }
    e.file.debugEvent('cow_write');
    const w = e.file.pwritev(clusterOffset + a, part, {}, acct);
    if (w) return w;
  }
  return null;
}

/** The GT slot for an allocation, or the error QEMU's missing-table case becomes. */
function slotFor(s: VmdkState, meta: L2Slot | undefined, pos: number): L2Slot | BlockIoError {
  return meta ?? eio(s, `the grain table for offset ${pos} is not allocated (QEMU does not allocate grain tables)`);
}

function writeCompressedGrain(s: VmdkState, e: Extent, pos: number, inCluster: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
  const l = lookup(e, pos, acct);
  if (l.kind === 'error') return { errno: 'EINVAL', message: `${s.nodeName}: ${l.message}` };
  if (l.kind === 'ok') return eio(s, 'Could not write to allocated cluster for streamOptimized');
  const cb = clusterBytes(e);
  const extentEnd = e.start + e.sectors * SECTOR;
  if (inCluster !== 0 || (data.length < cb && pos + data.length !== extentEnd) || !e.sparse!.hasMarker) {
    return { errno: 'EINVAL', message: `${s.nodeName}: a streamOptimized image takes whole new grains only (write of ${data.length} bytes at ${pos})` };
  }
  const slot = slotFor(s, l.meta, pos);
  if ('errno' in slot) return slot;
  const sector = takeClusterSector(e, e.sparse!.clusterSectors);
  if (typeof sector !== 'number') return sector;
  return writeCompressed(e, sector, pos, data, acct) ?? updateL2(e, slot, sector, acct);
}

/** A write to an unallocated (or zeroed) grain: take a new grain, fill it around the data, write, then point the GT at it. */
function allocateGrain(s: VmdkState, e: Extent, l: Lookup, pos: number, inCluster: number, piece: Uint8Array, acct: IoAcct): BlockIoError | null {
  if (l.kind !== 'unalloc' && l.kind !== 'zeroed') return null;
  const slot = slotFor(s, l.meta, pos);
  if ('errno' in slot) return slot;
  const sector = takeClusterSector(e, e.sparse!.clusterSectors);
  if (typeof sector !== 'number') return sector;
  const at = sector * SECTOR;
  const fill = fillGrain(s, e, at, pos - inCluster, inCluster, inCluster + piece.length, l.kind === 'zeroed', acct);
  if (fill) return fill;
  e.file.debugEvent('write_aio');
  return e.file.pwritev(at + inCluster, piece, {}, acct) ?? updateL2(e, slot, sector, acct);
}

export function writeVmdk(s: VmdkState, offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
  const stale = fresh(s);
  if (stale) return stale;
  return perGrain(s, offset, data.length, (e, pos, inCluster, n, done) => {
    const piece = data.subarray(done, done + n);
    let err: BlockIoError | null;
    if (!e.sparse) {
      e.file.debugEvent('write_aio');
      err = e.file.pwritev(e.flatStart + (pos - e.start), piece, {}, acct);
    } else if (e.sparse.compressed) {
      err = writeCompressedGrain(s, e, pos, inCluster, piece, acct);
    } else {
      const l = lookup(e, pos, acct);
      if (l.kind === 'error') return { errno: 'EINVAL', message: `${s.nodeName}: ${l.message}` };
      if (l.kind === 'ok') e.file.debugEvent('write_aio');
      err = l.kind === 'ok' ? e.file.pwritev(l.clusterOffset + inCluster, piece, {}, acct) : allocateGrain(s, e, l, pos, inCluster, piece, acct);
    }
    return err ?? updateCid(s, acct);
  });
}

/** Write-zeroes (and discard, `advisory`: compressed extents are skipped rather than refused). */
export function zeroVmdk(s: VmdkState, offset: number, bytes: number, advisory: boolean, acct: IoAcct): BlockIoError | null {
  const stale = fresh(s);
  if (stale) return stale;
  let zeroBuf = new Uint8Array(0);
  return perGrain(s, offset, bytes, (e, pos, inCluster, n) => {
    if (!e.sparse) return e.file.writeZeroes(e.flatStart + (pos - e.start), n, {}, acct);
    const l = lookup(e, pos, acct);
    if (l.kind === 'error') return { errno: 'EINVAL', message: `${s.nodeName}: ${l.message}` };
    if (l.kind === 'zeroed' || (l.kind === 'unalloc' && !s.backing)) return null;
    if (e.sparse.compressed && advisory) return null;
    if (e.sparse.hasZeroGrain && inCluster === 0 && n === clusterBytes(e)) {
      const slot = slotFor(s, l.meta, pos);
      if ('errno' in slot) return slot;
      return updateL2(e, slot, VMDK_GTE_ZEROED, acct) ?? updateCid(s, acct);
    }
    if (l.kind === 'ok' && !e.sparse.compressed) return e.file.writeZeroes(l.clusterOffset + inCluster, n, {}, acct);
    if (zeroBuf.length < n) zeroBuf = new Uint8Array(n);
    return writeVmdk(s, pos, zeroBuf.subarray(0, n), acct);
  });
}
