/**
 * `iopath trace --op 'write /mnt/f 4096@0; fsync /mnt/f' [-- QEMU args]`: run the ops in
 * order on a booted VM (mkfs.ext3 /dev/vda and mount /mnt first) and print the path they
 * took, layer by layer, with virtual timestamps from the first op; then each op's result.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fmtNs } from '../report/format.js';
import { traceOps } from '../report/op-trace.js';
import { renderTimeline } from '../report/timeline.js';
import { formatOp, opErrorMessage, parseOps } from '../workload/index.js';
import { fail, runInputs } from './common.js';

export interface TraceOpts {
  op?: string;
  seed: string;
  costs?: string;
  /** Also print the execution contexts' busy spans. */
  work?: boolean;
  mount?: string;
  device?: string;
  mkfs?: boolean;
}

export function runTrace(qemu: string[], opts: TraceOpts): number {
  if (opts.op === undefined) return fail("trace: --op is required, e.g. --op 'write /mnt/f 4096@0; fsync /mnt/f'");
  const ops = parseOps(opts.op);
  if (E.isLeft(ops)) return fail(`--op: ${opErrorMessage(ops.left)}`);
  const inputs = runInputs(qemu, opts);
  if (E.isLeft(inputs)) return inputs.left;
  const { args, seed, costs } = inputs.right;
  const mount = { device: opts.device ?? '/dev/vda', dir: opts.mount ?? '/mnt', mkfs: opts.mkfs !== false };
  const r = traceOps(args, ops.right, seed, costs, mount);
  if (E.isLeft(r)) return fail(r.left);
  const { events, results, origin } = r.right;
  const out: string[] = [];
  out.push(`ops: ${ops.right.map(formatOp).join('; ')}`);
  out.push(`(${mount.mkfs ? 'mkfs.ext3 and ' : ''}mount ${mount.device} on ${mount.dir} done before the first op; times from the first op)`);
  out.push('');
  out.push(renderTimeline(events, { withWork: opts.work === true, origin }));
  out.push('');
  for (const [i, x] of results.entries()) {
    out.push(`${String(i + 1).padStart(3)}  ${formatOp(x.op).padEnd(32)} → ${x.result}${x.detail ? ` (${x.detail})` : ''} in ${fmtNs(x.endedAt - x.startedAt)}`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
