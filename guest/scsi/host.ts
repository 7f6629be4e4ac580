/**
 * A SCSI host adapter as the midlayer drives it (struct Scsi_Host; drivers/scsi/hosts.c,
 * the dispatch and completion halves of scsi_lib.c): its devices by channel, target and
 * LUN, the commands it has out, and every command's path through it —
 *
 *   dispatch   scsi_dispatch_cmd: an offline device fails the command at once; otherwise
 *              the driver's queuecommand takes it or answers host-busy (the command then
 *              waits on the host's starved list and goes again after a completion)
 *   scsiDone   the driver's answer: a command that already timed out is ignored; else
 *              scsi_decide_disposition says finish, retry, requeue after a delay, or hand
 *              it to the error handler
 *   finish     the command's owner (a block request through sd, or scsi_execute_cmd)
 *
 * Timeouts of block requests come from blk-mq (the request queue's timer calls
 * `ScsiQueue.timeout`); commands the midlayer sends itself get a timer here. Either way
 * the error handler (error.ts) decides what a timeout does.
 */
import type { Timer } from '../../sim/simulator.js';
import { DID_NO_CONNECT } from '../../hw/scsi/status.js';
import type { BlkMq } from '../blockdev/blk-mq.js';
import type { GuestKernel } from '../kernel/kernel.js';
import { resetResult, type ScsiCmnd } from './cmnd.js';
import type { ScsiDevice } from './device.js';
import { scsiDecideDisposition, type Disposition } from './disposition.js';
import { ScsiErrorHandler } from './error.js';
import type { ScsiHostLimits, ScsiHostTemplate } from './host-template.js';

/** SCSI_QUEUE_DELAY: a busy device is tried again after 3 ms. */
export const SCSI_QUEUE_DELAY_NS = 3_000_000;
/**
 * Requeues (busy, unit attention, becoming ready) one command may take. Linux bounds them
 * only by time, (allowed + 1) × timeout; a device that answers BUSY in microseconds would
 * make that hundreds of thousands of round trips, so the model also counts them.
 */
export const MAX_REQUEUES = 64;

export class ScsiHost implements ScsiHostLimits {
  canQueue: number;
  cmdPerLun: number;
  maxSectors: number;
  sgTablesize: number;
  maxId: number;
  maxLun: number;
  maxChannel: number;
  maxCmdLen: number;
  nrHwQueues: number;
  /** Devices by "channel:id:lun", in the order they were added. */
  readonly devices = new Map<string, ScsiDevice>();
  /** Commands handed to the driver and not back (host_busy). */
  busy = 0;
  /** Block requests a device queue refused (BLK_STS_RESOURCE) since the queues last ran (sdev->restarts). */
  restarts = 0;
  readonly eh: ScsiErrorHandler;
  /** blk-mq cores of the devices' request queues, restarted when the host frees room. */
  readonly queues = new Set<BlkMq>();
  /** Commands the driver refused (host-busy), to send again after a completion. */
  private readonly starved: ScsiCmnd[] = [];
  private readonly timers = new Map<ScsiCmnd, Timer>();
  private cmdSeq = 1;
  /** guest.scsi.done, looked up once. */
  private readonly doneNs: number;
  /**
   * Announced devices go here (the upper drivers' probe: sd binds disks); the scan waits
   * for `done`, as boot waits for the asynchronous probes (async_synchronize_full).
   */
  onDeviceAdded: ((sdev: ScsiDevice, done: () => void) => void) | undefined;

  constructor(
    readonly k: GuestKernel,
    readonly template: ScsiHostTemplate,
    limits: ScsiHostLimits,
    /** host_no: hosts are numbered in the order they were added (scsi0, scsi1…). */
    readonly hostNo = 0,
  ) {
    this.canQueue = limits.canQueue;
    this.cmdPerLun = limits.cmdPerLun;
    this.maxSectors = limits.maxSectors;
    this.sgTablesize = limits.sgTablesize;
    this.maxId = limits.maxId;
    this.maxLun = limits.maxLun;
    this.maxChannel = limits.maxChannel;
    this.maxCmdLen = limits.maxCmdLen;
    this.nrHwQueues = Math.max(1, limits.nrHwQueues);
    this.eh = new ScsiErrorHandler(this);
    this.doneNs = k.costs.ns('guest.scsi.done');
  }

  newCmndId(): number {
    return this.cmdSeq++;
  }

  lookup(channel: number, id: number, lun: number): ScsiDevice | undefined {
    return this.devices.get(`${channel}:${id}:${lun}`);
  }

  /** Trace a midlayer event (scan, error handling) as a note. */
  note(text: string): void {
    const { trace, sim } = this.k;
    if (trace.active) trace.emit({ kind: 'note', t: sim.now, where: `scsi host${this.hostNo}`, text });
  }

