/**
 * The reference walk of a check (block/qcow2-refcount.c check_refcounts_l1,
 * check_refcounts_l2, fix_l2_entry_by_zero): each L1 table (the active one and every
 * snapshot's) and each L2 table it points to, read from disk, counting one reference
 * per table and per cluster used into the check's refcount table, and reporting
 * entries that cannot be right (reserved bits, misaligned offsets, bad subcluster
 * bitmaps, compressed clusters with COPIED or in an image with a data file).
 */
import { clusterType, getL2, getL2Bitmap, l1Offset, l2EntrySize, setL2, setL2Bitmap } from '../format/l2-entry.js';
import type { CheckFix } from '../../../image-api.js';
import { hx, incRefcounts, repairing, type CheckCtx } from './context.js';
import { OL_ACTIVE_L2, OL_INACTIVE_L2, preWriteOverlapCheck } from './overlap.js';

/** QEMU's L2E_STD_RESERVED_MASK (bits 1-8 and 56-61), as [high word, low word]. */
const L2_RESERVED_HI = 0x3f000000;
const L2_RESERVED_LO = 0x000001fe;
/** L1E_RESERVED_MASK (bits 0-8 and 56-62). */
const L1_RESERVED_HI = 0x7f000000;
const L1_RESERVED_LO = 0x000001ff;

/** Result of a walk step: false when the check must stop (ENOMEM, or an overlap while repairing). */
type Go = boolean;

/** Drop the cached slices of the L2 table at `l2Offset` after writing it behind the cache. */
export function forgetL2(ctx: CheckCtx, l2Offset: number): void {
  const { s } = ctx;
  for (let p = 0; p < s.clusterSize; p += s.l2Cache.entrySize) s.l2Cache.discard(l2Offset + p);
}

/**
 * fix_l2_entry_by_zero: the entry becomes a zero cluster (or its allocated subclusters
 * zero ones), written straight to the image. Returns [fixed, overlap].
 */
function fixByZero(ctx: CheckCtx, l2Offset: number, table: Uint8Array, i: number, active: boolean): [boolean, boolean] {
  const { s } = ctx;
  const t = new DataView(table.buffer, table.byteOffset, table.byteLength);
  if (s.extendedL2) {
    const bm = getL2Bitmap(t, i, s);
    setL2Bitmap(t, i, s, 0, (bm.zero | bm.alloc) >>> 0);
    setL2(t, i, s, 0);
  } else {
    setL2(t, i, s, 0, { zero: true });
  }
  const size = l2EntrySize(s);
  const at = l2Offset + i * size;
  const ov = preWriteOverlapCheck(s, active ? OL_ACTIVE_L2 : OL_INACTIVE_L2, at, size, { list: ctx.snapshots, size: ctx.snapshotsSize }, ctx.acct);
  if (ov) {
    ctx.messages.push('ERROR: Overlap check failed');
    ctx.res.checkErrors++;
    return [false, true];
  }
  const err = s.file.pwritev(at, table.slice(i * size, (i + 1) * size), {}, ctx.acct) ?? s.file.flush(ctx.acct);
  if (err) {
    ctx.messages.push(`ERROR: Failed to overwrite L2 table entry: ${err.message}`);
    ctx.res.checkErrors++;
    return [false, false];
  }
  forgetL2(ctx, l2Offset);
  ctx.res.corruptions--;
  ctx.res.corruptionsFixed++;
  return [true, false];
}

