/**
 * A virtio-blk disk as a guest block device: the queue limits virtio_blk.c
 * (virtblk_read_limits / virtblk_probe) sets from the device's config, and the block
 * device over the driver's blk-mq core.
 *
 * - max_hw_sectors: UINT_MAX ("no real sector limit"), so max_sectors is the default
 *   cap BLK_DEF_MAX_SECTORS_CAP (2560 sectors, 1280 KiB);
 * - max_segments: seg_max; max_segment_size: unlimited without VIRTIO_BLK_F_SIZE_MAX
 *   (virtio_max_dma_size with no IOMMU restriction);
 * - discard / write-zeroes: supported when negotiated, with QEMU's default
 *   max-discard-sectors / max-write-zeroes-sectors (BDRV_REQUEST_MAX_SECTORS), one
 *   discard segment, granularity one logical block (the driver here does not read those
 *   config fields yet; `limits` overrides them);
 * - write cache: the device's (VIRTIO_BLK_F_FLUSH / CONFIG_WCE); FUA: none (virtio-blk
 *   has no FUA request), so REQ_FUA becomes a flush after the write.
 * - no blk_mq_ops.timeout: an expired request's timer is reset.
 */
import * as B from '../../hw/virtio/blk.js';
import { hasFeature } from '../../hw/virtio/constants.js';
import { BlockDevice } from '../blockdev/block-device.js';
import type { SchedulerName } from '../blockdev/elevator.js';
import { resolveLimits, UINT_MAX, type QueueLimits } from '../blockdev/limits.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { DiskInfo, VirtioBlkDriver } from './virtio-blk.js';

/** BDRV_REQUEST_MAX_SECTORS: QEMU's default max-discard-sectors and max-write-zeroes-sectors. */
export const BDRV_REQUEST_MAX_SECTORS = 4194303;

/** The queue limits of a virtio-blk disk. */
export function virtblkLimits(disk: DiskInfo, overrides: Partial<QueueLimits> = {}): QueueLimits {
  const has = (bit: number): boolean => hasFeature(disk.features, bit);
  return resolveLimits({
    logicalBlockSize: disk.logicalBlockSize,
    physicalBlockSize: disk.physicalBlockSize,
    maxHwSectors: UINT_MAX,
    maxSegments: disk.maxSegments,
    maxSegmentSize: UINT_MAX,
    maxDiscardSectors: has(B.VIRTIO_BLK_F_DISCARD) ? BDRV_REQUEST_MAX_SECTORS : 0,
    maxDiscardSegments: 1,
    discardGranularity: disk.logicalBlockSize,
    maxWriteZeroesSectors: has(B.VIRTIO_BLK_F_WRITE_ZEROES) ? BDRV_REQUEST_MAX_SECTORS : 0,
    writeCache: disk.writeCache,
    fua: false,
    ...overrides,
  });
}

export interface VirtblkDeviceOptions {
  /** Default: elevator_get_default (mq-deadline with one queue, none with several). */
  scheduler?: SchedulerName;
  /** Request timeout in ms (default 30 000). */
  timeoutMs?: number;
  /** Override limits (e.g. what the device's config says about discard). */
  limits?: Partial<QueueLimits>;
}

/** The block device (/dev/vdX) over a probed virtio-blk driver. */
export function virtblkBlockDevice(k: GuestKernel, drv: VirtioBlkDriver, opts: VirtblkDeviceOptions = {}): BlockDevice {
  return new BlockDevice(k, {
    name: drv.disk.name,
    capacitySectors: drv.disk.capacitySectors,
    limits: virtblkLimits(drv.disk, opts.limits),
    blk: drv.blk,
    ops: drv,
    scheduler: opts.scheduler,
    timeoutMs: opts.timeoutMs,
  });
}
