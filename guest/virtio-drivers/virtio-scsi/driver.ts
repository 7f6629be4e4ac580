/**
 * The guest's virtio-scsi driver (Linux drivers/scsi/virtio_scsi.c, 6.x): a SCSI host
 * adapter whose commands travel over virtqueues.
 *
 *   queue 0 control   task management functions (abort, LUN reset): [tmf req][tmf resp]
 *   queue 1 event     8 device-writable 16-byte buffers, posted when HOTPLUG is negotiated
 *   queue 2.. request one per blk-mq hardware queue (num_queues, at most one per CPU);
 *                     a command travels on its request's hardware queue (virtscsi_pick_vq_mq)
 *                     as [cmd req + CDB][data-out…][cmd resp + sense][data-in…]
 *
 * Probe reads the config (num_queues, seg_max, max_sectors, cmd_per_lun, max_target,
 * max_lun), sets up the queues, writes cdb_size 32 and sense_size 96, sets DRIVER_OK,
 * posts the event buffers and hands the host to the midlayer. A command is kicked only
 * when it is the last of its batch (SCMD_LAST; commit_rqs kicks otherwise). Completion
 * runs the disable / drain / re-enable loop; a response becomes a SCSI result in
 * complete.ts. Timeouts are left to the host, as Linux's virtscsi_eh_timed_out does
 * (`hostHandlesTimeouts: false` lets the midlayer's error handler abort and reset).
 */
import type { GuestMemory, SgElem } from '../../../hw/memory.js';
import { DID_BAD_TARGET } from '../../../hw/scsi/status.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_MSI_NO_VECTOR, featureBits, hasFeature, type Features } from '../../../hw/virtio/constants.js';
import { VIRTIO_PCI_ISR_QUEUE } from '../../../hw/virtio/pci-layout.js';
import * as V from '../../../hw/virtio/scsi.js';
import { encodeVirtioScsiCmdReq, pageOffset, virtioScsiCmdReqSize, virtioScsiCmdRespSize } from '../../../hw/virtio/scsi-req.js';
import type { GuestKernel } from '../../kernel/kernel.js';
import type { ScsiCmnd } from '../../scsi/cmnd.js';
import type { ScsiDevice } from '../../scsi/device.js';
import type { EhDone, ScsiHostTemplate } from '../../scsi/host-template.js';
import { ScsiHost } from '../../scsi/host.js';
import { scanHost } from '../../scsi/scan.js';
import type { VirtioProbeError } from '../virtio-pci.js';
import { DriverVirtqueue } from '../virtqueue.js';
import { virtscsiCompleteFromMem } from './complete.js';
import { VirtscsiEvents } from './events.js';
import { VirtscsiTmf, type CtrlToken } from './tmf.js';
import type { VirtioScsiTransport } from './transport.js';

/** The features Linux's virtio_scsi asks for (T10_PI is not modelled). */
export const VIRTIO_SCSI_DRIVER_FEATURES: Features = featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, V.VIRTIO_SCSI_F_HOTPLUG, V.VIRTIO_SCSI_F_CHANGE);

/** VIRTIO_SCSI_CDB_SIZE and VIRTIO_SCSI_SENSE_SIZE: what the driver writes into the config. */
export const VIRTSCSI_CDB_SIZE = 32;
export const VIRTSCSI_SENSE_SIZE = 96;
const REQ_SIZE = virtioScsiCmdReqSize(VIRTSCSI_CDB_SIZE, false);
const RESP_SIZE = virtioScsiCmdRespSize(VIRTSCSI_SENSE_SIZE);
/** Per-command memory (struct virtio_scsi_cmd in the command's private area): request then response. */
const CMD_AREA = 256;

export interface VirtioScsiOptions {
  /** Linux's virtscsi_eh_timed_out (true, the default): a timed-out command just gets more time. */
  hostHandlesTimeouts?: boolean;
}

export interface VirtioScsiInfo {
  features: Features;
  numQueues: number;
  irqMode: 'msix' | 'msix-shared' | 'intx';
  /** The queue size of the request queues. */
  vringSize: number;
}

