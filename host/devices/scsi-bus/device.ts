/**
 * What the bus knows of a device on it (QEMU's SCSIDevice and the SCSIDeviceClass hooks):
 * its address, its pending unit attention, the sense of its last failed command, and the
 * requests it holds. A device model (scsi-hd, scsi-cd) owns one `ScsiDeviceCommon` and
 * implements the few operations the bus calls.
 */
import { RequestList } from './request-list.js';
import { SCSI_SENSE_BUF_SIZE, SENSE, UNIT_ATTENTION, type SenseCode } from './defs.js';
import type { ScsiReqHandler, ScsiRequest } from './request.js';

export interface ScsiDevice {
  /** The `-device ...,id=` (error messages, traces). */
  readonly name: string;
  readonly common: ScsiDeviceCommon;
  /** Peripheral device type (TYPE_DISK, TYPE_ROM). */
  readonly type: number;
  /** Logical block size in bytes (what CDB transfer lengths count in). */
  readonly blocksize: number;
  /** SCSIDeviceClass.alloc_req: the handler that runs a command addressed to this device. */
  newHandler(req: ScsiRequest): ScsiReqHandler;
  /** DeviceClass.reset (device, LUN, target or bus reset): cancel everything, set the RESET unit attention. */
  reset(): void;
  /** SCSIDeviceClass.unit_attention_reported: the guest has just been told of a unit attention. */
  unitAttentionReported?(): void;
}

/** scsi_ua_precedence: lower wins; a reset-class condition is kept over a later, lesser one. */
export function uaPrecedence(s: SenseCode): number {
  if (s.key !== UNIT_ATTENTION) return Number.MAX_SAFE_INTEGER;
  if (s.asc === 0x29 && s.ascq === 0x04) return 1; // DEVICE INTERNAL RESET goes with POWER ON OCCURRED
  if (s.asc === 0x3f && s.ascq === 0x01) return 2; // MICROCODE HAS BEEN CHANGED goes with SCSI BUS RESET
  if (s.asc === 0x29 && (s.ascq === 0x05 || s.ascq === 0x06)) return (s.asc << 8) | s.ascq;
  if (s.asc === 0x29 && s.ascq <= 0x07) return s.ascq; // the reset family, in SAM's order
  if (s.asc === 0x2f && s.ascq === 0x01) return 8; // COMMANDS CLEARED BY POWER LOSS NOTIFICATION
  return (s.asc << 8) | s.ascq;
}

/** The state QEMU keeps in every SCSIDevice. */
export class ScsiDeviceCommon {
  /** `channel`, `scsi-id`, `lun` properties; -1 = pick the first free one when attached. */
  channel: number;
  id: number;
  lun: number;
  /** The pending unit attention (NO_SENSE when none). */
  unitAttention: SenseCode = SENSE.NO_SENSE;
  /** Sense of the last command that completed with sense; REQUEST SENSE returns it. */
  readonly sense = new Uint8Array(SCSI_SENSE_BUF_SIZE);
  senseLen = 0;
  /** That sense reported a unit attention. */
  senseIsUa = false;
  /** Requests enqueued and not yet completed or canceled, in arrival order. */
  readonly requests = new RequestList<ScsiRequest>();
  /** Set while attached. */
  attached = false;

  constructor(addr: { channel?: number; id?: number; lun?: number } = {}) {
    this.channel = addr.channel ?? 0;
    this.id = addr.id ?? -1;
    this.lun = addr.lun ?? -1;
  }

  /** scsi_device_set_ua. */
  setUnitAttention(sense: SenseCode): void {
    if (sense.key !== UNIT_ATTENTION) return;
    if (uaPrecedence(sense) < uaPrecedence(this.unitAttention)) this.unitAttention = sense;
  }

  /** scsi_device_purge_requests: cancel every request, then set `sense` as the unit attention. */
  purgeRequests(sense: SenseCode): void {
    for (const r of [...this.requests]) r.cancel();
    this.setUnitAttention(sense);
  }
}
