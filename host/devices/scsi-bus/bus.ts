/**
 * A SCSI bus (QEMU's SCSIBus, hw/scsi/scsi-bus.c): the devices an HBA reaches by channel,
 * target (scsi-id) and LUN, the bus-wide unit attention, and the first step of every
 * command — deciding whether the device, the bus itself (an absent LUN, REPORT LUNS, a
 * pending unit attention) or nobody (an unparsable CDB) answers it.
 *
 *   const bus = new ScsiBus({ tcq: true, maxChannel: 0, maxTarget: 255, maxLun: 16383 });
 *   bus.attach(disk);                          // realize: address checked or chosen
 *   const dev = bus.find(0, target, lun);      // scsi_device_find; undefined: bad target
 *   const req = bus.newRequest(dev, { tag, lun, cdb, data, onComplete });
 *
 * Hot-plug and hot-unplug are `attach`/`detach` with `reportChange` (what virtio-scsi in
 * QEMU 7.2 does when VIRTIO_SCSI_F_HOTPLUG was negotiated): the bus gets the unit attention
 * REPORTED LUNS DATA HAS CHANGED. A bus reset resets every device: each gets POWER ON,
 * RESET, OR BUS DEVICE RESET OCCURRED.
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseCdbInto } from './cdb.js';
import { GET_CONFIGURATION, GET_EVENT_STATUS_NOTIFICATION, INQUIRY, REPORT_LUNS, REQUEST_SENSE, SENSE, UNIT_ATTENTION, type SenseCode } from './defs.js';
import { uaPrecedence, type ScsiDevice } from './device.js';
import type { ScsiData } from './data.js';
import { ScsiRequest, type ScsiReqKind, type ScsiRequestInit } from './request.js';
import { failingHandler, targetHandler, unitAttentionHandler } from './target.js';

/** What the HBA tells the bus (SCSIBusInfo). */
export interface ScsiBusInfo {
  /** Tagged command queueing: INQUIRY's CmdQue bit. */
  readonly tcq: boolean;
  readonly maxChannel: number;
  readonly maxTarget: number;
  readonly maxLun: number;
}

/** Why a device could not be attached; `message` is QEMU's. */
export interface ScsiBusError {
  readonly _tag: 'BadAddress' | 'AddressInUse' | 'NoFreeAddress';
  readonly message: string;
}

/** The largest transfer a request may imply (scsi_req_new refuses more with INVALID FIELD IN CDB). */
const INT32_MAX = 0x7fff_ffff;

/** Freed requests a bus keeps for its next commands (more than a queue's worth are rarely out at once). */
const SPARE_MAX = 256;

export class ScsiBus {
  /** The bus-wide unit attention (scsi_bus_set_ua). */
  unitAttention: SenseCode = SENSE.NO_SENSE;
  /** Attached devices, newest first (QEMU's qbus children list). */
  readonly devices: ScsiDevice[] = [];
  /** Requests their HBA freed, for the next commands (QEMU allocates each; reusing them changes nothing anyone sees). */
  private readonly spare: ScsiRequest[] = [];

  constructor(readonly info: ScsiBusInfo) {}

  /** scsi_device_find: the device at channel/id/lun, else the first one at channel/id (which answers for the absent LUN). */
  find(channel: number, id: number, lun: number): ScsiDevice | undefined {
    let found: ScsiDevice | undefined;
    const devices = this.devices;
    for (let i = 0; i < devices.length; i++) {
      const d = devices[i];
      const c = d.common;
      if (c.channel !== channel || c.id !== id) continue;
      if (c.lun === lun) return d;
      found ??= d;
    }
    return found;
  }

  private addressFree(channel: number, id: number, lun: number): ScsiDevice | undefined {
    const d = this.find(channel, id, lun);
    return d !== undefined && d.common.lun === lun ? d : undefined;
  }

  /**
   * Realize `dev` on this bus (scsi_bus_check_address, then scsi_qdev_realize's choice of a
   * free scsi-id or LUN when -1), and reset it as a machine or hot-plug reset does.
   */
  attach(dev: ScsiDevice, opts: { reportChange?: boolean } = {}): E.Either<ScsiBusError, ScsiDevice> {
    const c = dev.common;
    const { maxChannel, maxTarget, maxLun } = this.info;
    if (!Number.isInteger(c.channel) || c.channel < 0 || c.channel > maxChannel) return bad('BadAddress', `bad scsi channel id: ${c.channel}`);
    if (!Number.isInteger(c.id) || c.id < -1 || c.id > maxTarget) return bad('BadAddress', `bad scsi device id: ${c.id}`);
    if (!Number.isInteger(c.lun) || c.lun < -1 || c.lun > maxLun) return bad('BadAddress', `bad scsi device lun: ${c.lun}`);
    if (c.attached || this.devices.includes(dev)) return bad('AddressInUse', `device '${dev.name}' is already on the bus`);
    if (c.id !== -1 && c.lun !== -1) {
      const other = this.addressFree(c.channel, c.id, c.lun);
      if (other) return bad('AddressInUse', `lun already used by '${other.name}'`);
    }
    if (c.id === -1) {
      const lun = c.lun === -1 ? 0 : c.lun;
      let id = 0;
      while (id <= maxTarget && this.addressFree(c.channel, id, lun)) id++;
      if (id > maxTarget) return bad('NoFreeAddress', 'no free target');
      c.id = id;
      c.lun = lun;
    } else if (c.lun === -1) {
      let lun = 0;
      while (lun <= maxLun && this.addressFree(c.channel, c.id, lun)) lun++;
      if (lun > maxLun) return bad('NoFreeAddress', 'no free lun');
      c.lun = lun;
    }
    this.devices.unshift(dev);
    c.attached = true;
    dev.reset();
    if (opts.reportChange) this.setUnitAttention(SENSE.REPORTED_LUNS_CHANGED);
    return E.right(dev);
  }