/**
 * A command's chain on a request queue (struct virtio_scsi_cmd): kept in the command
 * (`hostPriv`) and used again by its next trip once the device has given it back. `id` is
 * the command's id when it went out: a block request's command is reused by its tag's next
 * request with a new id, so an answer to an earlier trip (a command the error handler
 * aborted, which the device returned late) is told apart and completes nothing.
 *
 * `area` is the struct in guest memory (request, then response). Linux has it in the
 * command's private data, allocated with the block request (the host template's cmd_size),
 * so a tag's commands use the same memory trip after trip: a block request's command keeps
 * its area; another command's (the midlayer's own, or one the tag gave up on) is freed when
 * the device gives its chain back.
 */
interface ReqToken {
  readonly cmd: ScsiCmnd;
  /** -1: none yet (or freed). */
  area: number;
  id: number;
  /** In the queue: the device has not given the chain back. */
  out: boolean;
}

/**
 * virtio_scsi_init_hdr and the CDB copy: struct virtio_scsi_cmd_req (lun[8], tag le64,
 * task_attr, prio, crn, cdb[32]) filled in place in the command's area, as Linux fills the
 * struct — the bytes encodeVirtioScsiCmdReq gives, without building them elsewhere first.
 * The LUN is always flat-addressed (01 target 40|lun>>8 lun); the tag is the command's id.
 */
export function writeCmdReq(mem: GuestMemory, addr: number, target: number, lun: number, tag: number, cdb: Uint8Array): void {
  const page = mem.pageForWrite(addr, REQ_SIZE);
  if (page === undefined) {
    const lunBytes = V.encodeVirtioScsiLun(target, lun);
    mem.write(addr, encodeVirtioScsiCmdReq({ lun: lunBytes, tag: BigInt(tag), taskAttr: V.VIRTIO_SCSI_S_SIMPLE, prio: 0, crn: 0, cdb }, VIRTSCSI_CDB_SIZE));
    return;
  }
  const o = pageOffset(addr);
  page.fill(0, o, o + REQ_SIZE);
  putCmdReq(page, o, target, lun, tag, cdb);
}

/**
 * A command's area as queuecommand leaves it: the request (writeCmdReq) and, after it, the
 * response zeroed (the midlayer clears the driver's per-command data before each use). One
 * page lookup and one fill when the two lie in one page, as they do but for an area that
 * straddles a page boundary.
 */
function writeCmdArea(mem: GuestMemory, addr: number, target: number, lun: number, tag: number, cdb: Uint8Array): void {
  const page = mem.pageForWrite(addr, REQ_SIZE + RESP_SIZE);
  if (page === undefined) {
    writeCmdReq(mem, addr, target, lun, tag, cdb);
    mem.fill(addr + REQ_SIZE, RESP_SIZE);
    return;
  }
  const o = pageOffset(addr);
  page.fill(0, o, o + REQ_SIZE + RESP_SIZE);
  putCmdReq(page, o, target, lun, tag, cdb);
}

/** The request's non-zero bytes at `o` in `page` (the rest already zero). */
function putCmdReq(page: Uint8Array, o: number, target: number, lun: number, tag: number, cdb: Uint8Array): void {
  page[o] = 1;
  page[o + 1] = target & 0xff;
  page[o + 2] = 0x40 | ((lun >> 8) & 0x3f);
  page[o + 3] = lun & 0xff;
  const lo = tag >>> 0;
  const hi = tag > 0xffff_ffff ? Math.floor(tag / 0x1_0000_0000) >>> 0 : 0;
  page[o + 8] = lo & 0xff;
  page[o + 9] = (lo >>> 8) & 0xff;
  page[o + 10] = (lo >>> 16) & 0xff;
  page[o + 11] = lo >>> 24;
  page[o + 12] = hi & 0xff;
  page[o + 13] = (hi >>> 8) & 0xff;
  page[o + 14] = (hi >>> 16) & 0xff;
  page[o + 15] = hi >>> 24;
  page[o + 16] = V.VIRTIO_SCSI_S_SIMPLE;
  const n = Math.min(cdb.length, VIRTSCSI_CDB_SIZE);
  for (let i = 0; i < n; i++) page[o + V.VIRTIO_SCSI_CMD_REQ_HDR_SIZE + i] = cdb[i];
}

