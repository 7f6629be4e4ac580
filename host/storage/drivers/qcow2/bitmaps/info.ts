/**
 * qemu-img info's "bitmaps" (block/qcow2-bitmap.c qcow2_get_bitmap_info_list,
 * qapi/block-core.json Qcow2BitmapInfo): each bitmap of the directory, read from the
 * image as it is now, with its flags, name and granularity.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { IoAcct } from '../../../driver.js';
import type { BitmapsExtension } from '../format/extensions.js';
import { AUTOCLEAR_BITMAPS } from '../format/features.js';
import type { Qcow2State } from '../state.js';
import { bitmapName, infoFlags } from './format.js';
import { loadBitmapList, type BitmapImage } from './read.js';

/** Qcow2BitmapInfo, keys in the schema's order. */
export interface Qcow2BitmapInfo {
  readonly flags: string[];
  readonly name: string;
  readonly granularity: number;
}

/** The bitmaps qemu-img info lists, or why the directory cannot be read. */
export function bitmapInfoList(img: BitmapImage, ext: BitmapsExtension, acct: IoAcct): E.Either<string, Qcow2BitmapInfo[]> {
  const list = loadBitmapList(img, ext, acct);
  if (E.isLeft(list)) return list;
  return E.right(list.right.map((e) => ({ flags: infoFlags(e.flags), name: bitmapName(e), granularity: 2 ** e.granularityBits })));
}

/** The list for qemu-img info of an open image: undefined when it has no consistent bitmaps (or they cannot be read). */
export function imageBitmapInfo(s: Pick<Qcow2State, 'file' | 'clusterSize' | 'size' | 'bitmaps' | 'autoclearFeatures'>): Qcow2BitmapInfo[] | undefined {
  if (!s.bitmaps || !(s.autoclearFeatures & AUTOCLEAR_BITMAPS)) return undefined;
  const list = bitmapInfoList({ file: s.file, clusterSize: s.clusterSize, diskSize: s.size }, s.bitmaps, { ns: 0 });
  return E.isRight(list) && list.right.length ? list.right : undefined;
}
