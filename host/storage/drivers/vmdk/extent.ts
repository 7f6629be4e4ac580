/**
 * One extent of a VMDK disk: a window of the guest disk stored in one file, flat (bytes
 * as they are, from a start offset) or sparse (grain directory → grain tables → grains).
 * QEMU's VmdkExtent and get_cluster_offset / vmdk_L2update / vmdk_read_extent /
 * vmdk_write_extent.
 *
 * Grain tables are cached, 16 per extent, least-used out (L2_CACHE_SIZE). Table updates
 * are written through (both directories' tables) and the file is flushed after each, as
 * QEMU does. A table or grain the image places past the end of its file is an error, never
 * a read of whatever lies there. The blkdebug events are QEMU's (l2_load, l2_update,
 * read_compressed, write_compressed; io.ts: read_aio, write_aio, read_backing_aio,
 * cow_read, cow_write).
 */
import * as zlib from 'node:zlib';
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import type { BlockDriverState } from '../../node.js';
import { GRAIN_MARKER_SIZE, SECTOR, VMDK_GTE_ZEROED, type SparseLayout } from './header.js';

const L2_CACHE_SIZE = 16;
/** GT entries are u32 sectors: grains cannot be placed at or past 2^32 sectors. */
const VMDK_EXTENT_MAX_SECTORS = 2 ** 32;

export interface Extent {
  readonly file: BlockDriverState;
  /** The descriptor's extent type ('SPARSE', 'FLAT', …); undefined for a monolithic sparse file. */
  readonly type: string | undefined;
  readonly sectors: number;
  /** Byte offset of the extent in the disk. */
  readonly start: number;
  /** Flat extents: byte offset of the extent's data in its file. */
  readonly flatStart: number;
  /** Sparse extents: the geometry from the header; undefined for flat ones. */
  readonly sparse: SparseLayout | undefined;
  l1: Uint32Array;
  l1Backup: Uint32Array | undefined;
  readonly cache: Map<number, { table: Uint32Array; count: number }>;
  /** Where the next grain goes (sectors): the file's end rounded up to a grain, then onward. */
  nextClusterSector: number;
}

export const clusterBytes = (e: Extent): number => (e.sparse ? e.sparse.clusterSectors * SECTOR : e.sectors * SECTOR);

/** Where a guest byte lives in a sparse extent, and what an allocation must update. */
export type Lookup =
  | { readonly kind: 'ok'; readonly clusterOffset: number; readonly meta: L2Slot }
  | { readonly kind: 'unalloc' | 'zeroed'; readonly meta: L2Slot | undefined }
  | { readonly kind: 'error'; readonly message: string };

export interface L2Slot {
  readonly l1Index: number;
  readonly l2Index: number;
  /** Sector of the grain table. */
  readonly l2Offset: number;
  readonly table: Uint32Array;
}

const err = (message: string): BlockIoError => ({ errno: 'EIO', message });

/** Read a u32 LE table of `count` entries at byte `at`, which must lie inside the file. */
export function readTable(file: BlockDriverState, at: number, count: number, what: string, acct: IoAcct): Uint32Array | string {
  const bytes = count * 4;
  const len = file.getLength();
  if (at + bytes > len) return `${what} (${bytes} bytes at offset ${at}) is past the end of the file (${len} bytes)`;
  const b = new Uint8Array(bytes);
  const e = bytes > 0 ? file.preadv(at, b, acct) : null;
  if (e) return `Could not read ${what}: ${e.message}`;
  const dv = new DataView(b.buffer);
  const t = new Uint32Array(count);
  for (let i = 0; i < count; i++) t[i] = dv.getUint32(i * 4, true);
  return t;
}

function loadL2(e: Extent, l2Offset: number, acct: IoAcct): Uint32Array | string {
  const hit = e.cache.get(l2Offset);
  if (hit) {
    hit.count++;
    return hit.table;
  }
  e.file.debugEvent('l2_load');
  const t = readTable(e.file, l2Offset * SECTOR, e.sparse!.l2Size, `grain table at sector ${l2Offset}`, acct);
  if (typeof t === 'string') return t;
  if (e.cache.size >= L2_CACHE_SIZE) {
    let victim = -1;
    let min = Infinity;
    for (const [k, v] of e.cache) if (v.count < min) [victim, min] = [k, v.count];
    e.cache.delete(victim);
  }
  e.cache.set(l2Offset, { table: t, count: 1 });
  return t;
}