export class VirtioScsiDriver implements ScsiHostTemplate {
  readonly name = 'Virtio SCSI HBA';
  readonly host: ScsiHost;
  readonly events: VirtscsiEvents;
  readonly tmf: VirtscsiTmf;
  private hostHandlesTimeouts: boolean;
  /** guest.virtio-scsi.queue per command; guest.vq.get_buf + guest.virtio-scsi.complete per response. */
  private readonly queueNs: number;
  private readonly completeNs: number;
  /** guest.irq.entry per interrupt. */
  private readonly irqEntryNs: number;
  /**
   * The lists queuecommand hands to addSgs (the sgs[] array on virtscsi_add_cmd's stack):
   * filled by index for each command and read at once, never kept.
   */
  private readonly outSg: SgElem[] = [];
  private readonly inSg: SgElem[] = [];
  private readonly reqSg: SgElem = { addr: 0, len: REQ_SIZE };
  private readonly respSg: SgElem = { addr: 0, len: RESP_SIZE };

  private constructor(
    readonly k: GuestKernel,
    readonly t: VirtioScsiTransport,
    readonly info: VirtioScsiInfo,
    readonly devName: string,
    private readonly reqVqs: DriverVirtqueue<ReqToken>[],
    ctrlVq: DriverVirtqueue<CtrlToken>,
    eventVq: DriverVirtqueue<number>,
    hostNo: number,
    limits: { cmdPerLun: number; maxSectors: number; sgTablesize: number; maxId: number; maxLun: number },
    opts: VirtioScsiOptions,
  ) {
    this.hostHandlesTimeouts = opts.hostHandlesTimeouts ?? true;
    this.queueNs = k.costs.ns('guest.virtio-scsi.queue');
    this.completeNs = k.costs.ns('guest.vq.get_buf') + k.costs.ns('guest.virtio-scsi.complete');
    this.irqEntryNs = k.costs.ns('guest.irq.entry');
    this.host = new ScsiHost(k, this, { ...limits, canQueue: info.vringSize, maxChannel: 0, maxCmdLen: VIRTSCSI_CDB_SIZE, nrHwQueues: reqVqs.length }, hostNo);
    this.events = new VirtscsiEvents(this.host, eventVq);
    this.tmf = new VirtscsiTmf(k, ctrlVq, () => this.pollRequests());
  }

  /** virtscsi_probe + virtscsi_init. Runs on a vCPU during boot; `scan` comes after. */
  static probe(k: GuestKernel, t: VirtioScsiTransport, index: number, opts: VirtioScsiOptions = {}): VirtioScsiDriver | VirtioProbeError {
    const features = t.negotiate(VIRTIO_SCSI_DRIVER_FEATURES);
    if (typeof features !== 'bigint') return features;
    const u32 = (off: number): number => t.readConfig(off, 4) >>> 0;
    const numQueues = Math.max(1, Math.min(u32(V.VIRTIO_SCSI_CFG_NUM_QUEUES) || 1, k.cpus.length));
    const maxTarget = t.readConfig(V.VIRTIO_SCSI_CFG_MAX_TARGET, 2) & 0xffff;
    const segMax = u32(V.VIRTIO_SCSI_CFG_SEG_MAX) || 1;
    const eventIdx = hasFeature(features, VIRTIO_F_EVENT_IDX);
    const indirect = hasFeature(features, VIRTIO_F_INDIRECT_DESC);
    const nvqs = numQueues + V.VIRTIO_SCSI_VQ_BASE;
    const irqMode: VirtioScsiInfo['irqMode'] = t.msixVectors >= nvqs + 1 ? 'msix' : t.msixVectors >= 2 ? 'msix-shared' : 'intx';
    let driver: VirtioScsiDriver | undefined;
    const callback = (i: number) => (): void => driver?.vqDone(i);
    if (irqMode !== 'intx') {
      t.programMsix(0, 0, k.idt.requestIrq(() => undefined));
      if (irqMode === 'msix-shared') t.programMsix(1, 0, k.idt.requestIrq(() => driver?.allVqsDone(false)));
      t.enableMsix();
      t.setConfigVector(0);
    } else k.routeIoapicPin(t.fn.irqLine, k.idt.requestIrq(() => driver?.allVqsDone(true)), 0);
    const rings: DriverVirtqueue<unknown>[] = [];
    const doorbells: number[] = [];
    const descNs = k.costs.ns('guest.vq.add-desc');
    for (let i = 0; i < nvqs; i++) {
      const size = t.queueMaxSize(i);
      if (size === 0) return { _tag: 'QueueUnavailable', index: i };
      const vq = new DriverVirtqueue<unknown>(k.mem, k.alloc, i, size, {
        eventIdx,
        indirect,
        chargeDescs: (n) => k.sim.advance(n * descNs),
        notify: () => t.notify(k.current.port, doorbells[i], i),
      });
      let entry = VIRTIO_MSI_NO_VECTOR;
      if (irqMode === 'msix') {
        entry = i + 1;
        // Request queues' vectors follow their CPUs (blk_mq_virtio_map_queues); control and event go to CPU 0.
        const cpu = i >= V.VIRTIO_SCSI_VQ_BASE ? (i - V.VIRTIO_SCSI_VQ_BASE) % k.cpus.length : 0;
        t.programMsix(entry, cpu, k.idt.requestIrq(callback(i)));
      } else if (irqMode === 'msix-shared') entry = 1;
      const r = t.setupQueue(i, vq.ring, size, entry);
      if ('_tag' in r) return r;
      rings.push(vq);
      doorbells.push(r.notifyAddr);
    }
    t.writeConfig(V.VIRTIO_SCSI_CFG_CDB_SIZE, 4, VIRTSCSI_CDB_SIZE);
    t.writeConfig(V.VIRTIO_SCSI_CFG_SENSE_SIZE, 4, VIRTSCSI_SENSE_SIZE);
    const vringSize = rings[V.VIRTIO_SCSI_VQ_BASE].size;
    const info: VirtioScsiInfo = { features, numQueues, irqMode, vringSize };
    const limits = {
      cmdPerLun: Math.min(u32(V.VIRTIO_SCSI_CFG_CMD_PER_LUN) || 1, vringSize),
      maxSectors: u32(V.VIRTIO_SCSI_CFG_MAX_SECTORS) || 0xffff,
      sgTablesize: segMax,
      maxId: maxTarget + 1,
      // LUNs from 256 are reported flat (format 1), so they land at 16640..32767.
      maxLun: u32(V.VIRTIO_SCSI_CFG_MAX_LUN) + 1 + 0x4000,
    };
    driver = new VirtioScsiDriver(
      k,
      t,
      info,
      `virtio-scsi${index}`,
      rings.slice(V.VIRTIO_SCSI_VQ_BASE) as DriverVirtqueue<ReqToken>[],
      rings[V.VIRTIO_SCSI_VQ_CONTROL] as DriverVirtqueue<CtrlToken>,
      rings[V.VIRTIO_SCSI_VQ_EVENT] as DriverVirtqueue<number>,
      index,
      limits,
      opts,
    );
    t.driverOk();
    if (hasFeature(features, V.VIRTIO_SCSI_F_HOTPLUG)) driver.events.kickAll();
    return driver;
  }

