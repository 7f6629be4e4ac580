/**
 * A SCSI device's request queue as blk-mq drives it (drivers/scsi/scsi_lib.c scsi_mq_ops:
 * scsi_queue_rq, scsi_commit_rqs, scsi_timeout; scsi_io_completion).
 *
 *   queueRq     the device must be online (else the request fails) and have budget
 *               (queue_depth; else BLK_STS_RESOURCE), the host must not be in error
 *               recovery; the upper driver (sd) builds the command from the request;
 *               the host's driver takes it or is busy (BLK_STS_RESOURCE)
 *   timeout     the error handler decides (error.ts)
 *   completion  good → the request ends; otherwise sd_done sees it first, then
 *               scsi_io_completion_action: fail the request with its block status, retry
 *               it (a unit attention), retry it later (becoming ready), or build it
 *               again (READ/WRITE(10) refused: use the 6-byte commands)
 */
import type { SgElem } from '../../hw/memory.js';
import type { BlkMq } from '../blockdev/blk-mq.js';
import type { BlkMqOps, BlkRequest, BlkStatus } from '../blockdev/request.js';
import { newCmnd, recycleCmnd, type DmaDirection, type ScsiCmnd } from './cmnd.js';
import type { ScsiDevice } from './device.js';
import { cmdGood, scsiIoCompletionAction, scsiIoCompletionStatus } from './disposition.js';
import { SCSI_QUEUE_DELAY_NS } from './host.js';

/** What the upper driver makes of a block request (a command, or a status to end it with). */
export interface UldCommand {
  cdb: Uint8Array;
  direction: DmaDirection;
  sg: SgElem[];
  allowed: number;
  timeoutMs: number;
  /** Driver memory to give back when the command is done (an UNMAP parameter list). */
  payload?: { addr: number; len: number; align: number };
}

/** The upper driver's part (struct scsi_driver: init_command, done, uninit_command). */
export interface ScsiUld {
  initCommand(rq: BlkRequest): UldCommand | BlkStatus;
  /** sd_done: look at a finished command before the midlayer ends the request. */
  done?(cmd: ScsiCmnd): void;
  /** Free what initCommand allocated. */
  uninitCommand?(u: UldCommand): void;
}

/** A tag's slot: the command out on it and what the upper driver built (`live` while out). */
interface Outstanding {
  cmd: ScsiCmnd;
  u: UldCommand;
  live: boolean;
}

export class ScsiQueue implements BlkMqOps {
  /**
   * Each request's command, by hardware queue and tag, as Linux keeps the scsi_cmnd in the
   * request's PDU (blk_mq_rq_to_pdu): a slot per tag, reused by the tag's next request,
   * rather than a Map that every command would be added to and deleted from (see
   * host/devices/scsi-bus/request-list.ts for the cost of that churn).
   */
  private readonly byTag: (Outstanding | undefined)[][] = [];
  blk: BlkMq | undefined;
  private readonly queueRqNs: number;
  /** Where every command of this queue finishes (made once, not per command). */
  private readonly finish: (cmd: ScsiCmnd) => void;

  constructor(
    readonly sdev: ScsiDevice,
    private readonly uld: ScsiUld,
  ) {
    this.queueRqNs = sdev.host.k.costs.ns('guest.scsi.queue_rq');
    this.finish = (c) => this.ioCompletion(c);
  }

  /** scsi_queue_rq. */
  queueRq(hwq: number, rq: BlkRequest, last: boolean): BlkStatus {
    const sdev = this.sdev;
    const host = sdev.host;
    host.k.sim.advance(this.queueRqNs);
    if (!sdev.online) return 'ioerr';
    if (sdev.busy >= sdev.queueDepth || host.eh.inRecovery) return this.refuse();
    const u = this.uld.initCommand(rq);
    if (typeof u === 'string') return u;
    const cmd = this.cmdFor(hwq, rq, u);
    cmd.last = last;
    sdev.busy++;
    if (host.dispatch(cmd) === 'busy') {
      sdev.busy--;
      this.uld.uninitCommand?.(u);
      return this.refuse();
    }
    this.set(rq, cmd, u);
    return 'ok';
  }

