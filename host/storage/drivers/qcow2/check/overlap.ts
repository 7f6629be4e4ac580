/**
 * Metadata overlap checks (block/qcow2-refcount.c qcow2_check_metadata_overlap and
 * qcow2_pre_write_overlap_check): before writing to the image file, make sure the range
 * does not hit the header, an L1, L2 or refcount table or block, or the snapshot table,
 * without trusting the refcounts. A write that would is refused and the image is marked
 * corrupt ("Preventing invalid write on metadata (overlaps with ...)").
 *
 * QEMU's default set ('cached') leaves out the inactive L2 tables, which would have to
 * be read from disk; `OL_ALL` includes them.
 */
import type { BlockIoError } from '../../../block-backend-api.js';
import type { IoAcct } from '../../../driver.js';
import { l1Offset } from '../format/l2-entry.js';
import { signalCorruption } from '../header-update.js';
import type { Qcow2State } from '../state.js';
import { isIoError } from '../state.js';

export const OL_MAIN_HEADER = 1 << 0;
export const OL_ACTIVE_L1 = 1 << 1;
export const OL_ACTIVE_L2 = 1 << 2;
export const OL_REFCOUNT_TABLE = 1 << 3;
export const OL_REFCOUNT_BLOCK = 1 << 4;
export const OL_SNAPSHOT_TABLE = 1 << 5;
export const OL_INACTIVE_L1 = 1 << 6;
export const OL_INACTIVE_L2 = 1 << 7;
export const OL_BITMAP_DIRECTORY = 1 << 8;
export const OL_ALL = (1 << 9) - 1;
/** overlap-check=constant: the checks that take constant time. */
export const OL_CONSTANT = OL_MAIN_HEADER | OL_ACTIVE_L1 | OL_REFCOUNT_TABLE | OL_SNAPSHOT_TABLE | OL_BITMAP_DIRECTORY;
/** overlap-check=cached, QEMU's default: every check that needs no disk access. */
export const OL_CACHED = OL_CONSTANT | OL_ACTIVE_L2 | OL_REFCOUNT_BLOCK | OL_INACTIVE_L1;

/** QEMU's overlap-check templates (qcow2.c overlap_check_templates) by name. */
export function overlapTemplate(name: string | undefined): number {
  if (name === 'none') return 0;
  if (name === 'constant') return OL_CONSTANT;
  if (name === 'all') return OL_ALL;
  return OL_CACHED;
}

const NAMES = [
  'qcow2_header',
  'active L1 table',
  'active L2 table',
  'refcount table',
  'refcount block',
  'snapshot table',
  'inactive L1 table',
  'inactive L2 table',
  'bitmap directory',
];

/** The snapshot table a check needs: where each entry's L1 table is, and the table's size in bytes. */
export interface SnapshotView {
  readonly list: readonly { readonly l1TableOffset: number; readonly l1Size: number }[];
  readonly size: number;
}

const NO_SNAPSHOTS: SnapshotView = { list: [], size: 0 };

const overlaps = (a: number, an: number, b: number, bn: number): boolean => an > 0 && bn > 0 && a < b + bn && b < a + an;

/**
 * qcow2_check_metadata_overlap: the first metadata section (an OL_* bit) that
 * [offset, offset + size) touches, 0 if none, or an error from reading an inactive L1.
 */
export function checkMetadataOverlap(
  s: Qcow2State,
  chk: number,
  offset: number,
  size: number,
  snapshots: SnapshotView,
  acct: IoAcct,
): number | BlockIoError {
  if (size <= 0) return 0;
  const cs = s.clusterSize;
  if (chk & OL_MAIN_HEADER && offset < cs) return OL_MAIN_HEADER;
  const start = offset - (offset % cs);
  const len = Math.ceil(((offset % cs) + size) / cs) * cs;
  if (chk & OL_ACTIVE_L1 && s.l1Size && overlaps(start, len, s.l1TableOffset, s.l1Size * 8)) return OL_ACTIVE_L1;
  if (chk & OL_REFCOUNT_TABLE && s.reftable.length && overlaps(start, len, s.reftableOffset, s.reftable.length * 8)) return OL_REFCOUNT_TABLE;
  if (chk & OL_SNAPSHOT_TABLE && snapshots.size && overlaps(start, len, s.snapshotsOffset, snapshots.size)) return OL_SNAPSHOT_TABLE;
  if (chk & OL_INACTIVE_L1) for (const sn of snapshots.list) if (sn.l1Size && overlaps(start, len, sn.l1TableOffset, sn.l1Size * 8)) return OL_INACTIVE_L1;
  if (chk & OL_ACTIVE_L2) {
    for (let i = 0; i < s.l1Size; i++) {
      const l2 = l1Offset(s.l1View, i);
      if (l2 && overlaps(start, len, l2, cs)) return OL_ACTIVE_L2;
    }
  }
  if (chk & OL_REFCOUNT_BLOCK) for (let i = 0; i <= s.maxReftableIndex && i < s.reftable.length; i++) if (s.reftable[i] && overlaps(start, len, s.reftable[i], cs)) return OL_REFCOUNT_BLOCK;
  if (chk & OL_INACTIVE_L2) {
    for (const sn of snapshots.list) {
      if (!sn.l1Size || sn.l1Size > 32 * 1024 * 1024 / 8 || sn.l1TableOffset % cs) continue;
      const l1 = new Uint8Array(sn.l1Size * 8);
      const err = s.file.preadv(sn.l1TableOffset, l1, acct);
      if (err) return err;
      const v = new DataView(l1.buffer);
      for (let j = 0; j < sn.l1Size; j++) {
        const l2 = l1Offset(v, j);
        if (l2 && overlaps(start, len, l2, cs)) return OL_INACTIVE_L2;
      }
    }
  }
  if (chk & OL_BITMAP_DIRECTORY && s.bitmaps && s.autoclearFeatures & 1n && overlaps(start, len, s.bitmaps.directoryOffset, s.bitmaps.directorySize)) return OL_BITMAP_DIRECTORY;
  return 0;
}

/**
 * qcow2_pre_write_overlap_check: null when the write may go ahead; otherwise the image
 * is marked corrupt and the error returned. `ign` names the sections the write is meant
 * to touch.
 */
export function preWriteOverlapCheck(
  s: Qcow2State,
  ign: number,
  offset: number,
  size: number,
  snapshots: SnapshotView,
  acct: IoAcct,
  chk: number = s.overlapCheck,
): BlockIoError | null {
  if (!(chk & ~ign)) return null;
  const r = checkMetadataOverlap(s, chk & ~ign, offset, size, snapshots, acct);
  if (isIoError(r)) return r;
  if (r === 0) return null;
  const name = NAMES[31 - Math.clz32(r & -r)];
  return signalCorruption(s, true, `Preventing invalid write on metadata (overlaps with ${name})`, acct);
}

/**
 * The check before a write of the driver's own (an L1 table, a cache entry written
 * back, guest data): against the node's overlap-check template and the snapshot table
 * as last read or written (`s.snapshotView`).
 */
export function metadataOverlapCheck(s: Qcow2State, ign: number, offset: number, size: number, acct: IoAcct): BlockIoError | null {
  if (!(s.overlapCheck & ~ign)) return null;
  return preWriteOverlapCheck(s, ign, offset, size, s.snapshotView ?? NO_SNAPSHOTS, acct);
}
