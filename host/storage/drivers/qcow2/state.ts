/**
 * The qcow2 driver's per-node state (QEMU's BDRVQcow2State, block/qcow2.h): the image's
 * geometry, the active L1 table and the refcount table in memory, the two metadata
 * caches, and what the header holds that the driver must write back unchanged.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import { ioError } from '../../errors.js';
import type { BlockDriverState } from '../../node.js';
import type { TrackedBitmap } from './bitmaps/persist.js';
import type { SnapshotView } from './check/overlap.js';
import type { BitmapsExtension, RawExtension } from './format/extensions.js';
import type { L2Geometry } from './format/l2-entry.js';
import type { Qcow2Cache } from './metadata-cache.js';

/** Why clusters are freed (QEMU's enum qcow2_discard_type): each decides whether the file is told. */
export type DiscardType = 'never' | 'always' | 'request' | 'snapshot' | 'other';

export interface Qcow2State extends L2Geometry {
  readonly nodeName: string;
  /** The image file: header and metadata (and data, unless there is an external data file). */
  readonly file: BlockDriverState;
  /** Where guest clusters live: `file`, or the external data file. */
  readonly dataFile: BlockDriverState;
  readonly hasDataFile: boolean;
  /** data_file_raw: the data file alone is a valid raw image (writes of zeroes go to it too). */
  readonly dataFileRaw: boolean;
  backing: BlockDriverState | undefined;
  readonly readOnly: boolean;

  version: number;
  readonly clusterBits: number;
  readonly clusterSize: number;
  readonly extendedL2: boolean;
  /** L2 entries per table. */
  readonly l2Size: number;
  readonly subclusterBits: number;
  readonly subclusterSize: number;
  readonly subclustersPerCluster: number;
  /** L2 entries per cache slice (l2-cache-entry-size / entry size). */
  readonly l2SliceSize: number;
  readonly refcountOrder: number;
  readonly refcountMax: number;
  /** Refcount entries per refcount block. */
  readonly refblockSize: number;

  /** Virtual disk size in bytes. */
  size: number;
  /** The active L1 table, as stored (big-endian entries). */
  l1: Uint8Array;
  l1View: DataView;
  l1Size: number;
  l1TableOffset: number;
  /** Refcount table entries (refblock offsets, 0 = none). */
  reftable: number[];
  reftableOffset: number;
  maxReftableIndex: number;

  /** Where the search for a free cluster starts (free_cluster_index). */
  freeClusterIndex: number;
  /**
   * Clusters below this index are never allocated: set when a dirty image (lazy
   * refcounts) is opened writable without a repair, so that clusters whose refcounts
   * were never written are not handed out again.
   */
  allocFloor: number;
  /** Leave the dirty bit set on close (the refcounts were not repaired). */
  keepDirty: boolean;
  /** Next free byte in the cluster compressed data was last packed into, 0 if none. */
  freeByteOffset: number;

  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  readonly compressionType: number;
  readonly cryptMethod: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  unknownHeaderFields: Uint8Array;
  unknownExtensions: RawExtension[];
  crypto: { readonly offset: number; readonly length: number } | undefined;
  bitmaps: BitmapsExtension | undefined;
  /** The persistent bitmaps kept up to date while the image is open for writing (bitmaps/persist.ts). */
  persistentBitmaps?: TrackedBitmap[];
  backingFile: string | undefined;
  backingFormat: string | undefined;
  dataFileName: string | undefined;

  readonly l2Cache: Qcow2Cache;
  readonly refcountCache: Qcow2Cache;
  useLazyRefcounts: boolean;
  readonly discardPassthrough: Readonly<Record<DiscardType, boolean>>;
  /**
   * Clusters whose refcount dropped to 0 since the L2 cache was last flushed. The L2
   * entry that stopped using one may not be on disk yet: handing it out again before it
   * is would let a crash leave that entry pointing at someone else's new data.
   */
  readonly freedUnflushed: Set<number>;
  /** Queue freed ranges instead of discarding at once (set during a multi-cluster discard). */
  cacheDiscards: boolean;
  readonly pendingDiscards: Array<{ offset: number; bytes: number }>;
  /** overlap-check: the OL_* sections a write is checked against before it is issued. */
  readonly overlapCheck: number;
  /** The snapshot table as last read or written, for the overlap checks (undefined: not read). */
  snapshotView: SnapshotView | undefined;
  /** The node was found corrupt: every request fails (QEMU sets bs->drv = NULL). */
  broken: string | undefined;
}

/** Offset of `offset` within its cluster. */
export const offsetIntoCluster = (s: Qcow2State, offset: number): number => offset % s.clusterSize;
export const startOfCluster = (s: Qcow2State, offset: number): number => offset - (offset % s.clusterSize);
export const sizeToClusters = (s: Qcow2State, bytes: number): number => Math.ceil(bytes / s.clusterSize);
export const offsetToL1Index = (s: Qcow2State, offset: number): number => Math.floor(offset / s.clusterSize / s.l2Size);
export const offsetToL2Index = (s: Qcow2State, offset: number): number => Math.floor(offset / s.clusterSize) % s.l2Size;
export const offsetToL2SliceIndex = (s: Qcow2State, offset: number): number => Math.floor(offset / s.clusterSize) % s.l2SliceSize;
export const offsetToScIndex = (s: Qcow2State, offset: number): number => Math.floor((offset % s.clusterSize) / s.subclusterSize);

/** The error every request of a broken node completes with. */
export function brokenError(s: Qcow2State): BlockIoError {
  return ioError('ENOMEDIUM', `${s.nodeName}: ${s.broken ?? 'image is corrupt'}`);
}

/** Typed check for the value-or-error results used inside the driver. */
export function isIoError(x: unknown): x is BlockIoError {
  return typeof x === 'object' && x !== null && 'errno' in x;
}
