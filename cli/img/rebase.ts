/**
 * `iopath img rebase`: qemu-img rebase [-f fmt] [-u] -b backing_file [-F backing_fmt] [-q]
 * [-U] filename. Safe mode (no -u) first copies into the image whatever would read
 * differently over the new backing file; -b '' removes the backing file.
 */
import * as E from 'fp-ts/lib/Either.js';
import { changeBacking, rebaseCopy } from '../../host/storage/img/commit.js';
import { blockErrorMessage } from '../../host/storage/errors.js';
import { imgErrorMessage } from '../../host/storage/img/errors.js';
import { backingOf, fullBackingFilename, openImage, type OpenImage } from '../../host/storage/img/image.js';
import { findBlockDriver } from '../../host/storage/registry.js';
import { closeImage, errorExit, FORCE_SHARE_OPT, hasOpt, IMAGE_OPTS_OPT, OBJECT_OPT, open, optValue, parseArgs, reportImgError } from './common.js';
import { report } from './output.js';

export function runRebase(argv: readonly string[]): number {
  const p = parseArgs(argv, 'f:F:b:upt:T:qU', [OBJECT_OPT, IMAGE_OPTS_OPT, FORCE_SHARE_OPT]);
  if (E.isLeft(p)) return p.left;
  const unsafe = hasOpt(p.right, 'u');
  const backing = optValue(p.right, 'b');
  const backingFmt = optValue(p.right, 'F');
  if (p.right.operands.length !== 1) return errorExit('Expecting one image file name');
  if (!unsafe && backing === undefined) return errorExit('Must specify backing file (-b) or use unsafe mode (-u)');
  const filename = p.right.operands[0];
  const img = open(filename, optValue(p.right, 'f'), true, { noBacking: unsafe });
  if (!img) return 1;
  if (backingFmt !== undefined && !findBlockDriver(backingFmt)) return report(`Invalid format name: '${backingFmt}'`), closeImage(img, 1);
  let fresh: OpenImage | undefined;
  if (!unsafe && backing) {
    const full = fullBackingFilename(filename, backing);
    if (E.isLeft(full)) return report(`Could not resolve backing filename: ${imgErrorMessage(full.left)}`), closeImage(img, 1);
    const opened = openImage(full.right, { format: backingFmt });
    if (E.isLeft(opened)) {
      const e = opened.left;
      report(`Could not open new backing file '${backing}': ${e._tag === 'OpenFailed' ? blockErrorMessage(e.error) : imgErrorMessage(e)}`);
      return closeImage(img, 1);
    }
    fresh = opened.right;
  }
  let code = 0;
  if (!unsafe) {
    const copied = rebaseCopy(img.bs, { oldBacking: backingOf(img.bs), newBacking: fresh?.bs });
    if (E.isLeft(copied)) {
      reportImgError(copied.left);
      code = 1;
    }
  }
  if (code === 0) {
    const changed = changeBacking(img.bs, backing || undefined, backing ? backingFmt : undefined);
    if (E.isLeft(changed)) {
      reportImgError(changed.left);
      code = 1;
    }
  }
  fresh?.close();
  return closeImage(img, code);
}
