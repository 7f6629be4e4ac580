/**
 * What the virtio-scsi driver uses of its transport: the modern virtio-pci calls
 * (../virtio-pci.ts), named here as a type so the driver can also be tested over a fake
 * device (testing.ts) that implements them without a PCI bus.
 */
import type { VirtioPciTransport } from '../virtio-pci.js';

export type VirtioScsiTransport = Pick<
  VirtioPciTransport,
  | 'negotiate'
  | 'readConfig'
  | 'writeConfig'
  | 'queueMaxSize'
  | 'setupQueue'
  | 'programMsix'
  | 'enableMsix'
  | 'setConfigVector'
  | 'driverOk'
  | 'notify'
  | 'readIsr'
  | 'msixVectors'
  | 'fn'
>;