  /** scsi_scan_host, after probe (virtio_driver.scan). */
  scan(done: () => void): void {
    scanHost(this.host, done);
  }

  /** virtscsi_queuecommand. */
  queuecommand(cmd: ScsiCmnd): 'ok' | 'host-busy' {
    const { mem, sim, alloc } = this.k;
    sim.advance(this.queueNs);
    const vq = this.reqVqs[cmd.hwq % this.reqVqs.length];
    let tok = cmd.hostPriv as ReqToken | undefined;
    if (tok === undefined || tok.out || tok.cmd !== cmd) cmd.hostPriv = tok = { cmd, area: -1, id: cmd.id, out: true };
    else {
      tok.id = cmd.id;
      tok.out = true;
    }
    if (tok.area < 0) tok.area = alloc.alloc(CMD_AREA, 64);
    const area = tok.area;
    const sdev = cmd.device;
    writeCmdArea(mem, area, sdev.id, sdev.lun, cmd.id, cmd.cdb);
    const { outSg: out, inSg: inb, reqSg, respSg } = this;
    reqSg.addr = area;
    respSg.addr = area + REQ_SIZE;
    const sg = cmd.sg;
    let nOut = 0;
    let nIn = 0;
    out[nOut++] = reqSg;
    if (cmd.direction === 'to-device') for (let i = 0; i < sg.length; i++) out[nOut++] = sg[i];
    inb[nIn++] = respSg;
    if (cmd.direction === 'from-device') for (let i = 0; i < sg.length; i++) inb[nIn++] = sg[i];
    // Cut to length (emptying an array first would drop its backing store).
    if (out.length !== nOut) out.length = nOut;
    if (inb.length !== nIn) inb.length = nIn;
    if (!vq.addSgs(out, inb, tok)) {
      tok.out = false;
      if (!vq.isBroken()) return 'host-busy';
      this.releaseArea(tok);
      // -EIO: the queue is broken; the command fails as if the target were gone.
      cmd.hostByte = DID_BAD_TARGET;
      sim.after(0, () => this.host.scsiDone(cmd));
      return 'ok';
    }
    if (cmd.last) this.kick(vq);
    return 'ok';
  }

