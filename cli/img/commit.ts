/**
 * `iopath img commit`: qemu-img commit [-f fmt] [-b base] [-d] [-q] filename. Writes the
 * image's data into its backing file (or into `base`, further down the chain), then
 * empties the image unless -d (-b implies -d).
 */
import * as E from 'fp-ts/lib/Either.js';
import { commitInto, makeEmpty } from '../../host/storage/img/commit.js';
import { backingChain, backingOf, fullBackingFilename, nodeFilename, openImage } from '../../host/storage/img/image.js';
import { driverInfo } from '../../host/storage/img/info.js';
import type { BlockDriverState } from '../../host/storage/node.js';
import { closeImage, errorExit, hasOpt, IMAGE_OPTS_OPT, OBJECT_OPT, open, optValue, parseArgs, reportImgError } from './common.js';
import { out, report } from './output.js';

/**
 * bdrv_find_backing_image: the image of the chain below `top` that `name` names, as
 * written in its parent or resolved against the parent's directory.
 */
function findBacking(top: BlockDriverState, topName: string, name: string): BlockDriverState | undefined {
  const chain = backingChain(top);
  let parentName = topName;
  for (let i = 1; i < chain.length; i++) {
    const written = driverInfo(chain[i - 1])?.backingFilename;
    const full = written === undefined ? undefined : fullBackingFilename(parentName, written);
    const here = full && E.isRight(full) ? full.right : (nodeFilename(chain[i]) ?? '');
    if (name === written || name === here) return chain[i];
    parentName = here;
  }
  return undefined;
}

export function runCommit(argv: readonly string[]): number {
  const p = parseArgs(argv, 'f:t:b:dpq', [OBJECT_OPT, IMAGE_OPTS_OPT]);
  if (E.isLeft(p)) return p.left;
  if (p.right.operands.length !== 1) return errorExit('Expecting one image file name');
  const filename = p.right.operands[0];
  const baseName = optValue(p.right, 'b');
  const drop = hasOpt(p.right, 'd') || baseName !== undefined;
  const img = open(filename, optValue(p.right, 'f'), true);
  if (!img) return 1;
  const base = baseName !== undefined ? findBacking(img.bs, filename, baseName) : backingOf(img.bs);
  if (!base) {
    report(baseName !== undefined ? `Did not find '${baseName}' in the backing chain of '${filename}'` : 'Image does not have a backing file');
    return closeImage(img, 1);
  }
  // The backing file was opened read-only with the image: write through a writable opening of it.
  const baseFile = nodeFilename(base);
  const writable = baseFile === undefined ? undefined : openImage(baseFile, { format: base.drv.formatName, writable: true });
  if (writable && E.isLeft(writable)) return reportImgError(writable.left), closeImage(img, 1);
  const target = writable?.right;
  const done = commitInto(img.bs, base, target?.bs);
  const flushed = target?.close() ?? null;
  if (E.isLeft(done)) return reportImgError(done.left), closeImage(img, 1);
  if (flushed) return report(`Block job failed: ${flushed.message}`), closeImage(img, 1);
  if (!drop) {
    const emptied = makeEmpty(img.bs, filename);
    if (E.isLeft(emptied)) return reportImgError(emptied.left), closeImage(img, 1);
  }
  if (!hasOpt(p.right, 'q')) out('Image committed.\n');
  return closeImage(img, 0);
}