  /** BLK_STS_RESOURCE: blk-mq stops the queue; the host's next completion runs it again (ScsiHost.runStarved). */
  private refuse(): BlkStatus {
    this.sdev.host.restarts++;
    return 'resource';
  }

  commitRqs(hwq: number): void {
    this.sdev.host.template.commitRqs?.(hwq);
  }

  /**
   * The tag's command for `rq`: the one its previous request used, made again (scsi_queue_rq
   * initializing the scsi_cmnd in the request's PDU), or a new one the first time — or when
   * the old one is somehow still out, which a finished request's command never is.
   */
  private cmdFor(hwq: number, rq: BlkRequest, u: UldCommand): ScsiCmnd {
    const host = this.sdev.host;
    const o = this.byTag[rq.hwq]?.[rq.tag];
    if (o !== undefined && !o.live && !o.cmd.inflight) {
      recycleCmnd(o.cmd, host.newCmndId(), u, hwq, host.k.sim.now, rq);
      return o.cmd;
    }
    if (o !== undefined) o.cmd.retired = true;
    return newCmnd({ id: host.newCmndId(), device: this.sdev, cdb: u.cdb, direction: u.direction, sg: u.sg, hwq, now: host.k.sim.now, allowed: u.allowed, timeoutMs: u.timeoutMs, rq, finish: this.finish });
  }

  private get(rq: BlkRequest): Outstanding | undefined {
    const o = this.byTag[rq.hwq]?.[rq.tag];
    return o !== undefined && o.live ? o : undefined;
  }

  private set(rq: BlkRequest, cmd: ScsiCmnd, u: UldCommand): void {
    const q = (this.byTag[rq.hwq] ??= []);
    const o = q[rq.tag];
    if (o === undefined) q[rq.tag] = { cmd, u, live: true };
    else {
      o.cmd = cmd;
      o.u = u;
      o.live = true;
    }
  }

  /** scsi_timeout for a block request. */
  timeout(_hwq: number, rq: BlkRequest): 'done' | 'reset-timer' {
    const e = this.get(rq);
    if (e === undefined || e.cmd.rq !== rq) return 'reset-timer';
    return this.sdev.host.eh.timeout(e.cmd);
  }

  /** scsi_io_completion (with sd_done first). */
  private ioCompletion(cmd: ScsiCmnd): void {
    if (cmdGood(cmd)) return this.end(cmd, 'ok');
    const rq = cmd.rq!;
    const e = this.get(rq);
    this.uld.done?.(cmd);
    const action = scsiIoCompletionAction(cmd, this.sdev.host.k.sim.now);
    const host = this.sdev.host;
    switch (action) {
      case 'fail':
        return this.end(cmd, scsiIoCompletionStatus(cmd));
      case 'retry':
        return host.requeue(cmd, 0);
      case 'delayed-retry':
        return host.requeue(cmd, SCSI_QUEUE_DELAY_NS);
      case 'reprep': {
        const u = this.uld.initCommand(rq);
        if (typeof u === 'string') return this.end(cmd, u);
        if (e) this.uld.uninitCommand?.(e.u);
        cmd.cdb = u.cdb;
        this.set(rq, cmd, u);
        return host.requeue(cmd, 0);
      }
    }
  }

  private end(cmd: ScsiCmnd, status: BlkStatus): void {
    const rq = cmd.rq!;
    const e = this.get(rq);
    if (e !== undefined && e.cmd === cmd) {
      e.live = false;
      this.uld.uninitCommand?.(e.u);
    }
    this.sdev.busy = Math.max(0, this.sdev.busy - 1);
    rq.resultLen = cmd.direction === 'from-device' ? Math.max(0, cmd.bufflen - cmd.resid) : 0;
    this.blk?.complete(rq, status);
  }
}
