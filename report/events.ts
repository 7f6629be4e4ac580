/**
 * Scripted events of a run (`iopath run --event '<t> <command>'`): QMP commands issued at
 * a virtual time after the measured window opens, as a management layer would issue them
 * during the job.
 *
 *   2ms device_add scsi-hd,bus=scsi0.0,scsi-id=1,drive=d1,id=hot1
 *   5ms device_del hot1
 *   3ms stop
 *   8ms cont
 *
 * `stop` and `cont` are QMP's (vm/runstate.ts): a `cont` also ends a stop a drive's
 * rerror/werror policy made (run state io-error), and the stopped requests are retried.
 *
 * Times take ns, us, ms or s (a bare number is ns). A command QMP would refuse (no such
 * device, a drive in use) does not stop the run: its error is reported, with its time,
 * as QMP would answer it. An event timed after the jobs have finished does not run (the
 * run ends with its last I/O) and has no outcome.
 */
import * as E from 'fp-ts/lib/Either.js';
import { deviceAdd, deviceDel, hotplugErrorMessage } from '../vm/hotplug.js';
import { quiescentTime, type Machine } from '../vm/machine.js';
import { cont, runStateErrorMessage, stopVm } from '../vm/runstate.js';

export type ScriptedEvent =
  | { readonly atNs: number; readonly cmd: 'device_add'; readonly text: string }
  | { readonly atNs: number; readonly cmd: 'device_del'; readonly id: string }
  | { readonly atNs: number; readonly cmd: 'stop' | 'cont' };

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };
/** Events further out than an hour of virtual time are refused (a typo, not a plan). */
const MAX_AT_NS = 3600e9;

/** One `--event` text, or the message that says what is wrong with it. */
export function parseEvent(text: string): E.Either<string, ScriptedEvent> {
  const m = /^\s*(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?\s+(device_add|device_del|stop|cont)(?:\s+(\S.*?))?\s*$/u.exec(text);
  if (m === null) {
    return E.left(`--event '${text}': expected '<time> device_add <device options>', '<time> device_del <id>', '<time> stop' or '<time> cont', e.g. '2ms device_del hot1'`);
  }
  const atNs = Math.round(Number(m[1]) * UNITS[m[2] ?? 'ns']);
  if (!Number.isSafeInteger(atNs) || atNs > MAX_AT_NS) return E.left(`--event '${text}': the time must be at most 3600s`);
  if (m[3] === 'stop' || m[3] === 'cont') return m[4] === undefined ? E.right({ atNs, cmd: m[3] }) : E.left(`--event '${text}': ${m[3]} takes no arguments`);
  if (m[4] === undefined) return E.left(`--event '${text}': ${m[3]} needs ${m[3] === 'device_add' ? 'device options' : 'a device id'}`);
  if (m[3] === 'device_add') return E.right({ atNs, cmd: 'device_add', text: m[4] });
  if (/\s/u.test(m[4])) return E.left(`--event '${text}': device_del takes one device id`);
  return E.right({ atNs, cmd: 'device_del', id: m[4] });
}

/** Every `--event`, or the first bad one's message. */
export function parseEvents(texts: readonly string[]): E.Either<string, ScriptedEvent[]> {
  const out: ScriptedEvent[] = [];
  for (const t of texts) {
    const e = parseEvent(t);
    if (E.isLeft(e)) return e;
    out.push(e.right);
  }
  return E.right(out);
}

/** What an event did, for the report: QMP's answer. */
export interface EventOutcome {
  readonly atNs: number;
  readonly command: string;
  /** undefined: {"return": {}}; else QMP's error description. */
  readonly error?: string;
}

/**
 * Schedule `events` on `m`, each at its time after the instant the measured window opens
 * (the machine idle after boot, where run-jobs opens it); outcomes are pushed as they run.
 */
export function scheduleEvents(m: Machine, events: readonly ScriptedEvent[], outcomes: EventOutcome[]): void {
  const start = quiescentTime(m);
  for (const ev of events) {
    m.sim.at(start + ev.atNs, () => {
      const { command, error } = runEvent(m, ev);
      if (m.trace.active) m.trace.emit({ kind: 'note', t: m.sim.now, where: 'qmp', text: error !== undefined ? `${command}: ${error}` : command });
      outcomes.push({ atNs: ev.atNs, command, ...(error !== undefined ? { error } : {}) });
    });
  }
}

/** Issue one QMP command: its text and, when QMP would refuse it, the error description. */
function runEvent(m: Machine, ev: ScriptedEvent): { command: string; error?: string } {
  const fail = <L>(r: E.Either<L, unknown>, msg: (l: L) => string): string | undefined => (E.isLeft(r) ? msg(r.left) : undefined);
  switch (ev.cmd) {
    case 'device_add':
      return { command: `device_add ${ev.text}`, error: fail(deviceAdd(m, ev.text), hotplugErrorMessage) };
    case 'device_del':
      return { command: `device_del ${ev.id}`, error: fail(deviceDel(m, ev.id), hotplugErrorMessage) };
    case 'stop':
      return { command: 'stop', error: fail(stopVm(m, 'paused'), runStateErrorMessage) };
    case 'cont':
      return { command: 'cont', error: fail(cont(m), runStateErrorMessage) };
  }
}
