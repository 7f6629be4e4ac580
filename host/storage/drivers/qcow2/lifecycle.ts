/**
 * A node's life after the header is parsed (block/qcow2.c): persistent bitmaps loaded and
 * checked, the writable-open fix-ups (unknown autoclear bits cleared, inconsistent bitmaps
 * dropped, a dirty image repaired), close (caches written back,
 * dirty bit cleared: qcow2_inactivate), and the model's power cut, after which the state
 * is read again from what reached the disk.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { IoAcct } from '../../driver.js';
import type { BlockError } from '../../errors.js';
import type { BlockDriverState } from '../../node.js';
import { loadBitmaps, type LoadedBitmap } from './bitmaps/load.js';
import { storeBitmaps, trackBitmaps } from './bitmaps/persist.js';
import { INCOMPAT_DIRTY } from './format/features.js';
import { flushCaches, markClean, updateHeader } from './header-update.js';
import { attachOverlapChecks, loadState, readImageHeader, type Qcow2Options } from './open.js';
import type { Qcow2State } from './state.js';

/**
 * Repair of a dirty image (refcounts rebuilt from the L1/L2 tables, qemu-img check -r all),
 * installed by the qcow2 checker. Without one, a dirty image opened writable allocates
 * only past the end of the file and stays dirty, so that QEMU repairs it on its next open.
 */
export type DirtyRepair = (s: Qcow2State, acct: IoAcct) => BlockError | null;
let dirtyRepair: DirtyRepair | undefined;

/** The repair installed, if any. */
export function dirtyImageRepair(): DirtyRepair | undefined {
  return dirtyRepair;
}

/** Install (or remove) the repair run when a dirty image is opened writable. */
export function setDirtyImageRepair(fn: DirtyRepair | undefined): void {
  dirtyRepair = fn;
}

/** Checks run on every open once the tables are read (the snapshot table's limits, installed by snapshot/). */
export type OpenCheck = (s: Qcow2State, acct: IoAcct) => BlockError | null;
let openCheck: OpenCheck | undefined;

export function setOpenCheck(fn: OpenCheck | undefined): void {
  openCheck = fn;
}

export interface NodeParams {
  readonly nodeName: string;
  readonly file: BlockDriverState;
  readonly dataFile: BlockDriverState | undefined;
  readonly readOnly: boolean;
  readonly unmap: boolean;
  /** BDRV_O_CHECK (qemu-img check): a corrupt image opens writable, a dirty one is left as it is, the snapshot table is not read. */
  readonly check?: boolean;
  readonly opts: Qcow2Options;
}

/** Parse, load and (when writable) settle an image: the state a node runs on. */
export function openState(p: NodeParams, acct: IoAcct): E.Either<BlockError, Qcow2State> {
  const img = readImageHeader(p.file, !p.readOnly && !p.check, acct);
  if (E.isLeft(img)) return img;
  const st = loadState(p, img.right, acct);
  if (E.isRight(st) && p.check) {
    // qcow2_do_open in check mode: the checker reads the snapshot table itself.
    st.right.nbSnapshots = 0;
    st.right.snapshotsOffset = 0;
  }
  const bad = E.isRight(st) && openCheck && !p.check ? openCheck(st.right, acct) : null;
  if (bad) return E.left(bad);
  if (E.isLeft(st)) return st;
  const s = st.right;
  // Set explicitly: a reload after a power cut copies this state over the old one.
  s.persistentBitmaps = undefined;
  let loaded: LoadedBitmap[] | undefined;
  if (s.bitmaps) {
    // qcow2_load_dirty_bitmaps: consistent bitmaps must load, or the image does not open.
    const l = loadBitmaps({ file: s.file, clusterSize: s.clusterSize, diskSize: s.size }, s.bitmaps, acct);
    if (E.isLeft(l)) return E.left({ _tag: 'DriverError', driver: 'qcow2', message: l.left });
    loaded = l.right;
  }
  if (p.readOnly) return st;
  p.file.growable = true;
  if (p.dataFile) p.dataFile.growable = true;
  // Bitmaps a program without bitmap support left behind are dropped from the header, as QEMU does.
  if (s.autoclearFeatures !== img.right.header.autoclearFeatures || img.right.extensions.bitmapsIgnored) {
    const err = updateHeader(s, acct);
    if (err) return E.left({ _tag: 'DriverError', driver: 'qcow2', message: `Could not update qcow2 header: ${err.message}` });
  }
  if (s.incompatibleFeatures & INCOMPAT_DIRTY && !p.check) {
    if (dirtyRepair) {
      const err = dirtyRepair(s, acct);
      if (err) return E.left(err);
    } else {
      s.allocFloor = Math.ceil(p.file.getLength() / s.clusterSize);
      s.keepDirty = true;
    }
  }
  if (loaded && !p.check) {
    const why = trackBitmaps(s, loaded, acct);
    if (why) return E.left({ _tag: 'DriverError', driver: 'qcow2', message: why });
  }
  return st;
}

/** qcow2_inactivate: store the bitmaps, write the caches back and, unless refcounts were left unrepaired, mark the image clean. */
export function closeState(s: Qcow2State, acct: IoAcct): void {
  if (s.readOnly || s.broken) return;
  // A bitmap that cannot be stored stays marked in use: inconsistent, never wrong.
  storeBitmaps(s, acct);
  const err = flushCaches(s, acct);
  if (!err && !s.keepDirty) markClean(s, acct);
}

/** After a power cut: forget the caches and read the image again from stable storage. */
export function reloadState(s: Qcow2State, p: NodeParams): void {
  s.l2Cache.clear();
  s.refcountCache.clear();
  const fresh = openState(p, { ns: 0 });
  if (E.isLeft(fresh)) {
    s.broken = `image unreadable after power cut: ${fresh.left._tag === 'DriverError' ? fresh.left.message : fresh.left._tag}`;
    return;
  }
  const backing = s.backing;
  Object.assign(s, fresh.right, { backing });
  attachOverlapChecks(s);
}
