/**
 * QEMU's scsi-hd and scsi-cd (hw/scsi/scsi-disk.c): SCSI targets over a BlockBackend, on a
 * ScsiBus (../scsi-bus) below an HBA such as virtio-scsi.
 */
export { createScsiDisk, scsiDiskErrorMessage, type ScsiDisk, type ScsiDiskError, type ScsiDiskOptions } from './device.js';
export {
  DEFAULT_SCSI_DISK_PROPS,
  SCSI_DISK_PROPS,
  parseScsiDiskProps,
  realizeScsiDiskProps,
  scsiDiskPropErrorMessage,
  type OnError,
  type OnOffAuto,
  type PropDecl as ScsiDiskPropDecl,
  type PropType as ScsiDiskPropType,
  type ScsiDiskConf,
  type ScsiDiskKind,
  type ScsiDiskPropError,
  type ScsiDiskProps,
} from './props.js';
export { senseFromErrno, errorAction, type BlockErrorAction } from './errors.js';
export type { ScsiDiskState, ScsiIoErrorStop } from './state.js';
