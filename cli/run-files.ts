/**
 * `iopath run` with a job file whose jobs are on files: mkfs.ext3 the device (unless
 * `--no-mkfs`), mount it (`--mount`, default /mnt), lay the files out, run the jobs, and
 * print the file-job report (system calls, page cache, block layer, device, exits).
 */
import * as E from 'fp-ts/lib/Either.js';
import { runFileExperiment } from '../report/file-experiment.js';
import { renderTimeline } from '../report/timeline.js';
import { renderFileRun } from '../report/file-text.js';
import type { CostModel } from '../sim/costs.js';
import type { TraceEvent } from '../sim/trace.js';
import type { FioJob } from '../workload/index.js';
import { fail, writeChromeTrace } from './common.js';

export interface FileRunOpts {
  /** Where the file system is mounted (default /mnt). */
  mount?: string;
  /** The block device it is on (default /dev/vda). */
  device?: string;
  /** commander's `--no-mkfs`: false to mount what is already on the device. */
  mkfs?: boolean;
  timeline?: number;
  chromeTrace?: string;
  json?: boolean;
}

export function runFilesRun(args: readonly string[], jobs: readonly FioJob[], label: string, seed: number, costs: CostModel, opts: FileRunOpts): number {
  const mount = { device: opts.device ?? '/dev/vda', dir: opts.mount ?? '/mnt', mkfs: opts.mkfs !== false };
  if (!mount.dir.startsWith('/')) return fail(`--mount expects an absolute directory, got '${mount.dir}'`);
  const timeline = opts.timeline ?? 0;
  const record = timeline > 0 || opts.chromeTrace !== undefined;
  const r = runFileExperiment({ label, qemuArgs: args, jobs, mount }, seed, costs, record);
  if (E.isLeft(r)) return fail(r.left);
  const { report, events = [] } = r.right;
  const traceFailed = writeChromeTrace(opts.chromeTrace, events);
  if (traceFailed !== undefined) return traceFailed;
  if (timeline > 0) process.stdout.write(renderTimeline(firstCalls(events, timeline), { withWork: true }) + '\n\n');
  process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : renderFileRun(report)) + '\n');
  return 0;
}

/** The measured window's events up to the return of its `n`th system call. */
function firstCalls(events: readonly TraceEvent[], n: number): TraceEvent[] {
  const start = events.findIndex((e) => e.kind === 'phase' && e.name === 'run');
  const out: TraceEvent[] = [];
  let done = 0;
  for (let i = Math.max(0, start); i < events.length && done < n; i++) {
    out.push(events[i]);
    const e = events[i];
    if (e.kind === 'syscall' && e.phase === 'exit') done++;
  }
  return out;
}
