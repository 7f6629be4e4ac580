/**
 * Scripted events of a run (`iopath run --event '<t> <command>'`): QMP commands issued at
 * a virtual time after the measured window opens, as a management layer would issue them
 * during the job.
 *
 *   2ms device_add scsi-hd,bus=scsi0.0,scsi-id=1,drive=d1,id=hot1
 *   5ms device_del hot1
 *
 * Times take ns, us, ms or s (a bare number is ns). A command QMP would refuse (no such
 * device, a drive in use) does not stop the run: its error is reported, with its time,
 * as QMP would answer it. An event timed after the jobs have finished does not run (the
 * run ends with its last I/O) and has no outcome.
 */
import * as E from 'fp-ts/lib/Either.js';
import { deviceAdd, deviceDel, hotplugErrorMessage } from '../vm/hotplug.js';
import { quiescentTime, type Machine } from '../vm/machine.js';

export type ScriptedEvent = { readonly atNs: number; readonly cmd: 'device_add'; readonly text: string } | { readonly atNs: number; readonly cmd: 'device_del'; readonly id: string };

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };
/** Events further out than an hour of virtual time are refused (a typo, not a plan). */
const MAX_AT_NS = 3600e9;

/** One `--event` text, or the message that says what is wrong with it. */
export function parseEvent(text: string): E.Either<string, ScriptedEvent> {
  const m = /^\s*(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?\s+(device_add|device_del)\s+(\S.*?)\s*$/u.exec(text);
  if (m === null) return E.left(`--event '${text}': expected '<time> device_add <device options>' or '<time> device_del <id>', e.g. '2ms device_del hot1'`);
  const atNs = Math.round(Number(m[1]) * UNITS[m[2] ?? 'ns']);
  if (!Number.isSafeInteger(atNs) || atNs > MAX_AT_NS) return E.left(`--event '${text}': the time must be at most 3600s`);
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
      const command = ev.cmd === 'device_add' ? `device_add ${ev.text}` : `device_del ${ev.id}`;
      const r = ev.cmd === 'device_add' ? deviceAdd(m, ev.text) : deviceDel(m, ev.id);
      if (m.trace.active) m.trace.emit({ kind: 'note', t: m.sim.now, where: 'qmp', text: E.isLeft(r) ? `${command}: ${hotplugErrorMessage(r.left)}` : command });
      outcomes.push({ atNs: ev.atNs, command, ...(E.isLeft(r) ? { error: hotplugErrorMessage(r.left) } : {}) });
    });
  }
}
