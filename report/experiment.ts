/**
 * One experiment: a VM from QEMU arguments, fio jobs, a seed, a cost model → a run
 * report. This is what `iopath run` and the comparisons do for each configuration.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CostModel } from '../sim/costs.js';
import type { TraceEvent } from '../sim/trace.js';
import { cmdlineErrorMessage, parseQemuArgs } from '../vm/cmdline/index.js';
import { vmErrorMessage } from '../vm/errors.js';
import { startMachine, type Machine, type MachineOptions } from '../vm/machine.js';
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

/** A machine booted from QEMU arguments, or the message that says why not (QEMU's, or the VM's). */
export function bootFromArgs(qemuArgs: readonly string[], opts: MachineOptions): E.Either<string, Machine> {
  const spec = parseQemuArgs(qemuArgs);
  if (E.isLeft(spec)) return E.left(cmdlineErrorMessage(spec.left));
  return E.mapLeft(vmErrorMessage)(startMachine(spec.right, opts));
}

export function runExperiment(x: Experiment, seed: number, costs?: CostModel, record = false): E.Either<string, ExperimentResult> {
  const m = bootFromArgs(x.qemuArgs, { seed, costs, record });
  if (E.isLeft(m)) return m;
  const r = runJobs(m.right, x.jobs);
  if (E.isLeft(r)) return E.left(vmErrorMessage(r.left));
  return E.right({ report: buildRunReport(x.label, r.right.metrics), events: m.right.recorder?.events });
}
