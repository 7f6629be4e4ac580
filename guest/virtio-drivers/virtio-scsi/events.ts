/**
 * The event queue (virtio_scsi.c virtscsi_kick_event, virtscsi_handle_event and its
 * helpers): 8 buffers of 16 bytes the device fills with events, each handled as work on
 * CPU 0 (system_freezable_wq) and then posted again.
 *
 *   EVENTS_MISSED bit    the device dropped events: check every device is still there
 *                        (INQUIRY; peripheral qualifier set, or BAD TARGET → remove),
 *                        then scan the whole host
 *   TRANSPORT_RESET      RESCAN: scan the target (LUN 0) or add the LUN; REMOVED: remove it
 *   PARAM_CHANGE         ASC 2Ah with ASCQ 00h, 01h or 09h (parameters, mode parameters,
 *                        capacity changed): rescan the device (sd re-reads its capacity)
 *
 * The event's LUN is read as Linux reads it: target lun[1], LUN (lun[2] << 8) | lun[3]
 * (so a flat-addressed LUN keeps its 0x40, exactly the range the host's max_lun admits).
 * Any 16 bytes decode to some event; an unknown one is logged and the buffer reposted.
 */
import * as E from 'fp-ts/lib/Either.js';
import { INQUIRY } from '../../../hw/scsi/opcodes.js';
import { DID_BAD_TARGET } from '../../../hw/scsi/status.js';
import * as V from '../../../hw/virtio/scsi.js';
import { decodeVirtioScsiEvent, type VirtioScsiEvent } from '../../../hw/virtio/scsi-req.js';
import { SD_MAX_RETRIES, SD_TIMEOUT_MS } from '../../scsi/cmnd.js';
import { scsiExecute } from '../../scsi/execute.js';
import type { ScsiHost } from '../../scsi/host.js';
import { addDevice, removeDevice, rescanDevice, scanHost, scanTarget } from '../../scsi/scan.js';
import type { DriverVirtqueue } from '../virtqueue.js';

/** VIRTIO_SCSI_EVENT_LEN: event buffers kept posted. */
export const VIRTIO_SCSI_EVENT_LEN = 8;

export class VirtscsiEvents {
  private readonly bufs: number[] = [];
  /** Events handled, in order (for tests and reports). */
  readonly handled: VirtioScsiEvent[] = [];

  constructor(
    private readonly host: ScsiHost,
    private readonly vq: DriverVirtqueue<number>,
  ) {
    for (let i = 0; i < VIRTIO_SCSI_EVENT_LEN; i++) this.bufs.push(host.k.alloc.alloc(V.VIRTIO_SCSI_EVENT_SIZE, 16));
  }

  /** virtscsi_kick_event_all. */
  kickAll(): void {
    for (let i = 0; i < VIRTIO_SCSI_EVENT_LEN; i++) this.kick(i);
  }

  /** virtscsi_kick_event: post buffer `i` (virtqueue_add_inbuf) and kick. */
  private kick(i: number): void {
    this.host.k.mem.fill(this.bufs[i], V.VIRTIO_SCSI_EVENT_SIZE);
    if (this.vq.addSgs([], [{ addr: this.bufs[i], len: V.VIRTIO_SCSI_EVENT_SIZE }], i) && this.vq.kickPrepare()) this.vq.notify();
  }

  /** virtscsi_event_done: drain, and queue each event's work. */
  done(): void {
    const got: number[] = [];
    do {
      this.vq.disableCb();
      for (let b = this.vq.getBuf(); b; b = this.vq.getBuf()) got.push(b.token);
      if (this.vq.isBroken()) break;
    } while (!this.vq.enableCb());
    for (const i of got) this.host.k.cpus[0].schedule('virtscsi_handle_event', () => this.handle(i));
  }

  /** virtscsi_handle_event. */
  private handle(i: number): void {
    const d = decodeVirtioScsiEvent(this.host.k.mem.read(this.bufs[i], V.VIRTIO_SCSI_EVENT_SIZE));
    if (E.isLeft(d)) return this.kick(i);
    const ev = d.right;
    this.handled.push(ev);
    const after = (): void => this.dispatch(ev, () => this.kick(i));
    if (ev.eventsMissed) this.rescanHotunplug(() => scanHost(this.host, after));
    else after();
  }

  private dispatch(ev: VirtioScsiEvent, done: () => void): void {
    const target = ev.lun[1];
    const lun = (ev.lun[2] << 8) | ev.lun[3];
    switch (ev.event) {
      case V.VIRTIO_SCSI_T_NO_EVENT:
        return done();
      case V.VIRTIO_SCSI_T_TRANSPORT_RESET:
        return this.transportReset(ev.reason, target, lun, done);
      case V.VIRTIO_SCSI_T_PARAM_CHANGE: {
        const sdev = this.host.lookup(0, target, lun);
        if (sdev === undefined) {
          this.host.note(`SCSI device ${this.host.hostNo} 0 ${target} ${lun} not found`);
          return done();
        }
        const asc = ev.reason & 0xff;
        const ascq = (ev.reason >>> 8) & 0xff;
        if (asc === 0x2a && (ascq === 0x00 || ascq === 0x01 || ascq === 0x09)) return rescanDevice(sdev, done);
        return done();
      }
      default:
        this.host.note(`Unsupported virtio scsi event ${ev.event.toString(16)}`);
        return done();
    }
  }

  /** virtscsi_handle_transport_reset. */
  private transportReset(reason: number, target: number, lun: number, done: () => void): void {
    switch (reason) {
      case V.VIRTIO_SCSI_EVT_RESET_RESCAN:
        if (lun === 0) return scanTarget(this.host, 0, target, done);
        return addDevice(this.host, 0, target, lun, () => done());
      case V.VIRTIO_SCSI_EVT_RESET_REMOVED: {
        const sdev = this.host.lookup(0, target, lun);
        if (sdev !== undefined) removeDevice(sdev);
        else this.host.note(`SCSI device ${this.host.hostNo} 0 ${target} ${lun} not found`);
        return done();
      }
      default:
        this.host.note(`Unsupported virtio scsi event reason ${reason.toString(16)}`);
        return done();
    }
  }

  /** virtscsi_rescan_hotunplug: is every device still there? */
  private rescanHotunplug(done: () => void): void {
    const devs = [...this.host.devices.values()];
    const each = (j: number): void => {
      if (j === devs.length) return done();
      const sdev = devs[j];
      const len = sdev.inquiryLen > 0 && sdev.inquiryLen <= 255 ? sdev.inquiryLen : 36;
      scsiExecute(sdev, Uint8Array.of(INQUIRY, 0, 0, 0, len, 0), { dataIn: len, retries: SD_MAX_RETRIES, timeoutMs: SD_TIMEOUT_MS }, (r) => {
        if ((r.ok && r.data.length > 0 && r.data[0] >> 5 !== 0) || (!r.ok && r.hostByte === DID_BAD_TARGET)) removeDevice(sdev);
        each(j + 1);
      });
    };
    each(0);
  }
}
