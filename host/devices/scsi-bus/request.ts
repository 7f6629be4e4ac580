/**
 * One SCSI command on its way through a target (QEMU's SCSIRequest, hw/scsi/scsi-bus.c
 * scsi_req_enqueue / scsi_req_continue / scsi_req_data / scsi_req_complete /
 * scsi_req_cancel / scsi_req_get_sense).
 *
 * The HBA's side of a request's life:
 *
 *   const req = bus.newRequest(dev, { tag, lun, cdb, data, onComplete });   // scsi_req_new
 *   const n = req.enqueue();     // > 0: data comes from the device, < 0: goes to it, 0: none
 *   if (n !== 0) req.continue(); // move the data and finish (the HBA checked its buffers first)
 *   ...                          // later, exactly once: onComplete(req), or onCancel(req)
 *   req.status, req.residual, req.getSense()                          // the HBA's answer
 *   req.free()                   // the HBA is done with it: the bus may give it to a later command
 *
 * A request completes inline when the command needs no I/O (INQUIRY, a CHECK CONDITION)
 * and later, on the simulation clock, when it waits for the drive. The data buffer is
 * moved in one step (QEMU's HBA-provided scatter-gather path); the residual is what the
 * buffer had left after the transfer.
 */
import { SAM_STAT_CHECK_CONDITION, SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import type { ScsiBus } from './bus.js';
import { ScsiCommandBuf } from './cdb.js';
import { dataRead, dataSize, dataView, dataWrite, type ScsiData } from './data.js';
import { GET_CONFIGURATION, GET_EVENT_STATUS_NOTIFICATION, INQUIRY, REPORT_LUNS, SCSI_SENSE_BUF_SIZE, SENSE, UNIT_ATTENTION, buildSense, convertSense, type SenseCode } from './defs.js';
import type { ScsiDevice } from './device.js';

/** What runs a command (QEMU's SCSIReqOps for one request, with that request's own state). */
export interface ScsiReqHandler {
  /** send_command: start. Returns the signed transfer length; may complete the request. */
  sendCommand(): number;
  /** read_data / write_data: move the data and go on (the HBA called continue, or a retry). */
  continue(): void;
  /**
   * The request was canceled. True when I/O is still outstanding: the handler then calls
   * `req.cancelComplete()` when it comes back. False when nothing is outstanding.
   */
  cancelIo(): boolean;
  /**
   * The handler keeps nothing of its request once the request has completed (it touches it
   * no more): the HBA's `free` may then give the request to another command.
   */
  readonly releasesRequest?: boolean;
}

/** Which SCSIReqOps QEMU chose for the request (the bus decides before the device does). */
export type ScsiReqKind = 'device' | 'target' | 'unit-attention' | 'invalid-opcode' | 'invalid-field';

export interface ScsiRequestInit {
  readonly tag: number;
  /** The LUN the initiator addressed (may differ from the device's when that LUN is absent). */
  readonly lun: number;
  /** The CDB as the HBA passed it (virtio-scsi: cdb_size bytes). */
  readonly cdb: Uint8Array;
  /** Data-in buffer for commands that read, data-out for commands that write. */
  readonly data?: ScsiData;
  /** SCSIBusInfo.complete(req, residual): status, residual and sense are set. */
  readonly onComplete: (req: ScsiRequest) => void;
  /** SCSIBusInfo.cancel: a canceled request is done (no status). */
  readonly onCancel?: (req: ScsiRequest) => void;
}

const noop = (): void => undefined;

export class ScsiRequest {
  /** SCSI status once complete; -1 before. */
  status = -1;
  /** Bytes of the HBA's buffer not transferred (starts at the command's xfer). */
  residual = 0;
  private senseBuf: Uint8Array | undefined = undefined;
  senseLen = 0;
  /** Stopped by rerror/werror=stop; the device retries it when the VM resumes. */
  retry = false;
  ioCanceled = false;
  enqueued = false;
  handler!: ScsiReqHandler;
  /** The device's request list links (request-list.ts). */
  listPrev: ScsiRequest | undefined = undefined;
  listNext: ScsiRequest | undefined = undefined;
  listed = false;
  /** The HBA's own state for the request (QEMU's hba_private), set and cleared by the HBA. */
  hbaPrivate: unknown = undefined;
  /** The command, parsed by the bus into this request's own SCSICommand. */
  readonly cmd = new ScsiCommandBuf();
  /**
   * The fields of ScsiRequestInit (each a field of its own, not the init object), the device
   * and the bus's choice of who answers: set by the bus (`init`) for each command the
   * request carries; nobody else changes them.
   */
  dev!: ScsiDevice;
  kind: ScsiReqKind = 'device';
  tag = 0;
  lun = 0;
  data: ScsiData | undefined = undefined;
  /** The size of `data` in bytes. */
  dataSize = 0;
  private onComplete: (req: ScsiRequest) => void = noop;
  private onCancel: ((req: ScsiRequest) => void) | undefined = undefined;
  /** Back with the bus, waiting for a command (see `free`). */
  private spare = false;

  constructor(readonly bus: ScsiBus) {}

  /** Carry a new command (scsi_req_alloc): `cmd` already parsed; every other field as a new request has it. */
  init(dev: ScsiDevice, kind: ScsiReqKind, tag: number, lun: number, data: ScsiData | undefined, onComplete: (req: ScsiRequest) => void, onCancel: ((req: ScsiRequest) => void) | undefined): this {
    this.status = -1;
    this.residual = this.cmd.xfer;
    this.senseLen = 0;
    this.retry = false;
    this.ioCanceled = false;
    this.enqueued = false;
    this.listPrev = undefined;
    this.listNext = undefined;
    this.listed = false;
    this.hbaPrivate = undefined;
    this.dev = dev;
    this.kind = kind;
    this.tag = tag;
    this.lun = lun;
    this.data = data;
    this.dataSize = dataSize(data);
    this.onComplete = onComplete;
    this.onCancel = onCancel;
    this.spare = false;
    return this;
  }

  /**
   * The HBA is done with the request (virtio_scsi_free_req dropping the HBA's reference).
   * A request nothing else holds any more — completed, off the device's list, not canceled,
   * run by a handler that keeps nothing of it once it completes (`releasesRequest`) — goes
   * back to the bus to carry a later command, as QEMU's freed SCSIRequest memory is
   * allocated again; any other is left to the garbage collector. Nothing guest-visible
   * depends on which object carries a command.
   */
  free(): void {
    if (this.spare || this.status === -1 || this.enqueued || this.ioCanceled || this.handler.releasesRequest !== true) return;
    this.spare = true;
    this.data = undefined;
    this.hbaPrivate = undefined;
    this.onComplete = noop;
    this.onCancel = undefined;
    this.bus.recycle(this);
  }

  /** The sense buffer (SCSI_SENSE_BUF_SIZE bytes), made when first needed: most commands never have sense. */
  get sense(): Uint8Array {
    return (this.senseBuf ??= new Uint8Array(SCSI_SENSE_BUF_SIZE));
  }

  /** scsi_req_enqueue: queue on the device and send the command. */
  enqueue(): number {
    this.enqueued = true;
    this.dev.common.requests.add(this);
    return this.handler.sendCommand();
  }

  /** scsi_req_continue. */
  continue(): void {
    if (this.ioCanceled || this.status !== -1) return;
    this.handler.continue();
  }

  /**
   * The VM resumed after a rerror/werror=stop (scsi_dma_restart_req): a command with data
   * goes on from where it stopped; one without is sent again.
   */
  resumeRetry(): void {
    if (!this.retry) return;
    this.retry = false;
    if (this.cmd.mode === 'none') {
      this.dequeue();
      this.enqueue();
    } else this.continue();
  }

  /** scsi_req_cancel: the HBA aborts the request (TMF ABORT TASK, reset, unplug). */
  cancel(): void {
    if (!this.enqueued || this.ioCanceled) return;
    this.dequeue();
    this.ioCanceled = true;
    if (!this.handler.cancelIo()) this.cancelComplete();
  }

  /** scsi_req_cancel_complete: a canceled request is finished. */
  cancelComplete(): void {
    this.onCancel?.(this);
  }

  /** scsi_req_build_sense: the sense the request will complete with (fixed format). */
  buildSense(sense: SenseCode): void {
    const b = buildSense(sense, 'fixed', 18);
    this.sense.set(b);
    this.senseLen = b.length;
  }

  /** scsi_check_condition. */
  checkCondition(sense: SenseCode): void {
    this.buildSense(sense);
    this.complete(SAM_STAT_CHECK_CONDITION);
  }

  /**
   * Data from the device: copy into the HBA's buffer (scsi_req_data with an sg list,
   * dma_buf_read); the residual is what the buffer had left.
   */
  dataIn(src: Uint8Array): void {
    const n = dataWrite(this.data, 0, src);
    this.residual = this.dataSize - n;
  }

  /** Data to the device: `len` bytes, zero where the HBA's buffer is shorter (dma_buf_write into a zeroed buffer). */
  dataOut(len: number): Uint8Array {
    const out = new Uint8Array(len);
    const n = dataRead(this.data, 0, out);
    this.residual = this.dataSize - n;
    return out;
  }

  /** Direct transfer at an offset (the DMA path): copy into the buffer. */
  dmaWrite(at: number, src: Uint8Array): number {
    return dataWrite(this.data, at, src);
  }

  /** Direct transfer at an offset (the DMA path): copy out of the buffer. */
  dmaRead(at: number, dst: Uint8Array): number {
    return dataRead(this.data, at, dst);
  }

  /**
   * The DMA path's data out, `len` bytes from `at`: a view of guest memory when the buffer
   * has them in one piece (valid until guest memory next changes: hand it to a consumer
   * that copies at once), else a copy, zero where the buffer is shorter.
   */
  dmaOut(at: number, len: number): Uint8Array {
    const v = dataView(this.data, at, len);
    if (v !== undefined) return v;
    const buf = new Uint8Array(len);
    dataRead(this.data, at, buf);
    return buf;
  }

  /** scsi_req_complete. Completing twice is a simulator bug. */
  complete(status: number): void {
    if (this.status !== -1) throw new Error(`scsi: request tag ${this.tag} completed twice`);
    this.status = status;
    if (status === SAM_STAT_GOOD) this.senseLen = 0;
    const c = this.dev.common;
    if (this.senseLen > 0) {
      c.sense.set(this.sense.subarray(0, this.senseLen));
      c.senseLen = this.senseLen;
      c.senseIsUa = this.kind === 'unit-attention';
    } else {
      c.senseLen = 0;
      c.senseIsUa = false;
    }
    this.clearUnitAttention();
    this.dequeue();
    this.onComplete(this);
  }

  /**
   * scsi_req_get_sense: the sense for the HBA's autosense, in fixed format, at most `max`
   * bytes. Reporting a unit attention this way consumes it.
   */
  getSense(max = SCSI_SENSE_BUF_SIZE): Uint8Array {
    if (this.senseLen === 0) return new Uint8Array(0);
    const out = convertSense(this.sense.subarray(0, this.senseLen), max, 'fixed');
    const c = this.dev.common;
    if (c.senseIsUa) {
      this.dev.unitAttentionReported?.();
      c.senseLen = 0;
      c.senseIsUa = false;
    }
    return out;
  }

  private dequeue(): void {
    this.retry = false;
    if (!this.enqueued) return;
    this.dev.common.requests.delete(this);
    this.enqueued = false;
  }

  /**
   * QEMU 7.2's scsi_clear_unit_attention, run at every completion: the pending unit
   * attention (the device's, else the bus's) is cleared, except by INQUIRY, GET
   * CONFIGURATION and GET EVENT STATUS NOTIFICATION, and REPORT LUNS clears only
   * REPORTED LUNS DATA HAS CHANGED (SPC-4 §6.29).
   */
  private clearUnitAttention(): void {
    const c = this.dev.common;
    const devUa = c.unitAttention.key === UNIT_ATTENTION;
    if (!devUa && this.bus.unitAttention.key !== UNIT_ATTENTION) return;
    const op = this.cmd.buf[0];
    if (op === INQUIRY || op === GET_CONFIGURATION || op === GET_EVENT_STATUS_NOTIFICATION) return;
    const ua = devUa ? c.unitAttention : this.bus.unitAttention;
    if (op === REPORT_LUNS && !(ua.asc === 0x3f && ua.ascq === 0x0e)) return;
    if (devUa) c.unitAttention = SENSE.NO_SENSE;
    else this.bus.unitAttention = SENSE.NO_SENSE;
  }
}

