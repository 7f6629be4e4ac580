/**
 * struct virtio_pci_common_cfg (virtio 1.x §4.1.4.3), as QEMU's virtio_pci_common_read /
 * virtio_pci_common_write decode it: on the exact field offset, any access size 1..4
 * (a read returns the field truncated to the access; an access that starts inside a
 * field reads 0 and writes nothing). Offsets: hw/virtio/pci-layout.ts.
 *
 * The fields behind queue_select belong to the selected queue. A queue index at or past
 * num_queues reads as a queue of size 0 (and NO_VECTOR), and its writes are dropped.
 */
import { VIRTIO_MSI_NO_VECTOR } from '../../../hw/virtio/constants.js';
import {
  VIRTIO_PCI_COMMON_CFGGENERATION,
  VIRTIO_PCI_COMMON_DF,
  VIRTIO_PCI_COMMON_DFSELECT,
  VIRTIO_PCI_COMMON_GF,
  VIRTIO_PCI_COMMON_GFSELECT,
  VIRTIO_PCI_COMMON_MSIX,
  VIRTIO_PCI_COMMON_NUMQ,
  VIRTIO_PCI_COMMON_Q_AVAILHI,
  VIRTIO_PCI_COMMON_Q_AVAILLO,
  VIRTIO_PCI_COMMON_Q_DESCHI,
  VIRTIO_PCI_COMMON_Q_DESCLO,
  VIRTIO_PCI_COMMON_Q_ENABLE,
  VIRTIO_PCI_COMMON_Q_MSIX,
  VIRTIO_PCI_COMMON_Q_NOFF,
  VIRTIO_PCI_COMMON_Q_SELECT,
  VIRTIO_PCI_COMMON_Q_SIZE,
  VIRTIO_PCI_COMMON_Q_USEDHI,
  VIRTIO_PCI_COMMON_Q_USEDLO,
  VIRTIO_PCI_COMMON_STATUS,
} from '../../../hw/virtio/pci-layout.js';
import { VIRTIO_QUEUE_MAX } from './caps.js';

/** One queue's registers (QEMU's VirtIOPCIQueue plus the VirtQueue's size and vector). */
export interface QueueRegs {
  /** queue_size: the size the driver chose (starts at the device's maximum). */
  num: number;
  enabled: boolean;
  /** [lo, hi] dwords of queue_desc / queue_driver / queue_device. */
  desc: [number, number];
  driver: [number, number];
  device: [number, number];
  vector: number;
}

export function freshQueueRegs(num: number): QueueRegs {
  return { num, enabled: false, desc: [0, 0], driver: [0, 0], device: [0, 0], vector: VIRTIO_MSI_NO_VECTOR };
}

/** What the common config window reads and drives: the transport. */
export interface CommonCfgTarget {
  dfselect: number;
  gfselect: number;
  queueSel: number;
  readonly driverFeatures: readonly [number, number];
  readonly configVector: number;
  readonly numQueues: number;
  readonly status: number;
  readonly generation: number;
  readonly regs: readonly QueueRegs[];
  /** Offered features, 32 bits at a time (0 for a selector past 1). */
  deviceFeatureWord(sel: number): number;
  writeDriverFeatures(sel: number, val: number): void;
  setConfigVector(v: number): void;
  setQueueVector(q: number, v: number): void;
  setQueueSize(q: number, n: number): void;
  enableQueue(q: number, val: number): void;
  writeStatus(v: number): void;
}

export function readCommonCfg(t: CommonCfgTarget, off: number, size: number): number {
  const q = t.regs[t.queueSel];
  let v: number;
  switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: v = t.dfselect; break;
    case VIRTIO_PCI_COMMON_DF: v = t.deviceFeatureWord(t.dfselect); break;
    case VIRTIO_PCI_COMMON_GFSELECT: v = t.gfselect; break;
    case VIRTIO_PCI_COMMON_GF: v = t.gfselect < 2 ? t.driverFeatures[t.gfselect] : 0; break;
    case VIRTIO_PCI_COMMON_MSIX: v = t.configVector; break;
    case VIRTIO_PCI_COMMON_NUMQ: v = t.numQueues; break;
    case VIRTIO_PCI_COMMON_STATUS: v = t.status; break;
    case VIRTIO_PCI_COMMON_CFGGENERATION: v = t.generation; break;
    case VIRTIO_PCI_COMMON_Q_SELECT: v = t.queueSel; break;
    case VIRTIO_PCI_COMMON_Q_SIZE: v = q ? q.num : 0; break;
    case VIRTIO_PCI_COMMON_Q_MSIX: v = q ? q.vector : VIRTIO_MSI_NO_VECTOR; break;
    case VIRTIO_PCI_COMMON_Q_ENABLE: v = q?.enabled ? 1 : 0; break;
    case VIRTIO_PCI_COMMON_Q_NOFF: v = t.queueSel; break; // QEMU maps queues in order
    case VIRTIO_PCI_COMMON_Q_DESCLO: v = q ? q.desc[0] : 0; break;
    case VIRTIO_PCI_COMMON_Q_DESCHI: v = q ? q.desc[1] : 0; break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO: v = q ? q.driver[0] : 0; break;
    case VIRTIO_PCI_COMMON_Q_AVAILHI: v = q ? q.driver[1] : 0; break;
    case VIRTIO_PCI_COMMON_Q_USEDLO: v = q ? q.device[0] : 0; break;
    case VIRTIO_PCI_COMMON_Q_USEDHI: v = q ? q.device[1] : 0; break;
    default: v = 0;
  }
  return size >= 4 ? v >>> 0 : v % 2 ** (8 * size);
}

export function writeCommonCfg(t: CommonCfgTarget, off: number, val: number): void {
  const sel = t.queueSel;
  const q = t.regs[sel];
  val = val >>> 0;
  switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: t.dfselect = val; break;
    case VIRTIO_PCI_COMMON_GFSELECT: t.gfselect = val; break;
    case VIRTIO_PCI_COMMON_GF: t.writeDriverFeatures(t.gfselect, val); break;
    case VIRTIO_PCI_COMMON_MSIX: t.setConfigVector(val & 0xffff); break;
    case VIRTIO_PCI_COMMON_STATUS: t.writeStatus(val & 0xff); break;
    case VIRTIO_PCI_COMMON_Q_SELECT: if (val < VIRTIO_QUEUE_MAX) t.queueSel = val; break;
    case VIRTIO_PCI_COMMON_Q_SIZE: if (q) t.setQueueSize(sel, val & 0xffff); break;
    case VIRTIO_PCI_COMMON_Q_MSIX: if (q) t.setQueueVector(sel, val & 0xffff); break;
    case VIRTIO_PCI_COMMON_Q_ENABLE: if (q) t.enableQueue(sel, val & 0xffff); break;
    case VIRTIO_PCI_COMMON_Q_DESCLO: if (q) q.desc[0] = val; break;
    case VIRTIO_PCI_COMMON_Q_DESCHI: if (q) q.desc[1] = val; break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO: if (q) q.driver[0] = val; break;
    case VIRTIO_PCI_COMMON_Q_AVAILHI: if (q) q.driver[1] = val; break;
    case VIRTIO_PCI_COMMON_Q_USEDLO: if (q) q.device[0] = val; break;
    case VIRTIO_PCI_COMMON_Q_USEDHI: if (q) q.device[1] = val; break;
    default: break;
  }
}
