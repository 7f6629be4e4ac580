/**
 * `qemu-img info` and `qemu-img check` over the driver hooks (bdrv_query_image_info,
 * bdrv_check).
 *
 * What the format knows comes from `info()` (QEMU's bdrv_get_info and
 * bdrv_get_specific_info). A format without the hook answers with its `file` child's
 * (QEMU's raw does exactly this), and the dirty flag is reported only when some driver
 * answered: raw over a host file shows "dirty-flag": false, raw over null-co shows none.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockDriverState } from '../node.js';
import type { CheckFix, DriverImageInfo, FormatSpecificInfo, ImageCheckResult, SnapshotInfo } from '../image-api.js';
import { unsupported, type ImgError } from './errors.js';
import { allocatedFileSize, fullBackingFilename, imageLength, type OpenImage } from './image.js';

/** ImageInfo (qapi/block-core.json), for one image of a chain. */
export interface ImageInfo {
  readonly filename: string;
  readonly format: string;
  readonly virtualSize: number;
  readonly actualSize?: number;
  readonly dirtyFlag?: boolean;
  readonly clusterSize?: number;
  readonly encrypted?: boolean;
  readonly backingFilename?: string;
  readonly fullBackingFilename?: string;
  readonly backingFilenameFormat?: string;
  /** Present only when the image has snapshots. */
  readonly snapshots?: readonly SnapshotInfo[];
  readonly formatSpecific?: FormatSpecificInfo;
}

/** bdrv_get_info with raw's fallback to its file: undefined when no driver answers. */
export function driverInfo(bs: BlockDriverState): DriverImageInfo | undefined {
  if (bs.drv.info) return bs.drv.info(bs.opaque);
  const file = bs.drv.protocol ? undefined : bs.child('file');
  return file ? driverInfo(file) : undefined;
}

/** bdrv_query_image_info for the image opened as `filename`. */
export function imageInfo(bs: BlockDriverState, filename: string): ImageInfo {
  const di = bs.drv.info?.(bs.opaque);
  const answered = driverInfo(bs);
  const backing = di?.backingFilename || undefined;
  const full = backing === undefined ? undefined : fullBackingFilename(filename, backing);
  const snapshots = bs.drv.snapshots?.list(bs.opaque) ?? [];
  return {
    filename,
    format: bs.drv.formatName,
    virtualSize: imageLength(bs),
    actualSize: allocatedFileSize(bs),
    dirtyFlag: answered === undefined ? undefined : !!answered.dirty,
    clusterSize: answered?.clusterSize || undefined,
    encrypted: answered?.encrypted || undefined,
    backingFilename: backing,
    fullBackingFilename: full && E.isRight(full) ? full.right : undefined,
    backingFilenameFormat: di?.backingFormat || undefined,
    snapshots: snapshots.length > 0 ? snapshots : undefined,
    formatSpecific: di?.formatSpecific,
  };
}

/** What `qemu-img check` found; `fixed` holds the first pass's repairs when it repaired something. */
export interface CheckReport {
  readonly result: ImageCheckResult;
  readonly leaksFixed: number;
  readonly corruptionsFixed: number;
  /** The image was repaired and checked again ("Double checking the fixed image now..."). */
  readonly rechecked: boolean;
  /** Every message the checks printed, in order. */
  readonly messages: readonly string[];
}

export const CHECK_UNSUPPORTED = 'This image format does not support checks';

/**
 * img_check: check (and with `fix`, repair) the image; when something was repaired,
 * check it again without repairing and report that second result with the first one's
 * repair counts.
 */
export function checkImage(img: OpenImage, fix: CheckFix): E.Either<ImgError, CheckReport> {
  const { bs } = img;
  const check = bs.drv.check;
  if (!check) return E.left(unsupported(CHECK_UNSUPPORTED));
  const first = check(bs.opaque, fix, { ns: 0 });
  if (E.isLeft(first)) return E.left({ _tag: 'Block', error: first.left, prefix: 'Check failed: ' });
  const r = first.right;
  if (r.failed !== undefined || (r.leaksFixed === 0 && r.corruptionsFixed === 0)) {
    return E.right({ result: r, leaksFixed: r.leaksFixed, corruptionsFixed: r.corruptionsFixed, rechecked: false, messages: r.messages });
  }
  const second = check(bs.opaque, { leaks: false, errors: false }, { ns: 0 });
  if (E.isLeft(second)) return E.left({ _tag: 'Block', error: second.left, prefix: 'Check failed: ' });
  return E.right({
    result: second.right,
    leaksFixed: r.leaksFixed,
    corruptionsFixed: r.corruptionsFixed,
    rechecked: true,
    messages: [...r.messages, ...second.right.messages],
  });
}
