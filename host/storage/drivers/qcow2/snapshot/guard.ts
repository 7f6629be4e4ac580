/**
 * Keeping a snapshot operation failure-safe on disk.
 *
 * Create, goto and delete change refcounts and COPIED flags of whole trees. QEMU 7.2
 * (qcow2_snapshot_create, qcow2_snapshot_goto, qcow2_snapshot_delete) orders the steps
 * so that a failure leaks clusters but never frees one in use: refcounts rise and are
 * synced before the snapshot table (or the active L1) points at the tree, and fall only
 * after nothing points there any more. Between the refcount blocks and the L2 tables,
 * though, no order keeps `qemu-img check` content: a cluster whose refcount reached 2 on
 * disk while its L2 entry still carries COPIED (or the reverse) is a corruption to it,
 * and when every write after the first failed one fails too (a dead disk), that state is
 * what stays. QEMU leaves it for `check -r all`.
 *
 * iopath closes that window with the format's own tool: for the length of the operation a
 * v3 image carries the dirty bit (docs/interop/qcow2.txt: "refcounts may be
 * inconsistent, make sure to scan L1/L2 tables to repair refcounts before accessing the
 * image"), written and synced before the first refcount changes and cleared only once
 * every cache is written back and synced. An operation that fails first tries to bring
 * the disk in line with memory (`settle`); if the disk will not take even that, the image
 * is left dirty, and the next writable open repairs it as QEMU's qcow2_do_open does
 * (refcounts from the trees, then the COPIED flags from the refcounts). A successful operation leaves the
 * header as it was, so the image is byte for byte what QEMU makes. A v2 image has no
 * dirty bit: it keeps QEMU's behaviour. An image already dirty (lazy refcounts) needs
 * nothing more.
 */
import type { BlockIoError } from '../../../block-backend-api.js';
import type { IoAcct } from '../../../driver.js';
import { INCOMPAT_DIRTY } from '../format/features.js';
import { OFF_INCOMPATIBLE_FEATURES } from '../format/header.js';
import { flushCaches, markDirty } from '../header-update.js';
import { metadataOverlapCheck, OL_ACTIVE_L1 } from '../check/overlap.js';
import { isIoError, type Qcow2State } from '../state.js';
import { updateSnapshotRefcount } from './refcount-walk.js';

/** Whether `beginGuard` set the dirty bit (and `endGuard` must clear it). */
type Guard = boolean;

/** Set the dirty bit (synced) unless the image has none or already carries it. */
function beginGuard(s: Qcow2State, acct: IoAcct): Guard | BlockIoError {
  if (s.version < 3 || s.incompatibleFeatures & INCOMPAT_DIRTY) return false;
  return markDirty(s, acct) ?? true;
}

/**
 * Write every cache back, sync, then clear the dirty bit `beginGuard` set. On failure
 * the image stays dirty in memory too (so refcounts keep being treated as lazy, and
 * closing tries again), unless the cleared word itself reached the file: then the
 * caches were already written and the image is clean.
 */
function endGuard(s: Qcow2State, guard: Guard, acct: IoAcct): BlockIoError | null {
  if (!guard || !(s.incompatibleFeatures & INCOMPAT_DIRTY)) return null;
  s.incompatibleFeatures &= ~INCOMPAT_DIRTY;
  let err = flushCaches(s, acct);
  if (err) {
    s.incompatibleFeatures |= INCOMPAT_DIRTY;
    return err;
  }
  const word = new Uint8Array(8);
  new DataView(word.buffer).setBigUint64(0, s.incompatibleFeatures);
  err = s.file.pwritev(OFF_INCOMPATIBLE_FEATURES, word, {}, acct);
  if (err) {
    s.incompatibleFeatures |= INCOMPAT_DIRTY;
    return err;
  }
  return s.file.flush(acct);
}

/**
 * After a failed operation: make the disk say what memory says, so that the dirty bit can
 * go. The active tree's COPIED flags are brought up to date from the refcounts (a walk
 * that ends by writing the caches back), and the active L1 table is written whole (the
 * disk may hold another: goto writes it before its last steps). What remains is leaked
 * clusters at most, which is what QEMU leaves when its own writes succeed.
 */
function settle(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  const err = updateSnapshotRefcount(s, s.l1TableOffset, s.l1Size, 0, acct);
  if (err) return err;
  const bad = metadataOverlapCheck(s, OL_ACTIVE_L1, s.l1TableOffset, s.l1Size * 8, acct);
  if (bad) return bad;
  s.file.debugEvent('l1_update');
  return s.file.pwritev(s.l1TableOffset, s.l1.subarray(0, s.l1Size * 8), {}, acct) ?? s.file.flush(acct);
}

/**
 * Run `op` (a snapshot operation's steps) inside the guard. `onIoError` turns a failure
 * to set the bit into the operation's error. When `op` fails, the disk is settled and the
 * bit cleared if the writes that takes succeed; if not, the image stays dirty until it is
 * next opened (`keepDirty`) and is repaired then. When only clearing the bit fails, the
 * operation stands and the image is repaired later.
 */
export function guarded<E>(s: Qcow2State, acct: IoAcct, onIoError: (e: BlockIoError) => E, op: () => E | null): E | null {
  const g = beginGuard(s, acct);
  if (isIoError(g)) return onIoError(g);
  const err = op();
  if (err && (s.broken || settle(s, acct))) {
    if (s.incompatibleFeatures & INCOMPAT_DIRTY) s.keepDirty = true;
    return err;
  }
  if (endGuard(s, g, acct) && s.incompatibleFeatures & INCOMPAT_DIRTY) s.keepDirty = true;
  return err;
}
