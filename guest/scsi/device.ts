/**
 * A logical unit as the midlayer knows it (struct scsi_device, include/scsi/scsi_device.h):
 * its address on the host, what INQUIRY said, the VPD pages it cached, its queue depth
 * and the commands it has out, and its state (enum scsi_device_state).
 *
 * States, as Linux moves between them: `created` while the scan probes it, `running` once
 * added, `offline` when error recovery gave up on it (every command then fails at once),
 * `cancel` / `del` while and after it is removed (hot-unplug, a REMOVED event).
 */
import type { StandardInquiry } from '../../hw/scsi/inquiry.js';
import type { ScsiHost } from './host.js';

export type ScsiDeviceState = 'created' | 'running' | 'offline' | 'blocked' | 'cancel' | 'del';

/** SCSI levels as Linux numbers them (include/scsi/scsi.h): INQUIRY VERSION + 1 from SCSI-2 up. */
export const SCSI_2 = 3;
export const SCSI_3 = 4;
export const SCSI_SPC_2 = 5;
export const SCSI_SPC_3 = 6;

/** The VPD pages scsi_attach_vpd keeps (page 0 first; the rest only when page 0 lists them). */
export interface ScsiVpdPages {
  pg0?: Uint8Array;
  pg80?: Uint8Array;
  pg83?: Uint8Array;
  pgb0?: Uint8Array;
  pgb1?: Uint8Array;
  pgb2?: Uint8Array;
}

export class ScsiDevice {
  state: ScsiDeviceState = 'created';
  /** Peripheral device type (INQUIRY byte 0 bits 4..0). */
  type = 0;
  scsiLevel = 0;
  removable = false;
  /** CmdQue: the device takes more than one command at a time. */
  tagged = false;
  vendor = '';
  model = '';
  rev = '';
  inquiry: StandardInquiry | undefined;
  /** Bytes of INQUIRY data kept (sdev->inquiry_len). */
  inquiryLen = 36;
  readonly vpd: ScsiVpdPages = {};
  /** Commands this device may have out at once (sdev->queue_depth). */
  queueDepth: number;
  /** Commands out now (sdev->device_busy: the budget in use). */
  busy = 0;
  /** READ/WRITE(10) rather than (6); (16) once the capacity needs it (sd sets it). */
  use10ForRw = true;
  use16ForRw = false;
  /** A reset we made should now be reported as a unit attention: retry it quietly. */
  expectingCcUa = false;
  /** BLIST_TRY_VPD_PAGES (virtio-scsi sets it for every device it adds). */
  tryVpdPages = false;
  /** Set by the upper driver (sd) when it binds: what a rescan (PARAM CHANGE) should re-read. */
  rescan: (() => void) | undefined;
  /** Set by the upper driver: the device is going away. */
  removed: (() => void) | undefined;

  constructor(
    readonly host: ScsiHost,
    readonly channel: number,
    readonly id: number,
    readonly lun: number,
  ) {
    this.queueDepth = Math.max(1, host.cmdPerLun);
  }

  /** "h:c:t:l", as Linux prints a device. */
  get hctl(): string {
    return `${this.host.hostNo}:${this.channel}:${this.id}:${this.lun}`;
  }

  /** scsi_device_online: not offline and not on its way out. */
  get online(): boolean {
    return this.state !== 'offline' && this.state !== 'cancel' && this.state !== 'del';
  }

  /** scsi_device_supports_vpd: SPC-2 and later, or the driver asked for VPD pages regardless. */
  get supportsVpd(): boolean {
    if (this.tryVpdPages) return true;
    return this.scsiLevel >= SCSI_SPC_2;
  }
}
