/**
 * Block status as qemu-img sees it (bdrv_block_status and qemu-img's map walk).
 *
 * `statusAt` is one node's answer with what QEMU's generic layer adds on top of the
 * driver's: a format that supports backing files reads unallocated ranges as zeroes when
 * it has no backing file, or past the end of a shorter one; and the tail of a node whose
 * size is not a whole number of sectors reads as zeroes up to the sector boundary.
 *
 * `mapImage` is `qemu-img map`: from offset 0 to the end, each run's status is asked of
 * the top image and, where neither data nor zeroes are found there, of each backing file
 * in turn (its `depth`); runs that continue each other (same flags, depth and file, host
 * offsets contiguous) are merged.
 */
import {
  BDRV_BLOCK_ALLOCATED,
  BDRV_BLOCK_DATA,
  BDRV_BLOCK_OFFSET_VALID,
  BDRV_BLOCK_ZERO,
  type AnyBlockDriver,
  type BlockStatus,
} from '../driver.js';
import type { BlockDriverState } from '../node.js';
import { backingOf, imageLength, nodeFilename } from './image.js';

/** A format whose images may name a backing file (QEMU's BlockDriver.supports_backing). */
export function supportsBacking(drv: AnyBlockDriver): boolean {
  return drv.createOptions !== undefined && 'backing_file' in drv.createOptions;
}

/** The protocol node under `bs` (following `file` children). */
function protocolOf(bs: BlockDriverState): BlockDriverState {
  let n = bs;
  for (let f = n.child('file'); f; f = n.child('file')) n = f;
  return n;
}

/** bdrv_block_status of one node for [offset, offset + bytes), bytes > 0, within imageLength(bs). */
export function statusAt(bs: BlockDriverState, offset: number, bytes: number): BlockStatus {
  const real = bs.getLength();
  if (offset >= real) {
    const tail = Math.max(1, Math.min(bytes, imageLength(bs) - offset));
    return { flags: BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED, pnum: tail, map: offset, file: protocolOf(bs) };
  }
  const n = Math.min(bytes, real - offset);
  const raw = bs.blockStatus(offset, n);
  // A driver's pnum beyond what was asked (or none at all) must not stall or overrun the walk.
  const st: BlockStatus = raw.pnum > 0 ? { ...raw, pnum: Math.min(raw.pnum, n) } : { flags: 0, pnum: n };
  if (st.flags & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO) || !supportsBacking(bs.drv)) return st;
  const backing = backingOf(bs);
  if (!backing || offset >= imageLength(backing)) return { ...st, flags: st.flags | BDRV_BLOCK_ZERO };
  return st;
}

/** One line of `qemu-img map` (MapEntry in qapi/block-core.json). */
export interface MapEntry {
  readonly start: number;
  readonly length: number;
  readonly depth: number;
  readonly present: boolean;
  readonly zero: boolean;
  readonly data: boolean;
  /** Where the run lives in `filename`, when known. */
  readonly offset?: number;
  readonly filename?: string;
}

/** qemu-img's get_block_status: the run at `offset`, found down the backing chain. */
export function mapEntryAt(top: BlockDriverState, offset: number, bytes: number): MapEntry {
  let bs: BlockDriverState = top;
  let depth = 0;
  let st = statusAt(bs, offset, bytes);
  let flags = st.flags;
  for (;;) {
    bytes = st.pnum;
    flags = st.flags;
    if (flags & (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA)) break;
    const next = backingOf(bs);
    if (!next) {
      flags = 0;
      break;
    }
    bs = next;
    depth++;
    st = statusAt(bs, offset, bytes);
  }
  const hasOffset = (flags & BDRV_BLOCK_OFFSET_VALID) !== 0;
  const file = hasOffset && st.file ? nodeFilename(st.file) : undefined;
  return {
    start: offset,
    length: bytes,
    depth,
    present: (flags & BDRV_BLOCK_ALLOCATED) !== 0,
    zero: (flags & BDRV_BLOCK_ZERO) !== 0,
    data: (flags & BDRV_BLOCK_DATA) !== 0,
    ...(hasOffset ? { offset: st.map ?? offset } : {}),
    ...(file !== undefined ? { filename: file } : {}),
  };
}

function mergeable(a: MapEntry, b: MapEntry): boolean {
  if (a.zero !== b.zero || a.data !== b.data || a.present !== b.present || a.depth !== b.depth) return false;
  if (a.filename !== b.filename || (a.offset === undefined) !== (b.offset === undefined)) return false;
  return a.offset === undefined || a.offset + a.length === b.offset;
}

/** The most `qemu-img map` asks about at once. */
const MAP_PROBE = 1 << 30;

/** `qemu-img map`: the merged runs of the whole image. */
export function mapImage(bs: BlockDriverState): MapEntry[] {
  const length = imageLength(bs);
  const out: MapEntry[] = [];
  let pos = 0;
  while (pos < length) {
    const e = mapEntryAt(bs, pos, Math.min(MAP_PROBE, length - pos));
    const last = out[out.length - 1];
    if (last && mergeable(last, e)) out[out.length - 1] = { ...last, length: last.length + e.length };
    else out.push(e);
    pos += e.length;
  }
  return out;
}

/**
 * bdrv_block_status_above(bs, NULL): the status of the first image in the chain that has
 * the run allocated (or, allocated nowhere, the top image's answer), with the run's
 * length limited by every image asked on the way.
 */
export function statusAbove(top: BlockDriverState, offset: number, bytes: number): BlockStatus {
  const first = statusAt(top, offset, bytes);
  let st = first;
  for (let bs = backingOf(top); bs && !(st.flags & BDRV_BLOCK_ALLOCATED); bs = backingOf(bs)) {
    if (offset >= imageLength(bs)) break;
    st = statusAt(bs, offset, st.pnum);
  }
  return st.flags & BDRV_BLOCK_ALLOCATED ? st : { ...first, pnum: st.pnum };
}
