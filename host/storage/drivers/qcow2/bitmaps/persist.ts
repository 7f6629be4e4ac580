/**
 * Keeping persistent bitmaps true while the image is written (block/qcow2-bitmap.c):
 *
 * - on a writable open (qcow2_load_dirty_bitmaps): each consistent bitmap's data is read
 *   into memory and the bitmap marked in_use in the directory, rewritten in place with the
 *   autoclear bit cleared around the write (update_ext_header_and_dir_in_place), before
 *   anything else is written;
 * - each guest write, write-zeroes and discard sets the bits of the enabled ('auto')
 *   bitmaps (bdrv_set_dirty);
 * - on close (qcow2_store_persistent_dirty_bitmaps): each bitmap is stored in new clusters
 *   (data, then table), a new directory written and the header pointed at it, then the old
 *   directory and tables freed. A bitmap found in_use on open was inconsistent and stays so.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../../block-backend-api.js';
import type { IoAcct } from '../../../driver.js';
import { ioError } from '../../../errors.js';
import { preWriteOverlapCheck, OL_BITMAP_DIRECTORY } from '../check/overlap.js';
import { AUTOCLEAR_BITMAPS } from '../format/features.js';
import { flushCaches, updateHeader } from '../header-update.js';
import { allocClusters, freeClusters } from '../refcounts.js';
import { isIoError, type Qcow2State } from '../state.js';
import type { DirtyBitmap } from './dirty.js';
import { bitmapName, BME_FLAG_AUTO, BME_FLAG_IN_USE, BME_MAX_PHYS_SIZE, BME_MAX_TABLE_SIZE, encodeDirectory, encodeTable, type BitmapDirEntry } from './format.js';
import { loadBitmapData, type LoadedBitmap } from './load.js';
import { loadBitmapTable } from './read.js';

/** One bitmap of the directory while the image is open for writing. */
export interface TrackedBitmap {
  /** Its directory entry as on disk now. */
  readonly entry: BitmapDirEntry;
  /** Its data in memory; undefined for a bitmap that was in use (inconsistent) when opened. */
  readonly bitmap: DirtyBitmap | undefined;
}

const NO_SNAPSHOTS = { list: [], size: 0 };
const img = (s: Qcow2State) => ({ file: s.file, clusterSize: s.clusterSize, diskSize: s.size });

/** update_header_sync. */
const headerSync = (s: Qcow2State, acct: IoAcct): BlockIoError | null => updateHeader(s, acct) ?? s.file.flush(acct);

/**
 * Writable open: load the consistent bitmaps and mark them in use on disk. Returns the
 * message the open fails with (QEMU's), or null.
 */
export function trackBitmaps(s: Qcow2State, loaded: readonly LoadedBitmap[], acct: IoAcct): string | null {
  const list: TrackedBitmap[] = [];
  for (const l of loaded) {
    if (!l.table) {
      list.push({ entry: l.entry, bitmap: undefined });
      continue;
    }
    const bm = loadBitmapData(img(s), l, acct);
    if (isIoError(bm)) return `Could not read bitmap '${bitmapName(l.entry)}' from image: ${bm.message}`;
    list.push({ entry: { ...l.entry, flags: l.entry.flags | BME_FLAG_IN_USE }, bitmap: bm });
  }
  if (list.some((t) => t.bitmap)) {
    const err = rewriteDirectoryInPlace(s, list.map((t) => t.entry), acct);
    if (err) return `Can't update bitmap directory: ${err}`;
  }
  s.persistentBitmaps = list;
  return null;
}

/** update_ext_header_and_dir_in_place: the directory rewritten where it is, the autoclear bit clear meanwhile. */
function rewriteDirectoryInPlace(s: Qcow2State, entries: readonly BitmapDirEntry[], acct: IoAcct): string | null {
  const ext = s.bitmaps;
  const dir = encodeDirectory(entries);
  if (!ext || !(s.autoclearFeatures & AUTOCLEAR_BITMAPS) || dir.length !== ext.directorySize) return 'Invalid argument';
  s.autoclearFeatures &= ~AUTOCLEAR_BITMAPS;
  const err =
    headerSync(s, acct) ??
    preWriteOverlapCheck(s, OL_BITMAP_DIRECTORY, ext.directoryOffset, dir.length, s.snapshotView ?? NO_SNAPSHOTS, acct) ??
    s.file.pwritev(ext.directoryOffset, dir, {}, acct) ??
    headerSync(s, acct);
  if (err) return err.message;
  s.autoclearFeatures |= AUTOCLEAR_BITMAPS;
  return headerSync(s, acct)?.message ?? null;
}

