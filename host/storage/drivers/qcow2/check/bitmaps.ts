/**
 * The check's count of bitmap clusters (block/qcow2-bitmap.c qcow2_check_bitmaps_refcounts):
 * when the image's bitmaps are consistent (extension present, autoclear bit set), the
 * directory, each bitmap's table and each data cluster a table points at are referenced.
 * With the autoclear bit clear they are not: they are leaks, as QEMU finds them.
 *
 * A directory or table QEMU cannot load counts one corruption and ends the check with
 * EINVAL ("Check failed: Invalid argument").
 */
import * as E from 'fp-ts/lib/Either.js';
import { STRERROR } from '../../../errors.js';
import { BME_TABLE_ENTRY_SIZE } from '../bitmaps/format.js';
import { loadBitmapList, loadBitmapTable } from '../bitmaps/read.js';
import { AUTOCLEAR_BITMAPS } from '../format/features.js';
import { incRefcounts, type CheckCtx } from './context.js';

/** Count the bitmaps' clusters into the check's refcount table. False when the check must stop. */
export function checkBitmapsRefcounts(ctx: CheckCtx): boolean {
  const { s } = ctx;
  const ext = s.bitmaps;
  if (!ext || !(s.autoclearFeatures & AUTOCLEAR_BITMAPS) || ext.nbBitmaps === 0) return true;
  if (!incRefcounts(ctx, ext.directoryOffset, ext.directorySize)) return false;
  const img = { file: s.file, clusterSize: s.clusterSize, diskSize: s.size };
  const list = loadBitmapList(img, ext, ctx.acct);
  if (E.isLeft(list)) return fail(ctx);
  for (const e of list.right) {
    if (!incRefcounts(ctx, e.tableOffset, e.tableSize * BME_TABLE_ENTRY_SIZE)) return false;
    const table = loadBitmapTable(img, e, ctx.acct);
    if (E.isLeft(table)) return fail(ctx, table.left);
    // Entries past the end of the file read as zero: no cluster to count.
    for (let i = 0; i < table.right.inFile; i++) {
      const t = table.right.entry(i);
      if (!t) {
        ctx.res.corruptions++;
        continue;
      }
      if (t.offset && !incRefcounts(ctx, t.offset, s.clusterSize)) return false;
    }
  }
  return true;
}

/** The directory or a table cannot be loaded: a corruption, and the check fails (EINVAL, or the read's error). */
function fail(ctx: CheckCtx, why: string = STRERROR.EINVAL): false {
  ctx.res.corruptions++;
  ctx.res.failed = why;
  return false;
}
