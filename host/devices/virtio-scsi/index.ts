/**
 * virtio-scsi (QEMU hw/scsi/virtio-scsi.c): what the VM wiring uses.
 *
 *   const props = parseVirtioScsiProps(deviceOpts);            // -device virtio-scsi-pci,...
 *   const hba = createVirtioScsi({ sim, trace, costs, context, devName, props, cpus, onError });
 *   hba.right.plug(disk);                                      // -device scsi-hd,bus=<id>.0,...
 *   // hand the HBA (a VirtioDeviceModel) to the virtio-pci transport
 */
export { createVirtioScsi, type VirtioScsi, type VirtioScsiOptions } from './device.js';
export {
  DEFAULT_VIRTIO_SCSI_PROPS,
  VIRTIO_SCSI_PROPS,
  VIRTIO_SCSI_VQ_NUM_FIXED,
  defaultScsiVectors,
  parseVirtioScsiProps,
  parseVirtioScsiValue,
  realizeVirtioScsiProps,
  resolveScsiNumQueues,
  virtioScsiPropErrorMessage,
  type VirtioScsiConf,
  type VirtioScsiPropDecl,
  type VirtioScsiPropError,
  type VirtioScsiPropType,
  type VirtioScsiProps,
} from './props.js';
export { virtioScsiHostFeatures } from './features.js';
export { encodeScsiConfig, MSG_BAD_CONFIG } from './config.js';
export { MSG_BAD_HEADERS } from './request.js';
