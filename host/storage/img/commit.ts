/**
 * `qemu-img commit` and `qemu-img rebase` over the block layer and the driver hooks.
 *
 * commit (commit_active_start + bdrv_make_empty): every run allocated in the top image or
 * in an image between it and `base` is copied into `base` (grown first if shorter); then
 * the top image is emptied (`makeEmpty`) unless told to keep it, or, when `base` is
 * below the immediate backing file, made to name `base` as its backing file.
 *
 * rebase (safe mode): every run the image leaves to its backing file, and that differs
 * between the old backing file and the new one, is first copied into the image from the
 * old one (sector by sector), so that what the image reads does not change; then the
 * image names its new backing file (`changeBackingFile`).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../block-backend-api.js';
import { BDRV_BLOCK_ALLOCATED } from '../driver.js';
import type { BlockDriverState } from '../node.js';
import { statusAt } from './block-status.js';
import { refused, unsupported, type ImgError } from './errors.js';
import { backingOf, imageLength } from './image.js';

const IO_BUF = 2 << 20;

/** bdrv_is_allocated_above(top, base): whether a layer above `base` allocates the run at `offset`, and its length. */
export function allocatedAbove(top: BlockDriverState, base: BlockDriverState | undefined, offset: number, bytes: number): { allocated: boolean; pnum: number } {
  let n = bytes;
  for (let bs: BlockDriverState | undefined = top; bs && bs !== base; bs = backingOf(bs)) {
    if (offset >= imageLength(bs)) continue;
    const st = statusAt(bs, offset, n);
    if (st.flags & BDRV_BLOCK_ALLOCATED) return { allocated: true, pnum: st.pnum };
    n = Math.min(n, st.pnum);
  }
  return { allocated: false, pnum: n };
}

const ioFailed = (what: string) => (error: BlockIoError): ImgError => ({ _tag: 'IoFailed', what, error });

/**
 * Copy what `top` (and the images down to `base`) allocate into `base`, written through
 * `target`: `base` itself, or the same image opened writable (QEMU's commit job reopens
 * the read-only backing node read-write).
 */
export function commitInto(top: BlockDriverState, base: BlockDriverState, target: BlockDriverState = base): E.Either<ImgError, void> {
  const len = imageLength(top);
  if (imageLength(target) < len) {
    const err = target.truncate(len);
    if (err) return E.left(ioFailed('Block job failed')(err));
  }
  const buf = new Uint8Array(Math.min(IO_BUF, Math.max(len, 1)));
  for (let offset = 0; offset < len; ) {
    const a = allocatedAbove(top, base, offset, Math.min(IO_BUF, len - offset));
    if (a.allocated) {
      const chunk = buf.subarray(0, a.pnum);
      const err = top.preadv(offset, chunk, { ns: 0 }) ?? target.pwritev(offset, chunk, {}, { ns: 0 });
      if (err) return E.left(ioFailed('Block job failed')(err));
    }
    offset += a.pnum;
  }
  const ferr = target.flush({ ns: 0 });
  return ferr ? E.left(ioFailed('Block job failed')(ferr)) : E.right(undefined);
}

/** bdrv_make_empty on the top image; a format without it keeps its data (as qemu-img does). */
export function makeEmpty(top: BlockDriverState, name: string): E.Either<ImgError, void> {
  const err = top.drv.makeEmpty?.(top.opaque, { ns: 0 });
  return err ? E.left(ioFailed(`Could not empty ${name}`)(err)) : E.right(undefined);
}

export interface RebaseSides {
  /** The image's current backing file (undefined: none, reads as zeroes). */
  readonly oldBacking?: BlockDriverState;
  /** The new backing file (undefined: none). */
  readonly newBacking?: BlockDriverState;
}

/** Sector by sector: where `a` and `b` differ, as [start, end) byte ranges. */
function differingRanges(a: Uint8Array, b: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < a.length; i += 512) {
    const end = Math.min(a.length, i + 512);
    if (Buffer.compare(a.subarray(i, end), b.subarray(i, end)) === 0) continue;
    const last = out[out.length - 1];
    if (last && last[1] === i) last[1] = end;
    else out.push([i, end]);
  }
  return out;
}

function readOr0(bs: BlockDriverState | undefined, offset: number, buf: Uint8Array, what: string): ImgError | null {
  buf.fill(0);
  if (!bs || offset >= imageLength(bs)) return null;
  const n = Math.min(buf.length, imageLength(bs) - offset);
  const err = bs.preadv(offset, buf.subarray(0, n), { ns: 0 });
  return err ? refused(what) : null;
}

/** The copy step of a safe rebase: afterwards `bs` reads the same over `sides.newBacking`. */
export function rebaseCopy(bs: BlockDriverState, sides: RebaseSides): E.Either<ImgError, void> {
  const size = imageLength(bs);
  const bufOld = new Uint8Array(Math.min(IO_BUF, Math.max(size, 1)));
  const bufNew = new Uint8Array(bufOld.length);
  for (let offset = 0; offset < size; ) {
    const own = allocatedAbove(bs, backingOf(bs), offset, Math.min(IO_BUF, size - offset));
    if (own.allocated) {
      offset += own.pnum;
      continue;
    }
    const n = own.pnum;
    const e1 = readOr0(sides.oldBacking, offset, bufOld.subarray(0, n), 'error while reading from old backing file');
    if (e1) return E.left(e1);
    const e2 = readOr0(sides.newBacking, offset, bufNew.subarray(0, n), 'error while reading from new backing file');
    if (e2) return E.left(e2);
    for (const [a, b] of differingRanges(bufOld.subarray(0, n), bufNew.subarray(0, n))) {
      const err = bs.pwritev(offset + a, bufOld.subarray(a, b), {}, { ns: 0 });
      if (err) return E.left({ _tag: 'IoFailed', what: 'Error while writing to COW image', error: err });
    }
    offset += n;
  }
  return E.right(undefined);
}

/** bdrv_change_backing_file, with qemu-img rebase's messages. */
export function changeBacking(bs: BlockDriverState, backing: string | undefined, format: string | undefined): E.Either<ImgError, void> {
  const what = `Could not change the backing file to '${backing ?? ''}'`;
  if (backing !== undefined && format === undefined) return E.left(refused(`${what}: backing format must be specified`));
  const change = bs.drv.changeBackingFile;
  if (!change) return E.left(unsupported(`${what}: Operation not supported`));
  const err = change(bs.opaque, backing, format);
  return err ? E.left({ _tag: 'Block', error: err, prefix: `${what}: ` }) : E.right(undefined);
}
