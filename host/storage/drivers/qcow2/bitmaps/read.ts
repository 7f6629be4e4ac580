/**
 * Reading the bitmap directory and bitmap tables from the image file (block/qcow2-bitmap.c
 * bitmap_list_load, bitmap_table_load). Only what lies inside the file is read into memory;
 * the rest reads as zeros, as a read past the end of a file does in QEMU. So memory is
 * bounded by the file's size as well as by QEMU's limits (a directory of 64 MiB at most, a
 * table of BME_MAX_PHYS_SIZE / cluster_size entries, 8 MiB at most).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { IoAcct } from '../../../driver.js';
import { STRERROR } from '../../../errors.js';
import type { BlockDriverState } from '../../../node.js';
import type { BitmapsExtension } from '../format/extensions.js';
import { BME_MAX_PHYS_SIZE, BME_MAX_TABLE_SIZE, BME_TABLE_ENTRY_SIZE, decodeDirectory, decodeTableEntry, type BitmapDirEntry, type BitmapGeometry, type TableEntry } from './format.js';

/** What reading needs of the image. */
export interface BitmapImage extends BitmapGeometry {
  readonly file: BlockDriverState;
}

/** Why a read failed: an errno text (QEMU's strerror) for the callers to word. */
export type ReadFailure = string;

/** The bytes of [offset, offset + size) that lie inside the file. */
export function readInFile(file: BlockDriverState, offset: number, size: number, acct: IoAcct): E.Either<ReadFailure, Uint8Array> {
  const len = file.getLength();
  const n = offset >= len ? 0 : Math.min(size, len - offset);
  const buf = new Uint8Array(n);
  if (n === 0) return E.right(buf);
  const err = file.preadv(offset, buf, acct);
  return err ? E.left(STRERROR[err.errno] ?? err.message) : E.right(buf);
}

/** bitmap_list_load: the directory the extension points at, checked entry by entry. */
export function loadBitmapList(img: BitmapImage, ext: BitmapsExtension, acct: IoAcct): E.Either<string, BitmapDirEntry[]> {
  if (ext.directorySize === 0) return E.left('Requested bitmap directory size is zero');
  const dir = readInFile(img.file, ext.directoryOffset, ext.directorySize, acct);
  if (E.isLeft(dir)) return E.left(`Failed to read bitmap directory: ${dir.left}`);
  return decodeDirectory(dir.right, ext.directorySize, ext.nbBitmaps, img);
}

/** A bitmap table as read and checked: its entries decoded on demand (past the end of the file, zero). */
export class BitmapTable {
  private readonly view: DataView;

  constructor(
    readonly size: number,
    private readonly clusterSize: number,
    bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Entries that lie inside the file (the others are zero). */
  get inFile(): number {
    return Math.min(this.size, Math.floor(this.view.byteLength / BME_TABLE_ENTRY_SIZE));
  }

  /** Entry `i` as stored. */
  raw(i: number): bigint {
    return i < this.inFile ? this.view.getBigUint64(i * BME_TABLE_ENTRY_SIZE) : 0n;
  }

  /** Entry `i` decoded (undefined for one QEMU refuses; a loaded table has none). */
  entry(i: number): TableEntry | undefined {
    return decodeTableEntry(this.raw(i), this.clusterSize);
  }
}

/**
 * bitmap_table_load: the table of `e`, every entry checked (check_table_entry). Left with
 * the errno text: "Invalid argument" for a bad entry, else the read's error.
 */
export function loadBitmapTable(img: BitmapImage, e: Pick<BitmapDirEntry, 'tableOffset' | 'tableSize'>, acct: IoAcct): E.Either<ReadFailure, BitmapTable> {
  // The directory's checks bound the size; checked again so that no caller can skip them.
  if (e.tableSize === 0 || e.tableSize > BME_MAX_TABLE_SIZE || e.tableSize * img.clusterSize > BME_MAX_PHYS_SIZE) return E.left(STRERROR.EINVAL);
  const bytes = readInFile(img.file, e.tableOffset, e.tableSize * BME_TABLE_ENTRY_SIZE, acct);
  if (E.isLeft(bytes)) return bytes;
  const table = new BitmapTable(e.tableSize, img.clusterSize, bytes.right);
  for (let i = 0; i < table.inFile; i++) if (!table.entry(i)) return E.left(STRERROR.EINVAL);
  return E.right(table);
}
