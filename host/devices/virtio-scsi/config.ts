/**
 * struct virtio_scsi_config (virtio 1.2 §5.6.4; offsets in hw/virtio/scsi.ts), as QEMU's
 * virtio_scsi_get_config() fills it and virtio_scsi_set_config() takes writes:
 *
 *   0x00 num_queues      0x04 seg_max (virtqueue_size - 2, or 126 without seg_max_adjust)
 *   0x08 max_sectors     0x0c cmd_per_lun     0x10 event_info_size (16)
 *   0x14 sense_size (96, driver-writable)     0x18 cdb_size (32, driver-writable)
 *   0x1c max_channel (0) 0x1e max_target (255) 0x20 max_lun (16383)
 *
 * QEMU keeps a copy of the config bytes (vdev->config): every read refreshes it from the
 * device, every write lands in it and then the whole copy is handed to set_config, which
 * takes sense_size and cdb_size from it. A sense_size ≥ 65536 or cdb_size ≥ 256 there is
 * "bad data written to virtio-scsi configuration space": virtio_error(), and the sizes stay.
 */
import {
  VIRTIO_SCSI_CDB_DEFAULT_SIZE,
  VIRTIO_SCSI_CFG_CDB_SIZE,
  VIRTIO_SCSI_CFG_SENSE_SIZE,
  VIRTIO_SCSI_CONFIG_SIZE,
  VIRTIO_SCSI_EVENT_SIZE,
  VIRTIO_SCSI_MAX_CHANNEL,
  VIRTIO_SCSI_MAX_LUN,
  VIRTIO_SCSI_MAX_TARGET,
  VIRTIO_SCSI_SENSE_DEFAULT_SIZE,
  encodeVirtioScsiConfig,
} from '../../../hw/virtio/scsi.js';
import type { VirtioScsiConf } from './props.js';

export const MSG_BAD_CONFIG = 'bad data written to virtio-scsi configuration space';

/** The sizes the driver may change (VirtIOSCSICommon.sense_size / cdb_size). */
export interface ScsiSizes {
  senseSize: number;
  cdbSize: number;
}

export const defaultSizes = (): ScsiSizes => ({ senseSize: VIRTIO_SCSI_SENSE_DEFAULT_SIZE, cdbSize: VIRTIO_SCSI_CDB_DEFAULT_SIZE });

/** virtio_scsi_get_config(). */
export function encodeScsiConfig(conf: VirtioScsiConf, sizes: ScsiSizes): Uint8Array {
  return encodeVirtioScsiConfig({
    numQueues: conf.num_queues,
    segMax: conf.seg_max_adjust ? conf.virtqueue_size - 2 : 128 - 2,
    maxSectors: conf.max_sectors,
    cmdPerLun: conf.cmd_per_lun,
    eventInfoSize: VIRTIO_SCSI_EVENT_SIZE,
    senseSize: sizes.senseSize,
    cdbSize: sizes.cdbSize,
    maxChannel: VIRTIO_SCSI_MAX_CHANNEL,
    maxTarget: VIRTIO_SCSI_MAX_TARGET,
    maxLun: VIRTIO_SCSI_MAX_LUN,
  });
}

const inRange = (offset: number, size: number): boolean => Number.isSafeInteger(offset) && offset >= 0 && offset + size <= VIRTIO_SCSI_CONFIG_SIZE;

/** vdev->config and the two calls that touch it. */
export class ScsiConfigSpace {
  /** QEMU's vdev->config: what the last read or write left there. */
  private readonly shadow: Uint8Array;

  constructor(
    private readonly conf: VirtioScsiConf,
    private readonly sizes: ScsiSizes,
  ) {
    this.shadow = encodeScsiConfig(conf, sizes);
  }

  /** A little-endian read (virtio_config_modern_read*): refresh the copy, then read it. Out of range: 0. */
  read(offset: number, size: 1 | 2 | 4 | 8): number {
    if (!inRange(offset, size)) return 0;
    this.shadow.set(encodeScsiConfig(this.conf, this.sizes));
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.shadow[offset + i];
    return v;
  }

  /**
   * A little-endian write into the copy, then set_config. Returns the virtio_error() message
   * when the sizes in the copy are out of range, else undefined (and the sizes are taken).
   */
  write(offset: number, size: 1 | 2 | 4 | 8, value: number): string | undefined {
    if (!inRange(offset, size)) return undefined;
    let v = Number.isFinite(value) ? Math.trunc(Math.abs(value)) : 0;
    for (let i = 0; i < size; i++) {
      this.shadow[offset + i] = v % 256;
      v = Math.floor(v / 256);
    }
    const dv = new DataView(this.shadow.buffer, this.shadow.byteOffset, this.shadow.byteLength);
    const sense = dv.getUint32(VIRTIO_SCSI_CFG_SENSE_SIZE, true);
    const cdb = dv.getUint32(VIRTIO_SCSI_CFG_CDB_SIZE, true);
    if (sense >= 65536 || cdb >= 256) return MSG_BAD_CONFIG;
    this.sizes.senseSize = sense;
    this.sizes.cdbSize = cdb;
    return undefined;
  }

  /** Device reset: the sizes go back to 96 and 32 (virtio_scsi_reset) and the copy follows. */
  reset(): void {
    Object.assign(this.sizes, defaultSizes());
    this.shadow.set(encodeScsiConfig(this.conf, this.sizes));
  }
}
