/**
 * The SCSI error handler (drivers/scsi/scsi_error.c): what a timeout does, and the
 * escalation when a command cannot be recovered.
 *
 * 1. scsi_timeout: the driver is asked first (`ehTimedOut`; virtio-scsi always gives the
 *    command more time). Otherwise the command is claimed (a late completion is ignored)
 *    and an abort is scheduled 10 ms later (scsi_abort_command). An abort that succeeds
 *    retries the command (DID_TIME_OUT counted as a retry) or fails it when retries ran
 *    out; a second timeout, or a failed abort, hands it to the error handler.
 * 2. scsi_eh_scmd_add: the host enters recovery (no new commands go out) and the error
 *    handler wakes once every command still out has failed (host_busy == host_failed).
 * 3. scsi_unjam_host, each step only for what the previous ones left, each success
 *    checked with TEST UNIT READY: abort the timed-out commands → reset each device
 *    (LOGICAL UNIT RESET) → reset each target → reset each bus → reset the host →
 *    take the devices offline ("not ready after error recovery"). A step whose handler
 *    the driver lacks is skipped.
 * 4. scsi_eh_flush_done_q: recovered commands are retried while retries remain; the rest
 *    fail (DID_TIME_OUT when they never got a result). The host leaves recovery.
 */
import { TEST_UNIT_READY } from '../../hw/scsi/opcodes.js';
import * as S from '../../hw/scsi/status.js';
import { newCmnd, type ScsiCmnd } from './cmnd.js';
import type { ScsiDevice } from './device.js';
import { scsiCheckSense } from './disposition.js';
import type { EhDone, EhResult, ScsiHostTemplate } from './host-template.js';
import type { ScsiHost } from './host.js';

/** scsi_abort_command waits HZ / 100 before it aborts. */
export const ABORT_DELAY_NS = 10_000_000;
/** SCSI_DEFAULT_EH_TIMEOUT: 10 s for the error handler's own commands and TMFs' checks. */
export const EH_TIMEOUT_MS = 10_000;

type Step = 'abort' | 'device-reset' | 'target-reset' | 'bus-reset' | 'host-reset';

const HANDLER: Record<Exclude<Step, 'abort'>, keyof ScsiHostTemplate> = {
  'device-reset': 'ehDeviceResetHandler',
  'target-reset': 'ehTargetResetHandler',
  'bus-reset': 'ehBusResetHandler',
  'host-reset': 'ehHostResetHandler',
};

export class ScsiErrorHandler {
  /** Commands handed to the error handler and not yet dealt with (host_failed). */
  private readonly failed: ScsiCmnd[] = [];
  private running = false;
  /** SHOST_RECOVERY: new commands wait until error handling ends. */
  inRecovery = false;
  /** Error handler runs so far (for tests and reports). */
  runs = 0;

  constructor(private readonly host: ScsiHost) {}

  /** scsi_timeout, for a command whose timer expired. 'done': the midlayer owns it now. */
  timeout(cmd: ScsiCmnd): 'done' | 'reset-timer' {
    if (cmd.claimed) return 'done';
    if (!cmd.inflight) return 'reset-timer'; // waiting to be sent again: not the device's fault
    if (this.host.template.ehTimedOut?.(cmd) === 'reset-timer') return 'reset-timer';
    cmd.claimed = true;
    this.host.note(`${cmd.device.hctl}: command ${cmd.id} (opcode 0x${(cmd.cdb[0] ?? 0).toString(16)}) timed out`);
    if (!cmd.abortScheduled && this.host.template.ehAbortHandler !== undefined) {
      cmd.abortScheduled = true;
      // A block request's command is reused by its tag's next request (lib.ts): the abort is for this one only.
      const id = cmd.id;
      this.host.k.clock.after(ABORT_DELAY_NS, () =>
        this.host.k.cpus[this.host.cpuFor(cmd.hwq)].schedule('scsi abort', () => {
          if (cmd.id === id) this.abortTimedOut(cmd);
        }),
      );
    } else {
      cmd.hostByte = S.DID_TIME_OUT;
      this.add(cmd);
    }
    return 'done';
  }

