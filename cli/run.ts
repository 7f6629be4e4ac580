/** `iopath run`: one job on one VM, reported as text or JSON. */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { parseEvents, type EventOutcome } from '../report/events.js';
import { runExperiment } from '../report/experiment.js';
import { fmtNs } from '../report/format.js';
import { renderRun, runJson } from '../report/text.js';
import { renderTimeline } from '../report/timeline.js';
import type { TraceEvent } from '../sim/trace.js';
import { DEFAULT_JOB, fioErrorMessage, isFileJob, parseFioJob, type FioJob } from '../workload/index.js';
import { fail, runInputs, writeChromeTrace } from './common.js';
import { runFilesRun } from './run-files.js';

export interface RunOpts {
  job?: string;
  timeline?: string;
  chromeTrace?: string;
  seed: string;
  costs?: string;
  json?: boolean;
  /** For jobs on files: the mount point, the device, and whether to mkfs it first. */
  mount?: string;
  device?: string;
  mkfs?: boolean;
  /** Scripted QMP commands: '<time> device_add <options>' / '<time> device_del <id>'. */
  event?: string[];
}

function loadJobs(file: string | undefined): E.Either<string, FioJob[]> {
  if (file === undefined) return E.right([{ ...DEFAULT_JOB }]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return E.left(`--job ${file}: ${(e as Error).message}`);
  }
  return E.mapLeft((err: Parameters<typeof fioErrorMessage>[0]) => `${file}: ${fioErrorMessage(err)}`)(parseFioJob(text));
}

export function runRun(qemu: string[], opts: RunOpts): number {
  const inputs = runInputs(qemu, opts);
  if (E.isLeft(inputs)) return inputs.left;
  const { args, seed, costs } = inputs.right;
  const jobs = loadJobs(opts.job);
  if (E.isLeft(jobs)) return fail(jobs.left);
  if (jobs.right.length === 0) return fail(`${opts.job}: no jobs in the file`);
  const label = jobs.right.map((j) => j.name).join('+');
  const timeline = opts.timeline === undefined ? 0 : Number(opts.timeline);
  if (!Number.isSafeInteger(timeline) || timeline < 0) return fail(`--timeline expects a number of I/Os, got '${opts.timeline}'`);
  const onFiles = jobs.right.filter(isFileJob).length;
  if (onFiles > 0) {
    if (onFiles < jobs.right.length) return fail(`${opts.job}: jobs on files and jobs on block devices (filename=/dev/…) cannot run together; use two job files`);
    if ((opts.event ?? []).length > 0) return fail(`--event: scripted QMP commands are modelled for jobs on block devices only, not yet for jobs on files (${opts.job})`);
    return runFilesRun(args, jobs.right, label, seed, costs, { ...opts, timeline });
  }
  const scripted = parseEvents(opts.event ?? []);
  if (E.isLeft(scripted)) return fail(scripted.left);
  const record = timeline > 0 || opts.chromeTrace !== undefined;
  const r = runExperiment({ label, qemuArgs: args, jobs: jobs.right, events: scripted.right }, seed, costs, record);
  if (E.isLeft(r)) return fail(r.left);
  const { report, events = [], outcomes } = r.right;
  const traceFailed = writeChromeTrace(opts.chromeTrace, events);
  if (traceFailed !== undefined) return traceFailed;
  if (timeline > 0) process.stdout.write(renderTimeline(firstIos(events, timeline), { withWork: true }) + '\n\n');
  if (opts.json) process.stdout.write(JSON.stringify(outcomes.length > 0 ? { ...runJson(report), events: outcomes } : runJson(report), null, 2) + '\n');
  else process.stdout.write(renderOutcomes(outcomes) + renderRun(report) + '\n');
  return 0;
}

/** One line per scripted event: its time and QMP's answer. */
function renderOutcomes(outcomes: readonly EventOutcome[]): string {
  return outcomes.map((o) => `at ${fmtNs(o.atNs)}: ${o.command}: ${o.error === undefined ? 'ok' : `error: ${o.error}`}\n`).join('');
}

/** The measured window's events up to the completion of its `n`th I/O. */
function firstIos(events: readonly TraceEvent[], n: number): TraceEvent[] {
  const start = events.findIndex((e) => e.kind === 'phase' && e.name === 'run');
  const out: TraceEvent[] = [];
  let done = 0;
  for (let i = Math.max(0, start); i < events.length && done < n; i++) {
    out.push(events[i]);
    if (events[i].kind === 'io-complete') done++;
  }
  return out;
}
