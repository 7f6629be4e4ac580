/**
 * `iopath img compare`: qemu-img compare [-f fmt] [-F fmt] [-s] [-q] [-U] filename1
 * filename2. Exit status 0 identical, 1 different, 2 an image could not be opened, 4 a
 * read failed.
 */
import * as E from 'fp-ts/lib/Either.js';
import { compareImages, type CompareResult } from '../../host/storage/img/compare.js';
import { errorExit, FORCE_SHARE_OPT, hasOpt, IMAGE_OPTS_OPT, OBJECT_OPT, open, optValue, parseArgs, reportImgError } from './common.js';
import { out } from './output.js';

/** What qemu-img prints for a comparison, and its exit status. */
export function compareOutput(r: CompareResult): { readonly text: string; readonly code: number } {
  const warning = 'Warning: Image size mismatch!\n';
  switch (r._tag) {
    case 'Identical':
      return { text: (r.sizeMismatch ? warning : '') + 'Images are identical.\n', code: 0 };
    case 'Mismatch':
      return { text: (r.sizeMismatch ? warning : '') + `Content mismatch at offset ${r.offset}!\n`, code: 1 };
    case 'StrictSize':
      return { text: 'Strict mode: Image size mismatch!\n', code: 1 };
    case 'StrictStatus':
      return { text: `Strict mode: Offset ${r.offset} block status mismatch!\n`, code: 1 };
  }
}

export function runCompare(argv: readonly string[]): number {
  const p = parseArgs(argv, 'f:F:T:pqsU', [OBJECT_OPT, IMAGE_OPTS_OPT, FORCE_SHARE_OPT]);
  if (E.isLeft(p)) return p.left;
  if (p.right.operands.length !== 2) return errorExit('Expecting two image file names');
  const [name1, name2] = p.right.operands;
  const img1 = open(name1, optValue(p.right, 'f'));
  if (!img1) return 2;
  const img2 = open(name2, optValue(p.right, 'F'));
  if (!img2) return img1.close(), 2;
  const r = compareImages({ bs: img1.bs, name: name1 }, { bs: img2.bs, name: name2 }, hasOpt(p.right, 's'));
  img1.close();
  img2.close();
  if (E.isLeft(r)) return reportImgError(r.left), 4;
  const { text, code } = compareOutput(r.right);
  if (!hasOpt(p.right, 'q')) out(text);
  return code;
}