  /** scmd_eh_abort_handler. */
  private abortTimedOut(cmd: ScsiCmnd): void {
    this.tryHandler('abort', cmd, (r) => {
      if (r === 'success') {
        cmd.hostByte = S.DID_TIME_OUT;
        this.letGo(cmd);
        if (cmd.device.online && ++cmd.retries <= cmd.allowed) {
          this.host.note(`${cmd.device.hctl}: retry aborted command ${cmd.id}`);
          cmd.abortScheduled = false;
          this.host.requeue(cmd, 0);
        } else {
          this.host.note(`${cmd.device.hctl}: finish aborted command ${cmd.id}`);
          cmd.finish(cmd);
        }
        return;
      }
      this.host.note(`${cmd.device.hctl}: command ${cmd.id} abort failed`);
      cmd.hostByte = S.DID_TIME_OUT;
      this.add(cmd);
    });
  }

  /** scsi_eh_scmd_add. */
  add(cmd: ScsiCmnd): void {
    cmd.claimed = true;
    this.failed.push(cmd);
    this.inRecovery = true;
    this.wakeIfIdle();
  }

  /** scsi_eh_wakeup: run when every command still out is one that failed. */
  wakeIfIdle(): void {
    if (this.running || this.failed.length === 0) return;
    if (this.host.busy !== this.failed.filter((c) => c.inflight).length) return;
    this.running = true;
    this.host.k.cpus[0].schedule(`scsi_eh_${this.host.hostNo}`, () => this.unjam());
  }

  /** The driver no longer holds a command it was told to abort or reset. */
  private letGo(cmd: ScsiCmnd): void {
    if (!cmd.inflight) return;
    cmd.inflight = false;
    this.host.busy--;
  }

  private tryHandler(step: Step, cmd: ScsiCmnd, done: EhDone): void {
    const t = this.host.template;
    const fn = step === 'abort' ? t.ehAbortHandler : (t[HANDLER[step]] as ((c: ScsiCmnd, d: EhDone) => void) | undefined);
    if (fn === undefined) return done('failed');
    this.host.note(`${cmd.device.hctl}: ${step}`);
    let answered = false;
    fn.call(t, cmd, (r: EhResult) => {
      if (answered) return;
      answered = true;
      done(r);
    });
  }

  /** scsi_unjam_host. */
  private unjam(): void {
    this.runs++;
    let work = this.failed.splice(0);
    const doneQ: ScsiCmnd[] = [];
    this.host.note(`error handler: ${work.length} command(s) to recover`);
    const steps: Step[] = ['abort', 'device-reset', 'target-reset', 'bus-reset', 'host-reset'];
    const next = (i: number): void => {
      if (work.length === 0 || i === steps.length) return this.finishRecovery(work, doneQ);
      this.runStep(steps[i], work, (ok) => {
        doneQ.push(...work.filter((c) => ok.has(c)));
        work = work.filter((c) => !ok.has(c));
        next(i + 1);
      });
    };
    next(0);
  }

  /**
   * One escalation step over what is left: the commands (abort), devices, targets, buses
   * or the host each get the step's handler, then a TEST UNIT READY per device touched.
   * Reports the commands recovered: an aborted command whose device answers, or every
   * command of a device that answers after a reset.
   */
  private runStep(step: Step, work: ScsiCmnd[], done: (recovered: Set<ScsiCmnd>) => void): void {
    const groups = groupFor(step, step === 'abort' ? work.filter((c) => c.hostByte === S.DID_TIME_OUT) : work);
    const ok = new Set<ScsiCmnd>();
    const each = (gi: number): void => {
      if (gi === groups.length) return done(ok);
      const cmd = groups[gi][0];
      this.tryHandler(step, cmd, (r) => {
        if (r !== 'success') return each(gi + 1);
        const devs = [...new Set(groups[gi].map((c) => c.device))];
        if (step !== 'abort') for (const d of devs) d.expectingCcUa = true;
        for (const c of work) if (devs.includes(c.device) && (step !== 'abort' || groups[gi].includes(c))) this.letGo(c);
        this.turAll(devs, (ready) => {
          for (const c of step === 'abort' ? groups[gi] : work) if (ready.includes(c.device)) ok.add(c);
          each(gi + 1);
        });
      });
    };
    each(0);
  }

  /** scsi_eh_tur for each device. */
  private turAll(devs: ScsiDevice[], done: (ready: ScsiDevice[]) => void): void {
    const ready: ScsiDevice[] = [];
    const each = (i: number): void => {
      if (i === devs.length) return done(ready);
      this.tur(devs[i], 1, (ok) => {
        if (ok) ready.push(devs[i]);
        each(i + 1);
      });
    };
    each(0);
  }

