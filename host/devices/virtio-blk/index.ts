/**
 * virtio-blk (QEMU hw/block/virtio-blk.c): what the VM wiring uses.
 *
 *   const props = parseVirtioBlkProps(deviceOpts);              // -device virtio-blk-pci,...
 *   const dev = createVirtioBlk({ sim, trace, costs, context, backend, devName, props, onError, autoNumQueues });
 *   // hand `dev` (a VirtioDeviceModel) to the virtio-pci transport
 */
export { createVirtioBlk, type VirtioBlk, type VirtioBlkOptions } from './device.js';
export {
  BDRV_REQUEST_MAX_SECTORS,
  DEFAULT_VIRTIO_BLK_PROPS,
  VIRTIO_BLK_PROPS,
  parseVirtioBlkProps,
  propErrorMessage,
  realizeVirtioBlkProps,
  resolveNumQueues,
  type PropDecl,
  type PropType as VirtioBlkPropType,
  type VirtioBlkConf,
  type VirtioBlkPropError,
  type VirtioBlkProps,
} from './props.js';
export { virtioBlkHostFeatures } from './features.js';
export { encodeVirtioBlkConfig, virtioBlkConfigSize } from './config.js';
export { VIRTIO_BLK_MAX_MERGE_REQS } from './multireq.js';
