/**
 * What opening an image with consistent persistent bitmaps does with them
 * (block/qcow2-bitmap.c qcow2_load_dirty_bitmaps, load_bitmap, load_bitmap_data): the
 * directory is read and checked, and each bitmap not marked in use has its table read and
 * checked against the size the disk and granularity give it. An image whose bitmaps fail
 * this does not open, in QEMU's words.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { IoAcct } from '../../../driver.js';
import { STRERROR } from '../../../errors.js';
import type { BitmapsExtension } from '../format/extensions.js';
import type { BlockIoError } from '../../../block-backend-api.js';
import { DirtyBitmap } from './dirty.js';
import { bitmapName, bitmapTableSize, BME_FLAG_AUTO, BME_FLAG_IN_USE, BME_MAX_TABLE_SIZE, type BitmapDirEntry } from './format.js';
import { loadBitmapList, loadBitmapTable, type BitmapImage, type BitmapTable } from './read.js';

/** One bitmap of the directory; `table` when it was consistent (not in use) and loaded. */
export interface LoadedBitmap {
  readonly entry: BitmapDirEntry;
  readonly table: BitmapTable | undefined;
}

/** qcow2_load_dirty_bitmaps' reading and checks: the bitmaps, or why the image cannot be opened. */
export function loadBitmaps(img: BitmapImage, ext: BitmapsExtension, acct: IoAcct): E.Either<string, LoadedBitmap[]> {
  const list = loadBitmapList(img, ext, acct);
  if (E.isLeft(list)) return list;
  const names = new Set<string>();
  const out: LoadedBitmap[] = [];
  for (const entry of list.right) {
    const name = bitmapName(entry);
    // bdrv_create_dirty_bitmap: names are unique on a node.
    if (names.has(name)) return E.left(`Bitmap already exists: ${name}`);
    names.add(name);
    if (entry.flags & BME_FLAG_IN_USE) {
      out.push({ entry, table: undefined });
      continue;
    }
    const table = loadBitmapTable(img, entry, acct);
    if (E.isLeft(table)) return E.left(`Could not read bitmap_table table from image for bitmap '${name}': ${table.left}`);
    const need = bitmapTableSize(img, entry.granularityBits);
    if (need !== entry.tableSize || need > BME_MAX_TABLE_SIZE) return E.left(`Could not read bitmap '${name}' from image: ${STRERROR.EINVAL}`);
    out.push({ entry, table: table.right });
  }
  return E.right(out);
}

/** load_bitmap_data: a consistent bitmap's data (its table loaded) read into memory. */
export function loadBitmapData(img: BitmapImage, l: LoadedBitmap, acct: IoAcct): DirtyBitmap | BlockIoError {
  const e = l.entry;
  const bm = new DirtyBitmap(img.diskSize, e.granularityBits, img.clusterSize, (e.flags & BME_FLAG_AUTO) !== 0);
  const table = l.table;
  for (let i = 0; table && i < table.inFile; i++) {
    const t = table.entry(i);
    if (!t || (!t.offset && !t.allOnes)) continue;
    if (!t.offset) {
      bm.load(i, 'ones');
      continue;
    }
    const buf = new Uint8Array(img.clusterSize);
    const err = img.file.preadv(t.offset, buf, acct);
    if (err) return err;
    bm.load(i, buf);
  }
  return bm;
}