/** qcow2_truncate_bitmaps_check: a disk with a bitmap that was in use (inconsistent) when opened is not resized. */
export function truncateBitmapsCheck(s: Qcow2State): BlockIoError | null {
  const t = s.persistentBitmaps?.find((b) => !b.bitmap);
  if (!t) return null;
  return ioError('ENOTSUP', `${s.nodeName}: Bitmap '${bitmapName(t.entry)}' is inconsistent and cannot be used\nTry block-dirty-bitmap-remove to delete this bitmap from disk`);
}

/** After the disk was resized: every bitmap follows (QEMU's bdrv_dirty_bitmap_truncate). */
export function resizeBitmaps(s: Qcow2State, diskSize: number): void {
  for (const t of s.persistentBitmaps ?? []) t.bitmap?.resize(diskSize);
}

/** bdrv_set_dirty: disk bytes [offset, offset + bytes) were written. */
export function markWritten(s: Qcow2State, offset: number, bytes: number): void {
  for (const t of s.persistentBitmaps ?? []) t.bitmap?.markDirty(offset, bytes);
}

/** Write `data` into newly allocated clusters (checked against the metadata first); their offset. */
function writeNew(s: Qcow2State, data: Uint8Array, allocated: Array<[number, number]>, acct: IoAcct): number | BlockIoError {
  const off = allocClusters(s, data.length, acct);
  if (isIoError(off)) return off;
  allocated.push([off, data.length]);
  return preWriteOverlapCheck(s, 0, off, data.length, s.snapshotView ?? NO_SNAPSHOTS, acct) ?? s.file.pwritev(off, data, {}, acct) ?? off;
}

/** store_bitmap: data clusters, then the table; the new entry. */
function storeOne(s: Qcow2State, t: TrackedBitmap, bm: DirtyBitmap, allocated: Array<[number, number]>, acct: IoAcct): BitmapDirEntry | BlockIoError {
  const n = bm.chunkCount;
  if (n > BME_MAX_TABLE_SIZE || n * s.clusterSize > BME_MAX_PHYS_SIZE) return ioError('EINVAL', `Bitmap '${bitmapName(t.entry)}' is too big`);
  const offsets = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const data = bm.stored(i);
    if (!data) continue;
    const off = writeNew(s, data, allocated, acct);
    if (isIoError(off)) return off;
    offsets[i] = off;
  }
  const tableOffset = writeNew(s, encodeTable(offsets), allocated, acct);
  if (isIoError(tableOffset)) return tableOffset;
  return { ...t.entry, tableOffset, tableSize: n, flags: bm.enabled ? BME_FLAG_AUTO : 0 };
}

/** free_bitmap_clusters: a table that is no longer used, and the data clusters it points at. */
function freeTable(s: Qcow2State, e: BitmapDirEntry, acct: IoAcct): void {
  const table = loadBitmapTable(img(s), e, acct);
  if (E.isLeft(table)) return;
  for (let i = 0; i < table.right.inFile; i++) {
    const off = table.right.entry(i)?.offset;
    if (off) freeClusters(s, off, s.clusterSize, 'always', acct);
  }
  freeClusters(s, e.tableOffset, e.tableSize * 8, 'other', acct);
}

/**
 * Close: store every bitmap loaded for writing (qcow2_store_persistent_dirty_bitmaps). On a
 * failure what was allocated is freed and the bitmaps stay in use on disk (inconsistent).
 */
export function storeBitmaps(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  const list = s.persistentBitmaps;
  s.persistentBitmaps = undefined;
  const old = s.bitmaps;
  if (!list || !old || !list.some((t) => t.bitmap)) return null;
  const allocated: Array<[number, number]> = [];
  const fail = (err: BlockIoError): BlockIoError => {
    for (const [off, len] of allocated) freeClusters(s, off, len, 'other', acct);
    return err;
  };
  const entries: BitmapDirEntry[] = [];
  for (const t of list) {
    const e = t.bitmap ? storeOne(s, t, t.bitmap, allocated, acct) : t.entry;
    if (isIoError(e)) return fail(e);
    entries.push(e);
  }
  // update_ext_header_and_dir: the new directory, then the header pointing at it.
  const dir = encodeDirectory(entries);
  const dirOffset = writeNew(s, dir, allocated, acct);
  if (isIoError(dirOffset)) return fail(dirOffset);
  const ferr = flushCaches(s, acct);
  if (ferr) return fail(ferr);
  const before = s.autoclearFeatures;
  s.bitmaps = { nbBitmaps: entries.length, directorySize: dir.length, directoryOffset: dirOffset };
  s.autoclearFeatures |= AUTOCLEAR_BITMAPS;
  const herr = headerSync(s, acct);
  if (herr) {
    s.bitmaps = old;
    s.autoclearFeatures = before;
    return fail(herr);
  }
  freeClusters(s, old.directoryOffset, old.directorySize, 'other', acct);
  list.forEach((t) => t.bitmap && freeTable(s, t.entry, acct));
  return null;
}