/** get_cluster_offset without allocation, for a guest byte offset inside sparse extent `e`. */
export function lookup(e: Extent, offset: number, acct: IoAcct): Lookup {
  const sp = e.sparse!;
  const sector = Math.floor((offset - e.start) / SECTOR);
  const l1Index = Math.floor(sector / (sp.l2Size * sp.clusterSectors));
  if (l1Index >= sp.l1Size) return { kind: 'error', message: `grain directory index ${l1Index} is out of range (${sp.l1Size} entries)` };
  const l2Offset = e.l1[l1Index];
  if (l2Offset === 0) return { kind: 'unalloc', meta: undefined };
  const table = loadL2(e, l2Offset, acct);
  if (typeof table === 'string') return { kind: 'error', message: table };
  const l2Index = Math.floor(sector / sp.clusterSectors) % sp.l2Size;
  const meta = { l1Index, l2Index, l2Offset, table };
  const entry = table[l2Index];
  if (sp.hasZeroGrain && entry === VMDK_GTE_ZEROED) return { kind: 'zeroed', meta };
  if (entry === 0) return { kind: 'unalloc', meta };
  const clusterOffset = entry * SECTOR;
  if (clusterOffset >= e.file.getLength()) return { kind: 'error', message: `grain at sector ${entry} points after the end of the file` };
  return { kind: 'ok', clusterOffset, meta };
}

/** vmdk_L2update: set a GT entry in the table and its redundant copy, then flush the file. */
export function updateL2(e: Extent, m: L2Slot, value: number, acct: IoAcct): BlockIoError | null {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  e.file.debugEvent('l2_update');
  let w = e.file.pwritev(m.l2Offset * SECTOR + m.l2Index * 4, b, {}, acct);
  if (w) return w;
  const backup = e.l1Backup?.[m.l1Index] ?? 0;
  if (backup !== 0) {
    w = e.file.pwritev(backup * SECTOR + m.l2Index * 4, b, {}, acct);
    if (w) return w;
  }
  w = e.file.flush(acct);
  if (w) return w;
  m.table[m.l2Index] = value >>> 0;
  return null;
}

/** The next free grain position (sectors), advancing it by `sectors`; an error past 2^32 sectors. */
export function takeClusterSector(e: Extent, sectors: number): number | BlockIoError {
  if (e.nextClusterSector >= VMDK_EXTENT_MAX_SECTORS) return err(`VMDK extent is full: no grain can be placed at sector ${e.nextClusterSector}`);
  const at = e.nextClusterSector;
  e.nextClusterSector += sectors;
  return at;
}

/** vmdk_read_extent for a compressed grain: marker (if any), then zlib data. */
export function readCompressed(e: Extent, clusterOffset: number, inCluster: number, dst: Uint8Array, acct: IoAcct): BlockIoError | null {
  const cb = clusterBytes(e);
  const buf = new Uint8Array(cb * 2);
  e.file.debugEvent('read_compressed');
  const r = e.file.preadv(clusterOffset, buf, acct);
  if (r) return r;
  let data = buf.subarray(0, cb);
  if (e.sparse!.hasMarker) {
    const size = new DataView(buf.buffer).getUint32(8, true);
    if (size === 0 || size > buf.length - GRAIN_MARKER_SIZE) return { errno: 'EINVAL', message: `compressed grain at offset ${clusterOffset} has a bad size ${size}` };
    data = buf.subarray(GRAIN_MARKER_SIZE, GRAIN_MARKER_SIZE + size);
  }
  let plain: Uint8Array;
  try {
    plain = zlib.inflateSync(data, { maxOutputLength: cb });
  } catch (x) {
    return { errno: 'EINVAL', message: `compressed grain at offset ${clusterOffset} does not inflate: ${(x as Error).message}` };
  }
  if (inCluster + dst.length > plain.length) return { errno: 'EINVAL', message: `compressed grain at offset ${clusterOffset} holds ${plain.length} bytes, fewer than read` };
  dst.set(plain.subarray(inCluster, inCluster + dst.length));
  return null;
}

/** vmdk_write_extent for a compressed extent: one grain marker + deflated data at `sector`. */
export function writeCompressed(e: Extent, sector: number, diskOffset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
  const z = zlib.deflateSync(data);
  const out = new Uint8Array(GRAIN_MARKER_SIZE + z.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(Math.floor(diskOffset / SECTOR)), true);
  dv.setUint32(8, z.length, true);
  out.set(z, GRAIN_MARKER_SIZE);
  e.file.debugEvent('write_compressed');
  const w = e.file.pwritev(sector * SECTOR, out, {}, acct);
  e.nextClusterSector = Math.ceil((sector * SECTOR + out.length) / SECTOR);
  return w;
}