/** check_refcounts_l2. */
function checkL2(ctx: CheckCtx, l2Offset: number, fragInfo: boolean, fix: CheckFix, active: boolean): Go {
  const { s, res } = ctx;
  const table = new Uint8Array(s.l2Size * l2EntrySize(s));
  const err = s.file.preadv(l2Offset, table, ctx.acct);
  if (err) {
    ctx.messages.push('ERROR: I/O error in check_refcounts_l2');
    res.checkErrors++;
    return false;
  }
  const t = new DataView(table.buffer);
  const size = l2EntrySize(s);
  let nextContiguous = 0;
  for (let i = 0; i < s.l2Size; i++) {
    const e = getL2(t, i, s);
    const bm = getL2Bitmap(t, i, s);
    const raw = t.getBigUint64(i * size);
    const type = clusterType(e, s.extendedL2, s.hasDataFile);
    if (type !== 'COMPRESSED' && (t.getUint32(i * size) & L2_RESERVED_HI || t.getUint32(i * size + 4) & L2_RESERVED_LO)) {
      ctx.messages.push(`ERROR found l2 entry with reserved bits set: ${hx(raw)}`);
      res.corruptions++;
    }
    switch (type) {
      case 'COMPRESSED': {
        if (!e.compressed) break;
        if (e.copied) {
          ctx.messages.push(`ERROR: coffset=0x${hx(e.offset)}: copied flag must never be set for compressed clusters`);
          res.corruptions++;
        }
        const entry = raw & ~(1n << 63n);
        if (s.hasDataFile) {
          ctx.messages.push(`ERROR compressed cluster ${i} with data file, entry=0x${hx(entry)}`);
          res.corruptions++;
          break;
        }
        if (bm.alloc || bm.zero) {
          ctx.messages.push(`ERROR compressed cluster ${i} with non-zero subcluster allocation bitmap, entry=0x${hx(entry)}`);
          res.corruptions++;
          break;
        }
        if (!incRefcounts(ctx, e.offset, e.bytes)) return false;
        if (fragInfo) {
          res.allocatedClusters++;
          res.compressedClusters++;
          res.fragmentedClusters++;
        }
        break;
      }
      case 'ZERO_ALLOC':
      case 'NORMAL': {
        const offset = e.offset;
        if (bm.zero & bm.alloc) {
          res.corruptions++;
          ctx.messages.push(`ERROR offset=${hx(offset)}: Allocated cluster has corrupted subcluster allocation bitmap`);
        }
        if (offset % s.clusterSize) {
          res.corruptions++;
          const containsData = s.extendedL2 ? bm.alloc !== 0 : !(e.compressed === false && e.zero);
          if (!containsData) {
            ctx.messages.push(`${repairing(fix.errors)} offset=${hx(offset)}: Preallocated cluster is not properly aligned; L2 entry corrupted.`);
            if (fix.errors) {
              const [fixed, overlap] = fixByZero(ctx, l2Offset, table, i, active);
              if (overlap) return false;
              if (fixed) continue;
            }
          } else {
            ctx.messages.push(`ERROR offset=${hx(offset)}: Data cluster is not properly aligned; L2 entry corrupted.`);
          }
        }
        if (fragInfo) {
          res.allocatedClusters++;
          if (nextContiguous && offset !== nextContiguous) res.fragmentedClusters++;
          nextContiguous = offset + s.clusterSize;
        }
        if (!s.hasDataFile && !incRefcounts(ctx, offset, s.clusterSize)) return false;
        break;
      }
      case 'ZERO_PLAIN':
        break;
      case 'UNALLOCATED':
        if (bm.alloc) {
          res.corruptions++;
          ctx.messages.push('ERROR: Unallocated cluster has non-zero subcluster allocation map');
        }
        break;
    }
  }
  return true;
}

/** check_refcounts_l1: the L1 table of `l1Size` entries at `l1TableOffset` and its L2 tables. */
export function checkL1(ctx: CheckCtx, l1TableOffset: number, l1Size: number, fragInfo: boolean, fix: CheckFix, active: boolean): Go {
  const { s, res } = ctx;
  if (!l1Size) return true;
  if (!incRefcounts(ctx, l1TableOffset, l1Size * 8)) return false;
  const l1 = new Uint8Array(l1Size * 8);
  const err = s.file.preadv(l1TableOffset, l1, ctx.acct);
  if (err) {
    ctx.messages.push('ERROR: I/O error in check_refcounts_l1');
    res.checkErrors++;
    return false;
  }
  const v = new DataView(l1.buffer);
  for (let i = 0; i < l1Size; i++) {
    const hi = v.getUint32(i * 8);
    const lo = v.getUint32(i * 8 + 4);
    if (!hi && !lo) continue;
    if (hi & L1_RESERVED_HI || lo & L1_RESERVED_LO) {
      ctx.messages.push(`ERROR found L1 entry with reserved bits set: ${hx(v.getBigUint64(i * 8))}`);
      res.corruptions++;
    }
    const l2Offset = l1Offset(v, i);
    if (!incRefcounts(ctx, l2Offset, s.clusterSize)) return false;
    if (l2Offset % s.clusterSize) {
      ctx.messages.push(`ERROR l2_offset=${hx(l2Offset)}: Table is not cluster aligned; L1 entry corrupted`);
      res.corruptions++;
    }
    if (!checkL2(ctx, l2Offset, fragInfo, fix, active)) return false;
  }
  return true;
}
