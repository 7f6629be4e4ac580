/**
 * The checks a bio passes before the block layer takes it (block/blk-core.c
 * submit_bio_noacct, bio_check_eod, and blk-mq's alignment check): what the submitter
 * hears at once when it fails. Past the end of the device or not aligned to the logical
 * block size: BLK_STS_IOERR; a discard or write-zeroes the device cannot do:
 * BLK_STS_NOTSUPP. A read or write whose data does not cover its sectors is a bug in
 * the kernel code that built it, and throws.
 */
import { sgBytes, type Bio } from './bio.js';
import type { QueueLimits } from './limits.js';
import type { BlkStatus } from './request.js';

/** A refused bio's status, or undefined when the block layer takes it. */
export function checkBio(dev: string, bio: Bio, capacitySectors: number, lim: QueueLimits): BlkStatus | undefined {
  if (bio.op === 'flush') return undefined;
  const { sector, sectors } = bio;
  if (!(Number.isSafeInteger(sector) && Number.isSafeInteger(sectors) && sector >= 0 && sectors >= 0)) throw new Error(`${dev}: bio with sector ${sector} +${sectors}`);
  if (sector + sectors > capacitySectors) return 'ioerr';
  const lbs = lim.logicalBlockSize >> 9;
  if (lbs > 1 && (sector % lbs !== 0 || sectors % lbs !== 0)) return 'ioerr';
  switch (bio.op) {
    case 'discard':
      return lim.maxDiscardSectors > 0 ? undefined : 'notsupp';
    case 'write-zeroes':
      return lim.maxWriteZeroesSectors > 0 ? undefined : 'notsupp';
    default:
      if (sgBytes(bio.segments) !== sectors * 512) throw new Error(`${dev}: ${bio.op} bio of ${sectors} sectors carries ${sgBytes(bio.segments)} bytes`);
      return undefined;
  }
}
