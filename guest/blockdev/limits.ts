/**
 * Queue limits (struct queue_limits, block/blk-settings.c): what the driver says its
 * device can take in one request, and the defaults Linux fills in. Bios are split to
 * these limits before they become requests, and merges never grow a request past them.
 */
import { SECTOR_SHIFT, type BioOp } from './bio.js';

/** BLK_DEF_MAX_SECTORS_CAP: max_sectors defaults to at most 2560 sectors (1280 KiB). */
export const BLK_DEF_MAX_SECTORS_CAP = 2560;
/** BLK_MAX_SEGMENT_SIZE: the max_segment_size a driver that says nothing gets (64 KiB). */
export const BLK_MAX_SEGMENT_SIZE = 65536;
/** BLK_MAX_SEGMENTS: the max_segments a driver that says nothing gets. */
export const BLK_MAX_SEGMENTS = 128;
/** UINT_MAX: "no limit" as drivers write it (virtio-blk's max_hw_sectors). */
export const UINT_MAX = 0xffff_ffff;

export interface QueueLimits {
  /** Bytes; every bio's offset and length are multiples of it. */
  logicalBlockSize: number;
  physicalBlockSize: number;
  /** Sectors per read/write request (max_sectors_kb × 2): min(maxHwSectors, BLK_DEF_MAX_SECTORS_CAP) by default. */
  maxSectors: number;
  /** Sectors the device takes at most (max_hw_sectors_kb × 2). */
  maxHwSectors: number;
  /** Data segments per request. */
  maxSegments: number;
  /** Bytes per data segment. */
  maxSegmentSize: number;
  /** Sectors per discard request; 0: the device cannot discard (BLK_STS_NOTSUPP). */
  maxDiscardSectors: number;
  /** Ranges per discard request (1: discards merge only when contiguous). */
  maxDiscardSegments: number;
  /** Bytes; discards are split on this boundary. */
  discardGranularity: number;
  /** Sectors per write-zeroes request; 0: not supported. */
  maxWriteZeroesSectors: number;
  /** The device has a volatile write cache (QUEUE_FLAG_WC): PREFLUSH and FUA mean something. */
  writeCache: boolean;
  /** The device honours FUA itself (QUEUE_FLAG_FUA); else FUA becomes a flush after the write. */
  fua: boolean;
}

/** What a driver declares; everything else gets Linux's default (blk_set_default_limits + blk_validate_limits). */
export type DriverLimits = Partial<QueueLimits> & { logicalBlockSize: number };

/** Fill in Linux's defaults and validate: max_sectors is capped and aligned down to the logical block size. */
export function resolveLimits(d: DriverLimits): QueueLimits {
  const lbs = d.logicalBlockSize;
  if (!(lbs >= 512 && (lbs & (lbs - 1)) === 0)) throw new Error(`queue limits: logical block size ${lbs} is not a power of two >= 512`);
  const lbsSectors = lbs >> SECTOR_SHIFT;
  const maxHwSectors = d.maxHwSectors ?? UINT_MAX;
  let maxSectors = Math.min(d.maxSectors ?? BLK_DEF_MAX_SECTORS_CAP, maxHwSectors);
  maxSectors -= maxSectors % lbsSectors;
  if (maxSectors < lbsSectors) throw new Error(`queue limits: max_sectors ${maxSectors} is below one logical block`);
  const maxSegmentSize = Math.max(d.maxSegmentSize ?? BLK_MAX_SEGMENT_SIZE, 4096);
  return {
    logicalBlockSize: lbs,
    physicalBlockSize: Math.max(d.physicalBlockSize ?? lbs, lbs),
    maxSectors,
    maxHwSectors,
    maxSegments: Math.max(1, d.maxSegments ?? BLK_MAX_SEGMENTS),
    maxSegmentSize,
    maxDiscardSectors: d.maxDiscardSectors ?? 0,
    maxDiscardSegments: Math.max(1, d.maxDiscardSegments ?? 1),
    discardGranularity: Math.max(d.discardGranularity ?? lbs, lbs),
    maxWriteZeroesSectors: d.maxWriteZeroesSectors ?? 0,
    writeCache: d.writeCache ?? false,
    fua: (d.writeCache ?? false) && (d.fua ?? false),
  };
}

/** blk_queue_get_max_sectors: the size cap of one request of `op`. */
export function maxSectorsFor(lim: QueueLimits, op: BioOp): number {
  switch (op) {
    case 'discard':
      return Math.min(lim.maxDiscardSectors, UINT_MAX >>> SECTOR_SHIFT);
    case 'write-zeroes':
      return lim.maxWriteZeroesSectors;
    default:
      return lim.maxSectors;
  }
}
