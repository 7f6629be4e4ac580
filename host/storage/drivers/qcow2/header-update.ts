/**
 * Rewriting the header and its state bits (block/qcow2.c): qcow2_update_header,
 * qcow2_mark_dirty / _clean / _corrupt, qcow2_signal_corruption, and the cache write-back
 * that flushing and closing share.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { INCOMPAT_CORRUPT, INCOMPAT_DIRTY } from './format/features.js';
import { encodeHeaderCluster, OFF_INCOMPATIBLE_FEATURES } from './format/header.js';
import type { Qcow2State } from './state.js';

/** qcow2_update_header: write the whole first cluster from the state. */
export function updateHeader(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  const enc = encodeHeaderCluster(
    {
      header: {
        version: s.version,
        clusterBits: s.clusterBits,
        size: s.size,
        cryptMethod: s.cryptMethod,
        l1Size: s.l1Size,
        l1TableOffset: s.l1TableOffset,
        refcountTableOffset: s.reftableOffset,
        refcountTableClusters: (s.reftable.length * 8) / s.clusterSize,
        nbSnapshots: s.nbSnapshots,
        snapshotsOffset: s.snapshotsOffset,
        incompatibleFeatures: s.incompatibleFeatures,
        compatibleFeatures: s.compatibleFeatures,
        autoclearFeatures: s.autoclearFeatures,
        refcountOrder: s.refcountOrder,
        compressionType: s.compressionType,
      },
      unknownHeaderFields: s.unknownHeaderFields,
      backingFile: s.backingFile,
      backingFormat: s.backingFormat,
      dataFile: s.hasDataFile ? s.dataFileName : undefined,
      crypto: s.crypto,
      bitmaps: s.bitmaps,
      unknownExtensions: s.unknownExtensions,
    },
    s.clusterSize,
  );
  if (enc._tag === 'Left') return ioError('ENOSPC', `${s.nodeName}: ${enc.left}`);
  return s.file.pwritev(0, enc.right, {}, acct);
}

/** Refcounts on disk must be kept exact (not deferred by lazy refcounts). */
export const needAccurateRefcounts = (s: Qcow2State): boolean => (s.incompatibleFeatures & INCOMPAT_DIRTY) === 0n;

/** qcow2_write_caches: L2 tables (after the refblocks they depend on), then refblocks. */
export function writeCaches(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  const err = s.l2Cache.write(acct);
  if (err) return err;
  return needAccurateRefcounts(s) ? s.refcountCache.write(acct) : null;
}

/** qcow2_flush_caches: write them back and sync the file. */
export function flushCaches(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  const err = writeCaches(s, acct) ?? s.file.flush(acct);
  if (!err) s.freedUnflushed.clear();
  return err;
}

/** qcow2_mark_dirty: set the dirty bit on disk (synced) before the first lazy refcount update. */
export function markDirty(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  if (s.incompatibleFeatures & INCOMPAT_DIRTY) return null;
  const word = new Uint8Array(8);
  new DataView(word.buffer).setBigUint64(0, s.incompatibleFeatures | INCOMPAT_DIRTY);
  const err = s.file.pwritev(OFF_INCOMPATIBLE_FEATURES, word, {}, acct) ?? s.file.flush(acct);
  if (err) return err;
  s.incompatibleFeatures |= INCOMPAT_DIRTY;
  return null;
}

/** qcow2_mark_clean: write every cache back, then clear the dirty bit. */
export function markClean(s: Qcow2State, acct: IoAcct): BlockIoError | null {
  if (!(s.incompatibleFeatures & INCOMPAT_DIRTY)) return null;
  s.incompatibleFeatures &= ~INCOMPAT_DIRTY;
  return flushCaches(s, acct) ?? updateHeader(s, acct);
}

/**
 * qcow2_signal_corruption: `fatal` marks the image corrupt on disk (when writable) and
 * makes the node unusable. Returns the error the request fails with.
 */
export function signalCorruption(s: Qcow2State, fatal: boolean, message: string, acct: IoAcct): BlockIoError {
  if (fatal && !s.broken) {
    const text = s.readOnly
      ? `qcow2: Image is corrupt: ${message}; further non-fatal corruption events will be suppressed`
      : `qcow2: Marking image as corrupt: ${message}; further corruption events will be suppressed`;
    if (!s.readOnly) {
      // Synced, so that the mark survives a power cut that follows (QEMU 7.2's
      // qcow2_mark_corrupt leaves that to whatever flushes the file next).
      s.incompatibleFeatures |= INCOMPAT_CORRUPT;
      if (!updateHeader(s, acct)) s.file.flush(acct);
    }
    s.broken = text;
    return ioError('EIO', `${s.nodeName}: ${text}`);
  }
  return ioError('EIO', `${s.nodeName}: qcow2: ${message}`);
}

/** `%#x` as QEMU prints it. */
export const hex = (n: number): string => (n === 0 ? '0' : `0x${n.toString(16)}`);