  /** TEST UNIT READY from the error handler (scsi_send_eh_cmnd), one retry on busy. */
  private tur(sdev: ScsiDevice, retries: number, done: (ok: boolean) => void): void {
    const host = this.host;
    let settled = false;
    const cmd = newCmnd({
      id: host.newCmndId(),
      device: sdev,
      cdb: Uint8Array.of(TEST_UNIT_READY, 0, 0, 0, 0, 0),
      direction: 'none',
      sg: [],
      hwq: 0,
      now: host.k.sim.now,
      allowed: 0,
      timeoutMs: EH_TIMEOUT_MS,
      eh: true,
      finish: (c) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        const r = ehCompletedNormally(c);
        if (r === 'needs-retry' && retries > 0) return this.tur(sdev, retries - 1, done);
        done(r === 'success');
      },
    });
    const timer = host.k.clock.after(EH_TIMEOUT_MS * 1_000_000, () => {
      if (settled) return;
      settled = true;
      cmd.claimed = true;
      done(false);
    });
    if (host.dispatch(cmd) === 'busy') {
      settled = true;
      timer.cancel();
      done(false);
    }
  }

  /** scsi_eh_offline_sdevs, then scsi_eh_flush_done_q. */
  private finishRecovery(unrecovered: ScsiCmnd[], doneQ: ScsiCmnd[]): void {
    for (const d of new Set(unrecovered.map((c) => c.device))) {
      if (d.state !== 'offline') this.host.note(`${d.hctl}: Device offlined - not ready after error recovery`);
      d.state = 'offline';
    }
    for (const c of unrecovered.concat(doneQ)) {
      this.letGo(c);
      c.abortScheduled = false;
      if (c.device.online && ++c.retries <= c.allowed) {
        this.host.requeue(c, 0);
        continue;
      }
      if (c.hostByte === S.DID_OK && c.status === S.SAM_STAT_GOOD) c.hostByte = S.DID_TIME_OUT;
      c.finish(c);
    }
    this.running = false;
    this.inRecovery = this.failed.length > 0;
    if (this.inRecovery) this.wakeIfIdle();
    else this.host.runStarved(true);
  }
}

/** Group what is left by the unit a step acts on: each command, device, target, bus or the host. */
function groupFor(step: Step, cmds: ScsiCmnd[]): ScsiCmnd[][] {
  const key = (c: ScsiCmnd): string => {
    const d = c.device;
    switch (step) {
      case 'abort':
        return String(c.id);
      case 'device-reset':
        return `${d.channel}:${d.id}:${d.lun}`;
      case 'target-reset':
        return `${d.channel}:${d.id}`;
      case 'bus-reset':
        return `${d.channel}`;
      case 'host-reset':
        return 'host';
    }
  };
  const m = new Map<string, ScsiCmnd[]>();
  for (const c of cmds) {
    const k = key(c);
    const g = m.get(k);
    if (g) g.push(c);
    else m.set(k, [c]);
  }
  return [...m.values()];
}

/** scsi_eh_completed_normally: how the error handler reads its own command's result. */
export function ehCompletedNormally(c: ScsiCmnd): 'success' | 'needs-retry' | 'failed' {
  if (c.hostByte === S.DID_RESET) return 'needs-retry';
  if (c.hostByte !== S.DID_OK) return 'failed';
  switch (c.status) {
    case S.SAM_STAT_GOOD:
    case S.SAM_STAT_COMMAND_TERMINATED:
    case S.SAM_STAT_CONDITION_MET:
    case S.SAM_STAT_INTERMEDIATE:
    case S.SAM_STAT_INTERMEDIATE_CONDITION_MET:
      return 'success';
    case S.SAM_STAT_CHECK_CONDITION: {
      const d = scsiCheckSense(c);
      return d === 'success' ? 'success' : d === 'needs-retry' ? 'needs-retry' : 'failed';
    }
    case S.SAM_STAT_RESERVATION_CONFLICT:
      return c.cdb[0] === TEST_UNIT_READY ? 'success' : 'failed';
    case S.SAM_STAT_BUSY:
    case S.SAM_STAT_TASK_SET_FULL:
      return 'needs-retry';
    default:
      return 'failed';
  }
}
