/**
 * One experiment: a VM from QEMU arguments, fio jobs, a seed, a cost model → a run
 * report. This is what `iopath run` and the comparisons do for each configuration.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CostModel } from '../sim/costs.js';
import type { TraceEvent } from '../sim/trace.js';
import { cmdlineErrorMessage, parseQemuArgs } from '../vm/cmdline/index.js';
import { vmErrorMessage } from '../vm/errors.js';
import { startMachine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import type { FioJob } from '../workload/index.js';
import { buildRunReport, type RunReport } from './run-report.js';

export interface Experiment {
  label: string;
  qemuArgs: readonly string[];
  jobs: readonly FioJob[];
}

export interface ExperimentResult {
  report: RunReport;
  /** Every trace event, when the experiment was run with `record`. */
  events?: TraceEvent[];
}

export function runExperiment(x: Experiment, seed: number, costs?: CostModel, record = false): E.Either<string, ExperimentResult> {
  const spec = parseQemuArgs(x.qemuArgs);
  if (E.isLeft(spec)) return E.left(cmdlineErrorMessage(spec.left));
  const m = startMachine(spec.right, { seed, costs, record });
  if (E.isLeft(m)) return E.left(vmErrorMessage(m.left));
  const r = runJobs(m.right, x.jobs);
  if (E.isLeft(r)) return E.left(vmErrorMessage(r.left));
  return E.right({ report: buildRunReport(x.label, r.right.metrics), events: m.right.recorder?.events });
}