  /** Hot-unplug (scsi_qdev_unrealize): cancel the device's requests and take it off the bus. */
  detach(dev: ScsiDevice, opts: { reportChange?: boolean } = {}): boolean {
    const i = this.devices.indexOf(dev);
    if (i < 0) return false;
    dev.common.purgeRequests(SENSE.NO_SENSE);
    this.devices.splice(i, 1);
    dev.common.attached = false;
    if (opts.reportChange) this.setUnitAttention(SENSE.REPORTED_LUNS_CHANGED);
    return true;
  }

  /** A bus reset (qbus_reset_all): every device resets. */
  reset(): void {
    for (const d of [...this.devices]) d.reset();
  }

  /** scsi_bus_set_ua: only a unit attention, and only over a less important one. */
  setUnitAttention(sense: SenseCode): void {
    if (sense.key !== UNIT_ATTENTION) return;
    if (uaPrecedence(sense) < uaPrecedence(this.unitAttention)) this.unitAttention = sense;
  }

  /**
   * scsi_req_new: parse the CDB and pick who answers. `lun` is the LUN the initiator
   * addressed; `dev` is what `find` returned for it.
   */
  newRequest(dev: ScsiDevice, init: ScsiRequestInit): ScsiRequest {
    return this.request(dev, init.tag, init.lun, init.cdb, 0, init.cdb.length, init.data, init.onComplete, init.onCancel);
  }

  /**
   * newRequest with ScsiRequestInit's fields as arguments (an HBA's per-command path: no
   * init object), the CDB as the `cdbLen` bytes at `cdb[cdbAt]` (read before this returns:
   * they may lie in the HBA's request header where the guest left it).
   */
  request(dev: ScsiDevice, tag: number, lun: number, cdb: Uint8Array, cdbAt: number, cdbLen: number, data: ScsiData | undefined, onComplete: (req: ScsiRequest) => void, onCancel?: (req: ScsiRequest) => void): ScsiRequest {
    const c = dev.common;
    const op = cdbLen > 0 ? cdb[cdbAt] : -1;
    let kind: ScsiReqKind = 'device';
    const uaPending = c.unitAttention.key === UNIT_ATTENTION || this.unitAttention.key === UNIT_ATTENTION;
    if (
      uaPending &&
      op !== INQUIRY &&
      op !== REPORT_LUNS &&
      op !== GET_CONFIGURATION &&
      op !== GET_EVENT_STATUS_NOTIFICATION &&
      // A unit attention already reported through the stored sense goes first.
      !(op === REQUEST_SENSE && c.senseIsUa)
    ) {
      kind = 'unit-attention';
    } else if (lun !== c.lun || op === REPORT_LUNS || (op === REQUEST_SENSE && c.senseLen > 0)) {
      kind = 'target';
    }
    const req = this.spare.pop() ?? new ScsiRequest(this);
    // An empty or unparsable CDB leaves the request's command as none (INVALID COMMAND OPERATION CODE).
    if (!parseCdbInto(dev, cdb, cdbAt, cdbLen, req.cmd)) kind = 'invalid-opcode';
    else if (req.cmd.xfer > INT32_MAX) kind = 'invalid-field';
    req.init(dev, kind, tag, lun, data, onComplete, onCancel);
    switch (kind) {
      case 'invalid-opcode':
        req.handler = failingHandler(req, SENSE.INVALID_OPCODE);
        break;
      case 'invalid-field':
        req.handler = failingHandler(req, SENSE.INVALID_FIELD);
        break;
      case 'unit-attention':
        req.handler = unitAttentionHandler(req);
        break;
      case 'target':
        req.handler = targetHandler(req);
        break;
      case 'device':
        req.handler = dev.newHandler(req);
        break;
    }
    return req;
  }

  /** A request its HBA freed (ScsiRequest.free), kept for a later command. */
  recycle(req: ScsiRequest): void {
    if (this.spare.length < SPARE_MAX) this.spare.push(req);
  }
}

const bad = (_tag: ScsiBusError['_tag'], message: string): E.Either<ScsiBusError, never> => E.left({ _tag, message });
