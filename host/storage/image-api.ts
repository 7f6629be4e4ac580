/**
 * What a format driver offers besides guest I/O: the operations `qemu-img` drives
 * (create with `-o` options, info, check, snapshots, commit, rebase) and the debug events
 * a blkdebug node listens for. Each is an optional field of `BlockDriver`; a driver
 * without it gets qemu-img's message for an unsupported operation.
 *
 * The shapes follow QEMU's: `ImageCheckResult` is BdrvCheckResult
 * (include/block/block_int-common.h), `FormatSpecificInfo` the `format-specific` member
 * of qemu-img's JSON (qapi/block-core.json ImageInfoSpecific), `SnapshotInfo` QEMU's
 * QEMUSnapshotInfo.
 */
import type * as E from 'fp-ts/lib/Either.js';
import type { BlockError } from './errors.js';
import type { BlockDriverState } from './node.js';
import type { BlockEnv } from './driver.js';

/** What `create` may use: the simulation env and the protocol layer under the image. */
export interface CreateContext {
  readonly env: BlockEnv;
  /**
   * Create the protocol file `filename` (file driver: a sparse host file) of `size`
   * bytes and open it read-write and growable as a node of a scratch graph. The caller
   * closes it (`close()`) when done.
   */
  createFile(filename: string, size: number): E.Either<BlockError, BlockDriverState>;
  /**
   * Open an existing image read-only (format probed when `format` is undefined), e.g. a
   * backing file whose size the new image takes. Relative names are taken relative to
   * the current directory; the caller resolves them against the new image first.
   */
  openImage(filename: string, format?: string): E.Either<BlockError, BlockDriverState>;
}

/** qemu-img info's common fields that come from the format (the rest come from the node). */
export interface DriverImageInfo {
  readonly clusterSize?: number;
  readonly dirty?: boolean;
  readonly encrypted?: boolean;
  /** As written in the image (may be relative). */
  readonly backingFilename?: string;
  readonly backingFormat?: string;
  /** qemu-img's "format-specific": { "type": "qcow2", "data": { "compat": "1.1", ... } }. */
  readonly formatSpecific?: FormatSpecificInfo;
}

export interface FormatSpecificInfo {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** qemu-img check -r: what to repair. */
export interface CheckFix {
  readonly leaks: boolean;
  readonly errors: boolean;
}

/** BdrvCheckResult: what check found and fixed. */
export interface ImageCheckResult {
  corruptions: number;
  leaks: number;
  checkErrors: number;
  corruptionsFixed: number;
  leaksFixed: number;
  /** Offset of the first byte after the image's last used cluster (0 if unknown). */
  imageEndOffset: number;
  /** BlockFragInfo */
  allocatedClusters: number;
  totalClusters: number;
  fragmentedClusters: number;
  compressedClusters: number;
  /** What check printed while it ran (qemu-img prints these lines before its summary). */
  readonly messages: string[];
  /**
   * The check itself ended in an error (bdrv_check returned one): its strerror text.
   * qemu-img then prints no summary, only "Check failed: <failed>".
   */
  failed?: string;
}

/** QEMUSnapshotInfo. */
export interface SnapshotInfo {
  readonly id: string;
  readonly name: string;
  readonly vmStateSize: number;
  readonly dateSec: number;
  readonly dateNsec: number;
  readonly vmClockNs: number;
  /** The guest disk size when the snapshot was taken. */
  readonly diskSize: number;
  readonly icount?: number;
}

/** Internal snapshot operations (QEMU's bdrv_snapshot_*). */
export interface SnapshotOps<S> {
  create(s: S, info: Omit<SnapshotInfo, 'id' | 'diskSize'> & { readonly id?: string }): BlockError | null;
  list(s: S): readonly SnapshotInfo[];
  /** Revert the disk to the snapshot named or numbered `idOrName` (qemu-img snapshot -a). */
  goto(s: S, idOrName: string): BlockError | null;
  delete(s: S, id: string | undefined, name: string | undefined): BlockError | null;
  /** bdrv_snapshot_load_tmp: make the node a read-only view of the snapshot's content. */
  loadTmp(s: S, idOrName: string): BlockError | null;
}

/**
 * The named points at which a format driver tells its `file` child what it is about to
 * do (QEMU's BlkdebugEvent, qapi/block-core.json), so that a blkdebug node there can fail
 * the next request. Names as QEMU spells them.
 */
export const BLKDEBUG_EVENTS = [
  'l1_update', 'l1_grow_alloc_table', 'l1_grow_write_table', 'l1_grow_activate_table',
  'l2_load', 'l2_update', 'l2_update_compressed', 'l2_alloc_cow_read', 'l2_alloc_write',
  'read_aio', 'read_backing_aio', 'read_compressed',
  'write_aio', 'write_compressed',
  'vmstate_load', 'vmstate_save',
  'cow_read', 'cow_write',
  'reftable_load', 'reftable_grow', 'reftable_update',
  'refblock_load', 'refblock_update', 'refblock_update_part', 'refblock_alloc',
  'refblock_alloc_hookup', 'refblock_alloc_write', 'refblock_alloc_write_blocks',
  'refblock_alloc_write_table', 'refblock_alloc_switch_table',
  'cluster_alloc', 'cluster_alloc_bytes', 'cluster_free',
  'flush_to_os', 'flush_to_disk',
  'pwritev_rmw_head', 'pwritev_rmw_after_head', 'pwritev_rmw_tail', 'pwritev_rmw_after_tail',
  'pwritev', 'pwritev_zero', 'pwritev_done',
  'empty_image_prepare', 'l1_shrink_write_table', 'l1_shrink_free_l2_clusters',
  'cor_write', 'cluster_alloc_space', 'none',
] as const;

export type BlkdebugEvent = (typeof BLKDEBUG_EVENTS)[number];
