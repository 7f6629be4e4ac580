/**
 * `qemu-img compare` (img_compare): walk both images run by run (block status through
 * their backing chains), skip runs both read as zeroes, compare the bytes of runs both
 * have allocated, and check that a run only one has allocated is zero there. A
 * difference is reported at the start of the first differing 512-byte sector. Images of
 * different sizes are equal when the longer one's extra part reads as zeroes, unless
 * `strict`, which also wants the same block status everywhere.
 */
import * as E from 'fp-ts/lib/Either.js';
import { BDRV_BLOCK_ALLOCATED, BDRV_BLOCK_ZERO } from '../driver.js';
import type { BlockDriverState } from '../node.js';
import { statusAbove } from './block-status.js';
import type { ImgError } from './errors.js';
import { BDRV_SECTOR_SIZE, imageLength } from './image.js';

/** What qemu-img compare found, each with the line it prints. */
export type CompareResult =
  /** "Images are identical." (after "Warning: Image size mismatch!" when sizes differ) */
  | { readonly _tag: 'Identical'; readonly sizeMismatch: boolean }
  /** "Content mismatch at offset N!" */
  | { readonly _tag: 'Mismatch'; readonly offset: number; readonly sizeMismatch: boolean }
  /** "Strict mode: Image size mismatch!" */
  | { readonly _tag: 'StrictSize' }
  /** "Strict mode: Offset N block status mismatch!" */
  | { readonly _tag: 'StrictStatus'; readonly offset: number };

/** A failed read: exit status 4, "Error while reading offset N of <which image>: <why>". */
export type CompareError = ImgError & { readonly _tag: 'IoFailed' };

/** IO_BUF_SIZE: the most compared in one go. */
const IO_BUF = 2 << 20;

export interface CompareInput {
  readonly bs: BlockDriverState;
  /** The name used in read-error messages. */
  readonly name: string;
}

/** Where the first sector of `a` that differs from `b` starts, or -1 (compare_buffers). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i += BDRV_SECTOR_SIZE) {
    const end = Math.min(a.length, i + BDRV_SECTOR_SIZE);
    if (Buffer.compare(a.subarray(i, end), b.subarray(i, end)) !== 0) return i;
  }
  return -1;
}

/** find_nonzero: where the first sector holding a non-zero byte starts, or -1. */
export function firstNonZero(buf: Uint8Array): number {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return i - (i % BDRV_SECTOR_SIZE);
  return -1;
}

function read(img: CompareInput, offset: number, buf: Uint8Array): CompareError | null {
  const err = img.bs.preadv(offset, buf, { ns: 0 });
  return err ? { _tag: 'IoFailed', what: `Error while reading offset ${offset} of ${img.name}`, error: err } : null;
}

/** check_empty_sectors: the offset of the first non-zero sector of [offset, offset+bytes), or -1. */
function nonZeroAt(img: CompareInput, offset: number, buf: Uint8Array): E.Either<CompareError, number> {
  const err = read(img, offset, buf);
  if (err) return E.left(err);
  const i = firstNonZero(buf);
  return E.right(i < 0 ? -1 : offset + i);
}

export function compareImages(one: CompareInput, two: CompareInput, strict = false): E.Either<CompareError, CompareResult> {
  const len1 = imageLength(one.bs);
  const len2 = imageLength(two.bs);
  const total = Math.min(len1, len2);
  if (strict && len1 !== len2) return E.right({ _tag: 'StrictSize' });
  const buf1 = new Uint8Array(Math.min(IO_BUF, Math.max(len1, len2)));
  const buf2 = new Uint8Array(buf1.length);
  let offset = 0;
  while (offset < total) {
    const s1 = statusAbove(one.bs, offset, len1 - offset);
    const s2 = statusAbove(two.bs, offset, len2 - offset);
    let chunk = Math.min(s1.pnum, s2.pnum);
    if (strict && s1.flags !== s2.flags) return E.right({ _tag: 'StrictStatus', offset });
    const a1 = (s1.flags & BDRV_BLOCK_ALLOCATED) !== 0;
    const a2 = (s2.flags & BDRV_BLOCK_ALLOCATED) !== 0;
    if (s1.flags & s2.flags & BDRV_BLOCK_ZERO) {
      // both read as zeroes
    } else if (a1 === a2) {
      if (a1) {
        chunk = Math.min(chunk, IO_BUF);
        const b1 = buf1.subarray(0, chunk);
        const b2 = buf2.subarray(0, chunk);
        const err = read(one, offset, b1) ?? read(two, offset, b2);
        if (err) return E.left(err);
        const d = firstDifference(b1, b2);
        if (d >= 0) return E.right({ _tag: 'Mismatch', offset: offset + d, sizeMismatch: false });
      }
    } else {
      chunk = Math.min(chunk, IO_BUF);
      const nz = nonZeroAt(a1 ? one : two, offset, buf1.subarray(0, chunk));
      if (E.isLeft(nz)) return nz;
      if (nz.right >= 0) return E.right({ _tag: 'Mismatch', offset: nz.right, sizeMismatch: false });
    }
    offset += chunk;
  }
  if (len1 === len2) return E.right({ _tag: 'Identical', sizeMismatch: false });
  const over = len1 > len2 ? one : two;
  const end = Math.max(len1, len2);
  while (offset < end) {
    const st = statusAbove(over.bs, offset, end - offset);
    let chunk = st.pnum;
    if (st.flags & BDRV_BLOCK_ALLOCATED && !(st.flags & BDRV_BLOCK_ZERO)) {
      chunk = Math.min(chunk, IO_BUF);
      const nz = nonZeroAt(over, offset, buf1.subarray(0, chunk));
      if (E.isLeft(nz)) return nz;
      if (nz.right >= 0) return E.right({ _tag: 'Mismatch', offset: nz.right, sizeMismatch: true });
    }
    offset += chunk;
  }
  return E.right({ _tag: 'Identical', sizeMismatch: true });
}
