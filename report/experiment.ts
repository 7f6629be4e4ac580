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
import { guestDisks } from '../vm/guest-boot.js';
import { runJobs } from '../vm/run-jobs.js';
import { closeMachine } from '../vm/power.js';
import type { FioJob } from '../workload/index.js';
import { scheduleEvents, type EventOutcome, type ScriptedEvent } from './events.js';
import { buildRunReport, type RunReport } from './run-report.js';

export interface Experiment {
  label: string;
  qemuArgs: readonly string[];
  jobs: readonly FioJob[];
  /** QMP commands at times into the measured window (`iopath run --event`). */
  events?: readonly ScriptedEvent[];
}

export interface ExperimentResult {
  report: RunReport;
  /** Every trace event, when the experiment was run with `record`. */
  events?: TraceEvent[];
  /** What each scripted event did, in the order they ran. */
  outcomes: EventOutcome[];
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
  const outcomes: EventOutcome[] = [];
  scheduleEvents(m.right, x.events ?? [], outcomes);
  const r = runJobs(m.right, x.jobs);
  // QEMU's quit: the drives are closed, so image files hold what reached QEMU.
  closeMachine(m.right);
  if (E.isLeft(r)) return E.left(vmErrorMessage(r.left));
  return E.right({ report: buildRunReport(x.label, r.right.metrics, jobDevices(m.right, x.jobs)), events: m.right.recorder?.events, outcomes });
}

/** The devices the jobs ran on, as run-jobs resolves `filename=` (default: the first disk). */
export function jobDevices(m: Machine, jobs: readonly FioJob[]): string[] {
  const first = guestDisks(m.guest)[0]?.name;
  const names = jobs.map((j) => j.filename ?? (first === undefined ? undefined : `/dev/${first}`)).filter((n): n is string => n !== undefined);
  return [...new Set(names.map((n) => (n.startsWith('/dev/') ? n : `/dev/${n}`)))];
}
