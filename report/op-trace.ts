/**
 * `iopath trace`: an op list (workload/ops) run in order by one guest process on a booted
 * VM — after mkfs.ext3 and mount, outside the window — with every trace event of the
 * window kept: the system call, the page cache, writeback, the file system's journal
 * I/O, bios, plugging, merging and the scheduler, the virtqueue and its notify, the VM
 * exit, QEMU's device, the storage back end, the completion and the interrupt. The window
 * opens (`phase: run`) when the machine is idle after the setup and closes (`phase: done`)
 * when the last op returns.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CostModel } from '../sim/costs.js';
import type { TraceEvent } from '../sim/trace.js';
import { quiescentTime } from '../vm/machine.js';
import type { Op } from '../workload/ops/parse.js';
import { runOps, type OpResult } from '../workload/ops/run.js';
import { startProc } from '../workload/proc.js';
import { mountFs, type MountSpec } from '../workload/run-file-jobs.js';
import { DEFAULT_MOUNT, guestOs } from './file-experiment.js';
import { bootFromArgs } from './experiment.js';
import { closeMachine } from '../vm/power.js';

export interface OpTrace {
  /** The window's events, in emission order, from `phase: run` to `phase: done` inclusive. */
  events: TraceEvent[];
  results: OpResult[];
  /** When the window opened (virtual ns). */
  origin: number;
}

export function traceOps(qemuArgs: readonly string[], ops: readonly Op[], seed: number, costs?: CostModel, mount: MountSpec = DEFAULT_MOUNT): E.Either<string, OpTrace> {
  const booted = bootFromArgs(qemuArgs, { seed, costs, record: true });
  if (E.isLeft(booted)) return booted;
  const m = booted.right;
  const os = guestOs(m);
  if (E.isLeft(os)) return os;
  const { sim } = m;
  let setup: E.Either<string, void> | undefined;
  startProc(sim, mountFs(os.right, os.right.spawn('iopath-setup', 0), mount), (r) => (setup = r));
  sim.run({ stop: () => setup !== undefined });
  if (setup === undefined) return E.left(`mkfs/mount of ${mount.device} at ${mount.dir} never finished`);
  if (E.isLeft(setup)) return setup;
  const task = os.right.spawn('iopath-trace', 0);
  const events = m.recorder!.events;
  let first = -1;
  let results: OpResult[] | undefined;
  let origin = 0;
  sim.at(quiescentTime(m), () => {
    origin = sim.now;
    first = events.length;
    m.trace.emit({ kind: 'phase', t: sim.now, name: 'run' });
    startProc(sim, runOps({ sim, mem: m.mem, os: os.right, trace: m.trace }, task, ops), (r) => {
      results = r;
      m.trace.emit({ kind: 'phase', t: sim.now, name: 'done' });
    });
  });
  sim.run({ stop: () => results !== undefined });
  closeMachine(m);
  if (!results) return E.left('the ops never finished');
  const done = events.findIndex((e, i) => i > first && e.kind === 'phase' && e.name === 'done');
  return E.right({ events: events.slice(first, done + 1), results, origin });
}
