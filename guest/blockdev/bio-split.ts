/**
 * Splitting a bio to the queue limits before it becomes a request (block/blk-merge.c
 * __bio_split_to_limits): reads and writes by max_sectors (aligned to the physical
 * block), max_segments and max_segment_size, cut on logical-block boundaries
 * (bio_split_rw); discards by max_discard_sectors on the discard granularity
 * (bio_split_discard); write-zeroes by max_write_zeroes_sectors (bio_split_write_zeroes).
 */
import { SECTOR_SHIFT } from './bio.js';
import { BioRef } from './bio-ref.js';
import { UINT_MAX, type QueueLimits } from './limits.js';
import { fitBytes, segmentCount, sgSlice } from './sg.js';

/** True when `b` fits the limits as it is (the common case: no work, no allocation). */
export function fitsLimits(b: BioRef, lim: QueueLimits): boolean {
  switch (b.op) {
    case 'read':
    case 'write':
      return b.sectors <= maxIoSectors(b.sector, lim) && b.nrSegs <= lim.maxSegments;
    case 'discard':
      return b.sectors <= maxDiscardSplit(lim);
    case 'write-zeroes':
      return lim.maxWriteZeroesSectors === 0 || b.sectors <= lim.maxWriteZeroesSectors;
    default:
      return true;
  }
}

/** get_max_io_size: max_sectors, ending on a physical block boundary when it can. */
function maxIoSectors(sector: number, lim: QueueLimits): number {
  const pbs = lim.physicalBlockSize >> SECTOR_SHIFT;
  const lbs = lim.logicalBlockSize >> SECTOR_SHIFT;
  const start = sector % pbs;
  const end = start + lim.maxSectors - ((start + lim.maxSectors) % pbs);
  if (end > start) return end - start;
  return lim.maxSectors - (lim.maxSectors % lbs);
}

function maxDiscardSplit(lim: QueueLimits): number {
  const gran = Math.max(lim.discardGranularity >> SECTOR_SHIFT, 1);
  const allowed = (UINT_MAX - (UINT_MAX % lim.logicalBlockSize)) / 512;
  let max = Math.min(lim.maxDiscardSectors, allowed);
  max -= max % gran;
  return max === 0 ? Infinity : max;
}

function part(b: BioRef, sector: number, sectors: number, segs: BioRef['segs'], nrSegs: number): BioRef {
  return new BioRef(b.id, b.op, sector, sectors, segs, nrSegs, b.flags, b, undefined);
}

/**
 * Cut `b` into parts that fit the limits, in sector order; `b` becomes their parent
 * (its `remaining` is the number of parts). Call only when `fitsLimits` is false.
 */
export function splitBio(b: BioRef, lim: QueueLimits): BioRef[] {
  const parts: BioRef[] = [];
  if (b.op === 'read' || b.op === 'write') {
    const lbsBytes = lim.logicalBlockSize;
    const total = b.sectors << SECTOR_SHIFT;
    let off = 0;
    while (off < total) {
      const sector = b.sector + (off >> SECTOR_SHIFT);
      let len = fitBytes(b.segs, off, maxIoSectors(sector, lim) << SECTOR_SHIFT, lim.maxSegments, lim.maxSegmentSize);
      len -= len % lbsBytes;
      // Segments smaller than a logical block everywhere: take one block, as a driver must cope with.
      if (len === 0) len = Math.min(lbsBytes, total - off);
      const segs = sgSlice(b.segs, off, len);
      parts.push(part(b, sector, len >> SECTOR_SHIFT, segs, segmentCount(segs, lim.maxSegmentSize)));
      off += len;
    }
  } else if (b.op === 'discard') {
    const gran = Math.max(lim.discardGranularity >> SECTOR_SHIFT, 1);
    const max = maxDiscardSplit(lim);
    let sector = b.sector;
    let left = b.sectors;
    while (left > max) {
      // Stop at the previous aligned sector when the next part would start misaligned.
      let n = max;
      const mis = (sector + n) % gran;
      if (n > mis) n -= mis;
      parts.push(part(b, sector, n, [], 0));
      sector += n;
      left -= n;
    }
    parts.push(part(b, sector, left, [], 0));
  } else {
    const max = lim.maxWriteZeroesSectors;
    for (let s = 0; s < b.sectors; s += max) parts.push(part(b, b.sector + s, Math.min(max, b.sectors - s), [], 0));
  }
  b.remaining = parts.length;
  return parts;
}