  /** virtscsi_commit_rqs. */
  commitRqs(hwq: number): void {
    this.kick(this.reqVqs[hwq % this.reqVqs.length]);
  }

  private kick(vq: DriverVirtqueue<unknown>): void {
    const notify = vq.kickPrepare();
    const trace = this.k.trace;
    if (trace.active) trace.emitKick(this.k.sim.now, this.devName, vq.index, notify);
    if (notify) vq.notify();
  }

  /** An interrupt for queue `i`: virtscsi_ctrl_done, virtscsi_event_done or virtscsi_req_done. */
  vqDone(i: number): void {
    this.k.sim.advance(this.irqEntryNs);
    this.service(i);
  }

  private service(i: number): void {
    if (i === V.VIRTIO_SCSI_VQ_CONTROL) this.tmf.done();
    else if (i === V.VIRTIO_SCSI_VQ_EVENT) this.events.done();
    else this.reqDone(i - V.VIRTIO_SCSI_VQ_BASE);
  }

  /** virtscsi_vq_done over a request queue, completing each command. */
  private reqDone(q: number): void {
    const vq = this.reqVqs[q];
    if (vq === undefined) return;
    const { mem, sim } = this.k;
    do {
      vq.disableCb();
      for (let b = vq.getBuf(); b; b = vq.getBuf()) {
        sim.advance(this.completeNs);
        const tok = b.token;
        const { cmd, area } = tok;
        tok.out = false;
        // The command went out again since this trip (reused for its tag's next request): a stale answer.
        const current = tok.id === cmd.id;
        if (current) {
          virtscsiCompleteFromMem(cmd, mem, area + REQ_SIZE, VIRTSCSI_SENSE_SIZE);
          this.host.scsiDone(cmd);
        }
        this.releaseArea(tok);
      }
      if (vq.isBroken()) break;
    } while (!vq.enableCb());
  }

  /**
   * Free a token's area unless its command keeps it: a block request's command still in
   * use by its tag, not out again, that still has this token (the tag's next request uses
   * the same memory).
   */
  private releaseArea(tok: ReqToken): void {
    const cmd = tok.cmd;
    if (tok.out || tok.area < 0 || (cmd.hostPriv === tok && cmd.rq !== undefined && !cmd.retired)) return;
    this.k.alloc.free(tok.area, CMD_AREA, 64);
    tok.area = -1;
  }

  /** virtscsi_poll_requests: drain every request queue (after a TMF, whose commands are done). */
  private pollRequests(): void {
    this.reqVqs.forEach((_, q) => this.reqDone(q));
  }

  /** A shared vector or INTx: service every queue with used buffers (vp_interrupt). */
  allVqsDone(intx: boolean): void {
    if (intx && !(this.t.readIsr(this.k.current.port) & VIRTIO_PCI_ISR_QUEUE)) return;
    this.k.sim.advance(this.irqEntryNs);
    this.service(V.VIRTIO_SCSI_VQ_CONTROL);
    this.service(V.VIRTIO_SCSI_VQ_EVENT);
    this.reqVqs.forEach((vq, q) => {
      if (vq.moreUsed()) this.reqDone(q);
    });
  }

  /** virtscsi_abort: ABORT TASK for the command's tag. */
  ehAbortHandler(cmd: ScsiCmnd, done: EhDone): void {
    this.tmf.send(V.VIRTIO_SCSI_T_TMF_ABORT_TASK, cmd.device, BigInt(cmd.id), done);
  }

  /** virtscsi_device_reset: LOGICAL UNIT RESET. */
  ehDeviceResetHandler(cmd: ScsiCmnd, done: EhDone): void {
    this.tmf.send(V.VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, cmd.device, 0n, done);
  }

  /** virtscsi_eh_timed_out. */
  ehTimedOut(): 'reset-timer' | 'not-handled' {
    return this.hostHandlesTimeouts ? 'reset-timer' : 'not-handled';
  }

  /** virtscsi_device_alloc: always read the VPD pages (BLIST_TRY_VPD_PAGES). */
  sdevInit(sdev: ScsiDevice): void {
    sdev.tryVpdPages = true;
  }
}
