/** `iopath compare` (and `npm start`): the default comparison. */
import * as E from 'fp-ts/lib/Either.js';
import { defaultComparison, SCSI_BLK_PAIRS } from '../report/default-comparison.js';
import { renderDeviceDelta } from '../report/device-delta.js';
import { runExperiment } from '../report/experiment.js';
import type { RunReport } from '../report/run-report.js';
import { renderComparison, runJson } from '../report/text.js';
import { fail, loadCosts, parseSeed } from './common.js';

export function runCompare(opts: { seed: string; costs?: string; ios: string; json?: boolean }): number {
  const seed = parseSeed(opts.seed);
  if (E.isLeft(seed)) return fail(seed.left);
  const costs = loadCosts(opts.costs);
  if (E.isLeft(costs)) return fail(costs.left);
  const ios = Number(opts.ios);
  if (!Number.isSafeInteger(ios) || ios <= 0) return fail(`--ios expects a positive integer, got '${opts.ios}'`);
  const reports: RunReport[] = [];
  for (const x of defaultComparison(ios)) {
    const r = runExperiment(x, seed.right, costs.right);
    if (E.isLeft(r)) return fail(`${x.label}: ${r.left}`);
    reports.push(r.right.report);
  }
  if (opts.json) process.stdout.write(JSON.stringify(reports.map(runJson), null, 2) + '\n');
  else {
    process.stdout.write(renderComparison('virtio-blk (/dev/vda) and virtio-scsi (/dev/sda) over a memory-backed raw image, 4 KiB random writes, O_DIRECT, libaio (per-I/O figures over the measured window)', reports) + '\n\n');
    process.stdout.write(renderDeviceDelta('virtio-scsi minus virtio-blk, same knobs (msix, ioeventfd), per I/O; CPU time from the trace\'s work spans:', SCSI_BLK_PAIRS, reports, costs.right) + '\n');
  }
  return 0;
}