  /** The CPU a hardware queue's work runs on. */
  cpuFor(hwq: number): number {
    return hwq % this.k.cpus.length;
  }

  /**
   * scsi_dispatch_cmd. 'busy' when the driver refused it (nothing was kept); 'ok' when the
   * command is out, or was finished at once (an offline device, a CDB too long).
   */
  dispatch(cmd: ScsiCmnd): 'ok' | 'busy' {
    resetResult(cmd);
    if (!cmd.device.online) {
      cmd.hostByte = DID_NO_CONNECT;
      cmd.claimed = true;
      cmd.finish(cmd);
      return 'ok';
    }
    cmd.inflight = true;
    this.busy++;
    if (this.template.queuecommand(cmd) === 'host-busy') {
      cmd.inflight = false;
      this.busy--;
      return 'busy';
    }
    return 'ok';
  }

  /** Dispatch; if the driver is full, wait on the starved list (a command with no block queue behind it). */
  dispatchOrWait(cmd: ScsiCmnd): void {
    if ((this.eh.inRecovery && !cmd.eh) || this.dispatch(cmd) === 'busy') this.starved.push(cmd);
  }

  /** Give a command the midlayer sent itself a timer (block requests have blk-mq's). */
  armTimer(cmd: ScsiCmnd): void {
    this.timers.get(cmd)?.cancel();
    this.timers.set(
      cmd,
      this.k.clock.after(cmd.timeoutMs * 1_000_000, () => {
        this.timers.delete(cmd);
        if (!cmd.inflight || cmd.claimed) return;
        if (this.eh.timeout(cmd) === 'reset-timer') this.armTimer(cmd);
      }),
    );
  }

  disarmTimer(cmd: ScsiCmnd): void {
    // Block requests' commands never have one (blk-mq times them): no lookup for them.
    if (this.timers.size === 0) return;
    this.timers.get(cmd)?.cancel();
    this.timers.delete(cmd);
  }

  /**
   * scsi_done: the driver finished `cmd` (result, sense and residual set). Runs in the
   * driver's completion context. A command the timeout already claimed is ignored.
   */
  scsiDone(cmd: ScsiCmnd): void {
    if (!cmd.inflight) return;
    this.k.sim.advance(this.doneNs);
    cmd.inflight = false;
    this.busy--;
    if (cmd.claimed) {
      this.eh.wakeIfIdle();
      return;
    }
    cmd.claimed = true;
    this.disarmTimer(cmd);
    this.complete(cmd);
    this.runStarved();
  }

  /** scsi_complete: decide, then finish, retry, requeue or escalate. */
  complete(cmd: ScsiCmnd): void {
    let d: Disposition = cmd.eh ? 'success' : scsiDecideDisposition(cmd);
    const waitForNs = (cmd.allowed + 1) * cmd.timeoutMs * 1_000_000;
    if (d !== 'success' && d !== 'failed' && this.k.sim.now - cmd.allocatedAt > waitForNs) d = 'success';
    switch (d) {
      case 'success':
        cmd.finish(cmd);
        break;
      case 'needs-retry':
        this.requeue(cmd, 0);
        break;
      case 'add-to-mlqueue':
        this.requeue(cmd, SCSI_QUEUE_DELAY_NS);
        break;
      case 'failed':
        this.eh.add(cmd);
        break;
    }
  }

  /** scsi_queue_insert: send the command again after `delayNs`, from its queue's CPU. */
  requeue(cmd: ScsiCmnd, delayNs: number): void {
    if (++cmd.requeues > MAX_REQUEUES) {
      cmd.finish(cmd);
      return;
    }
    const go = (): void =>
      this.k.cpus[this.cpuFor(cmd.hwq)].schedule('scsi requeue', () => {
        cmd.last = true;
        if (cmd.rq === undefined) this.armTimer(cmd);
        this.dispatchOrWait(cmd);
      });
    if (delayNs > 0) this.k.clock.after(delayNs, go);
    else go();
  }

  /**
   * After a completion: commands the driver refused go again; stopped block queues restart,
   * when one was refused since they last ran (scsi_run_queue_async: since Linux 5.10 a
   * completion re-runs the queues only if a device's queue was busy, sdev->restarts; kept
   * here for the host, whose every device queue is run). `all`: run them whatever happened
   * (scsi_run_host_queues, after error recovery).
   */
  runStarved(all = false): void {
    if (this.eh.inRecovery) return;
    while (this.starved.length > 0) {
      const cmd = this.starved[0];
      if (this.dispatch(cmd) === 'busy') break;
      this.starved.shift();
    }
    if (this.restarts === 0 && !all) return;
    this.restarts = 0;
    for (const q of this.queues) q.startStoppedQueues();
  }

  /** Commands out on `sdev` right now (for the error handler and removal). */
  outstanding(sdev?: ScsiDevice): number {
    return sdev === undefined ? this.busy : sdev.busy;
  }
}
