/**
 * `iopath img check`: qemu-img check [-f fmt] [--output=human|json] [-r leaks|all] [-q]
 * [-U] filename. Exit status as qemu-img's: 0 clean, 1 the check could not complete,
 * 2 corruptions, 3 leaked clusters only, 63 the format has no check.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CheckFix, ImageCheckResult } from '../../host/storage/image-api.js';
import { checkImage, type CheckReport } from '../../host/storage/img/info.js';
import { closeImage, errorExit, FORCE_SHARE_OPT, FORMAT_OPT, IMAGE_OPTS_OPT, OBJECT_OPT, hasOpt, open, optValue, OUTPUT_OPT, outputFormat, parseArgs, reportImgError } from './common.js';
import { cFixed, out, report, toJsonPretty, type QDict } from './output.js';

/** ImageCheck as qemu-img fills it: counters shown only when non-zero (the fixed ones as QEMU decides). */
export function imageCheckJson(filename: string, format: string, rep: CheckReport): QDict {
  const r: ImageCheckResult = rep.result;
  const nz = (n: number): number | undefined => (n !== 0 ? n : undefined);
  return {
    filename,
    format,
    'check-errors': r.checkErrors,
    'image-end-offset': nz(r.imageEndOffset),
    corruptions: nz(r.corruptions),
    leaks: nz(r.leaks),
    'corruptions-fixed': nz(rep.corruptionsFixed),
    'leaks-fixed': nz(rep.leaksFixed),
    'total-clusters': nz(r.totalClusters),
    'allocated-clusters': nz(r.allocatedClusters),
    'fragmented-clusters': nz(r.fragmentedClusters),
    'compressed-clusters': nz(r.compressedClusters),
  };
}

const pct = (a: number, b: number): string => cFixed((a * 100) / b, 2);

/** dump_human_image_check. */
export function imageCheckHuman(r: ImageCheckResult): string {
  let s = '';
  if (!(r.corruptions || r.leaks || r.checkErrors)) s += 'No errors were found on the image.\n';
  else {
    if (r.corruptions) s += `\n${r.corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n`;
    if (r.leaks) s += `\n${r.leaks} leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n`;
    if (r.checkErrors) s += `\n${r.checkErrors} internal errors have occurred during the check.\n`;
  }
  if (r.totalClusters !== 0 && r.allocatedClusters !== 0) {
    s += `${r.allocatedClusters}/${r.totalClusters} = ${pct(r.allocatedClusters, r.totalClusters)}% allocated, `;
    s += `${pct(r.fragmentedClusters, r.allocatedClusters)}% fragmented, ${pct(r.compressedClusters, r.allocatedClusters)}% compressed clusters\n`;
  }
  if (r.imageEndOffset) s += `Image end offset: ${r.imageEndOffset}\n`;
  return s;
}

export function runCheck(argv: readonly string[]): number {
  const p = parseArgs(argv, 'f:r:T:qU', [FORMAT_OPT, { name: 'repair', arg: 'required', key: 'r' }, OUTPUT_OPT, OBJECT_OPT, IMAGE_OPTS_OPT, FORCE_SHARE_OPT]);
  if (E.isLeft(p)) return p.left;
  let fix: CheckFix = { leaks: false, errors: false };
  for (const o of p.right.opts) {
    if (o.key !== 'r') continue;
    if (o.arg === 'leaks') fix = { leaks: true, errors: false };
    else if (o.arg === 'all') fix = { leaks: true, errors: true };
    else return errorExit(`Unknown option value for -r (expecting 'leaks' or 'all'): ${o.arg}`);
  }
  if (p.right.operands.length !== 1) return errorExit('Expecting one image file name');
  const filename = p.right.operands[0];
  const fmt = outputFormat(optValue(p.right, 'output'));
  if (E.isLeft(fmt)) return fmt.left;
  const quiet = hasOpt(p.right, 'q');
  const img = open(filename, optValue(p.right, 'f'), hasOpt(p.right, 'r'), { check: true });
  if (!img) return 1;
  const rep = checkImage(img, fix);
  if (E.isLeft(rep)) {
    reportImgError(rep.left);
    return closeImage(img, rep.left._tag === 'Unsupported' ? 63 : 1);
  }
  for (const m of rep.right.messages) process.stderr.write(m.endsWith('\n') ? m : m + '\n');
  const r = rep.right.result;
  if (r.failed !== undefined) return report(`Check failed: ${r.failed}`), closeImage(img, 1);
  if (!quiet) {
    if (rep.right.rechecked && fmt.right === 'human') {
      out(`The following inconsistencies were found and repaired:\n\n    ${rep.right.leaksFixed} leaked clusters\n    ${rep.right.corruptionsFixed} corruptions\n\nDouble checking the fixed image now...\n`);
    }
    out(fmt.right === 'json' ? toJsonPretty(imageCheckJson(filename, img.bs.drv.formatName, rep.right)) + '\n' : imageCheckHuman(r));
  }
  if (r.checkErrors) {
    report('Check failed');
    return closeImage(img, 1);
  }
  return closeImage(img, r.corruptions ? 2 : r.leaks ? 3 : 0);
}
