/**
 * The QEMU command-line front end: `parseQemuArgs` (argv → VmSpec or a QEMU-worded
 * error) and `formatQemuArgs` (VmSpec → canonical argv), with the property tables they
 * are driven by.
 */
export { parseQemuArgs, QEMU_OPTIONS, type OptionDecl } from './parse.js';
export { formatQemuArgs, formatQemuCommandLine } from './format.js';
export { cmdlineErrorMessage, isHelp, QEMU_PROGRAM, type CmdlineError } from './errors.js';
export { DEVICE_MODELS, deviceListHelp, findDeviceModel, type DeviceModel } from './devices.js';
export {
  VIRTIO_BLK_PCI_PROPS,
  virtioBlkPciDefaults,
  virtioBlkPciHelp,
  VIRTIO_QUEUE_MAX,
} from './virtio-blk-pci.js';
export { DRIVE_KEYS, isEmptyDrive } from './drive.js';
export { driveFromBlockdev, parseBlockdev } from './blockdev.js';
export { CACHE_MODES, type CacheFlags } from './block-options.js';
export { propsHelp, type AnyPropDecl, type PropDecl, type PropType } from './props.js';
