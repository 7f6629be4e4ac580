/**
 * One path of a multipath map (struct pgpath in drivers/md/dm-mpath.c, with what
 * multipathd keeps about it in struct path): the SCSI disk it goes through, whether the
 * kernel may use it, and the counts `multipath -ll` and `dmsetup status` print.
 */
import type { Bio } from '../blockdev/bio.js';
import type { EndIo } from '../blockdev/bio-ref.js';
import type { QueueLimits } from '../blockdev/limits.js';
import type { BlkStatus } from '../blockdev/request.js';
import type { Task } from '../kernel/task.js';
import type { ScsiDevice } from '../scsi/device.js';

/** dm's path state: `A` (active) or `F` (failed) in `dmsetup status`. */
export type PathState = 'active' | 'failed';

/** What the map needs of a path's block device (guest/blockdev's BlockDevice has it). */
export interface PathBlockDevice {
  readonly name: string;
  readonly capacitySectors: number;
  readonly limits: QueueLimits;
  /** submit_bio with bi_end_io. */
  submitBioCb(task: Task, bio: Bio, endIo: EndIo): void;
  /** bd_holder: the map that claimed it. */
  holder?: string | undefined;
}

export interface MpathPath {
  /** The SCSI disk's name (sdb). */
  readonly name: string;
  /** Its block device: what the map's bios are cloned onto. */
  readonly bdev: PathBlockDevice;
  /** The SCSI device behind it (for the path checker's TEST UNIT READY). */
  readonly sdev: ScsiDevice | undefined;
  state: PathState;
  /** fail_count: times the kernel failed this path. */
  failCount: number;
  /** Bios out on this path now. */
  inFlight: number;
  /** Bios this path completed (well or not). */
  completed: number;
}

export function newPath(name: string, bdev: PathBlockDevice, sdev?: ScsiDevice): MpathPath {
  return { name, bdev, sdev, state: 'active', failCount: 0, inFlight: 0, completed: 0 };
}

/**
 * blk_path_error (include/linux/blk_types.h): could a path have caused this error, so
 * that the I/O should be retried on another path? Everything but what the logical unit
 * itself answered, which every path would get: not supported, no space, a target or
 * medium error, a reservation conflict, a protection error (guest/scsi/disposition.ts
 * scsiResultToBlkStatus says which). A transport failure, a timeout, a device gone
 * offline or a plain I/O error might be the path's.
 */
export function blkPathError(status: BlkStatus): boolean {
  switch (status) {
    case 'ok':
    case 'notsupp':
    case 'nospc':
    case 'target':
    case 'nexus':
    case 'medium':
    case 'protection':
      return false;
    case 'ioerr':
    case 'resource':
    case 'timeout':
    case 'transport':
      return true;
  }
}
