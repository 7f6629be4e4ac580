/**
 * Scatter-gather helpers of the block layer: counting a bio's physical segments
 * against max_segment_size, cutting a byte range out of a segment list (bio_split),
 * and building a request's list from its bios, joining physically contiguous
 * neighbours as blk_rq_map_sg does.
 */
import type { SgElem } from '../../hw/memory.js';

/** Physical segments of `sg` when no segment may exceed `maxSegmentSize` bytes. */
export function segmentCount(sg: readonly SgElem[], maxSegmentSize: number): number {
  let n = 0;
  for (let i = 0; i < sg.length; i++) {
    const len = sg[i].len;
    n += len <= maxSegmentSize ? 1 : Math.ceil(len / maxSegmentSize);
  }
  return n;
}

/** The elements covering bytes [offset, offset + len) of `sg`. */
export function sgSlice(sg: readonly SgElem[], offset: number, len: number): SgElem[] {
  const out: SgElem[] = [];
  let pos = 0;
  const end = offset + len;
  for (let i = 0; i < sg.length && pos < end; i++) {
    const e = sg[i];
    const eEnd = pos + e.len;
    if (eEnd > offset) {
      const from = Math.max(offset, pos);
      const to = Math.min(end, eEnd);
      if (to > from) out.push({ addr: e.addr + (from - pos), len: to - from });
    }
    pos = eEnd;
  }
  return out;
}

/**
 * Where a piece of `sg` must end so that it holds at most `maxBytes` bytes and
 * `maxSegs` segments of at most `maxSegSize` bytes, starting at byte `offset`. Returns
 * the piece's length in bytes (not yet aligned).
 */
export function fitBytes(sg: readonly SgElem[], offset: number, maxBytes: number, maxSegs: number, maxSegSize: number): number {
  let pos = 0;
  let bytes = 0;
  let segs = 0;
  for (let i = 0; i < sg.length; i++) {
    const e = sg[i];
    const eEnd = pos + e.len;
    if (eEnd > offset) {
      let left = eEnd - Math.max(offset, pos);
      while (left > 0) {
        if (segs === maxSegs || bytes === maxBytes) return bytes;
        const take = Math.min(left, maxSegSize, maxBytes - bytes);
        bytes += take;
        left -= take;
        segs++;
      }
    }
    pos = eEnd;
  }
  return bytes;
}

/**
 * The scatter-gather list the driver sees for a request made of these bios' lists, in
 * order: no element longer than `maxSegmentSize`, physically contiguous neighbours
 * joined while the result stays within it (blk_rq_map_sg / __blk_segment_map_sg).
 */
export function mapRequestSg(lists: readonly (readonly SgElem[])[], maxSegmentSize: number): SgElem[] {
  const out: SgElem[] = [];
  let last: SgElem | undefined;
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) {
      let { addr, len } = list[i];
      while (len > 0) {
        if (last !== undefined && last.addr + last.len === addr && last.len < maxSegmentSize) {
          const take = Math.min(len, maxSegmentSize - last.len);
          last.len += take;
          addr += take;
          len -= take;
          continue;
        }
        const take = Math.min(len, maxSegmentSize);
        last = { addr, len: take };
        out.push(last);
        addr += take;
        len -= take;
      }
    }
  }
  return out;
}

/** True when some element is longer than `maxSegmentSize`. */
export function hasOversizedSegment(sg: readonly SgElem[], maxSegmentSize: number): boolean {
  for (let i = 0; i < sg.length; i++) if (sg[i].len > maxSegmentSize) return true;
  return false;
}
