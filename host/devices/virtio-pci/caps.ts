/**
 * The virtio vendor capabilities in PCI config space (virtio 1.x §4.1.4,
 * transport-pci.tex), in the order QEMU's virtio_pci_device_plugged adds them: common,
 * ISR, device, notify (+ notify_off_multiplier), then pci_cfg. QEMU links each new
 * capability at the head of the list, and MSI-X is added last, so the guest walks
 * MSI-X first and common last; on i440fx the offsets are common 0x40, isr 0x50, device
 * 0x60, notify 0x70, pci_cfg 0x84, MSI-X 0x98, as `lspci -v` shows for a QEMU virtio
 * device.
 *
 * struct virtio_pci_cap: +0 cap_vndr 0x09, +1 cap_next, +2 cap_len, +3 cfg_type, +4 bar,
 * +5 id, +6 padding[2], +8 le32 offset, +12 le32 length. The notify cap appends le32
 * notify_off_multiplier at +16 (cap_len 20); the pci_cfg cap appends u8 pci_cfg_data[4].
 *
 * pci_cfg (VIRTIO_PCI_CAP_PCI_CFG) is an access window: the driver writes bar, offset and
 * length (1, 2 or 4), then reads or writes pci_cfg_data, and the device performs that
 * access on the BAR (QEMU's virtio_read_config / virtio_write_config). It is implemented
 * here for the modern BAR; Linux does not use it.
 */
import type { PciConfigSpace } from '../../../hw/pci/config-space.js';
import { PCI_CAP_ID_VNDR } from '../../../hw/pci/constants.js';
import {
  QEMU_VIRTIO_PCI_COMMON_OFFSET,
  QEMU_VIRTIO_PCI_DEVICE_OFFSET,
  QEMU_VIRTIO_PCI_ISR_OFFSET,
  QEMU_VIRTIO_PCI_MODERN_BAR,
  QEMU_VIRTIO_PCI_NOTIFY_OFFSET,
  QEMU_VIRTIO_PCI_QUEUE_MEM_MULT,
  QEMU_VIRTIO_PCI_REGION_SIZE,
  VIRTIO_PCI_CAP_BAR,
  VIRTIO_PCI_CAP_CFG_TYPE,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_LEN,
  VIRTIO_PCI_CAP_LENGTH,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_OFFSET,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_NOTIFY_CAP_LEN,
  VIRTIO_PCI_NOTIFY_CAP_MULT,
} from '../../../hw/virtio/pci-layout.js';
import type { PciConfigHooks } from '../pci/pci-device.js';

/** QEMU's VIRTIO_QUEUE_MAX: queue indexes a transport accepts (queue_select, doorbells). */
export const VIRTIO_QUEUE_MAX = 1024;
/** The notify region: one 4-byte doorbell per possible queue. */
export const QEMU_VIRTIO_PCI_NOTIFY_SIZE = QEMU_VIRTIO_PCI_QUEUE_MEM_MULT * VIRTIO_QUEUE_MAX;
/** BAR 4's size: pow2ceil(notify offset + notify size) = 16 KiB. */
export const QEMU_VIRTIO_PCI_MODERN_BAR_SIZE = 0x4000;
/** struct virtio_pci_cfg_cap: the cap, then pci_cfg_data[4] at +16. */
export const VIRTIO_PCI_CFG_DATA = 16;
export const VIRTIO_PCI_CFG_CAP_LEN = 20;

function addVirtioCap(cfg: PciConfigSpace, capLen: number, cfgType: number, bar: number, offset: number, length: number): number {
  const at = cfg.addCapability(PCI_CAP_ID_VNDR, capLen);
  cfg.set8(at + 2, capLen);
  cfg.set8(at + VIRTIO_PCI_CAP_CFG_TYPE, cfgType);
  cfg.set8(at + VIRTIO_PCI_CAP_BAR, bar);
  cfg.set32(at + VIRTIO_PCI_CAP_OFFSET, offset);
  cfg.set32(at + VIRTIO_PCI_CAP_LENGTH, length);
  return at;
}

/** Add the five virtio capabilities; returns the pci_cfg capability's offset. */
export function addVirtioPciCaps(cfg: PciConfigSpace): number {
  const bar = QEMU_VIRTIO_PCI_MODERN_BAR;
  const size = QEMU_VIRTIO_PCI_REGION_SIZE;
  addVirtioCap(cfg, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_COMMON_CFG, bar, QEMU_VIRTIO_PCI_COMMON_OFFSET, size);
  addVirtioCap(cfg, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_ISR_CFG, bar, QEMU_VIRTIO_PCI_ISR_OFFSET, size);
  addVirtioCap(cfg, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_DEVICE_CFG, bar, QEMU_VIRTIO_PCI_DEVICE_OFFSET, size);
  const notify = addVirtioCap(cfg, VIRTIO_PCI_NOTIFY_CAP_LEN, VIRTIO_PCI_CAP_NOTIFY_CFG, bar, QEMU_VIRTIO_PCI_NOTIFY_OFFSET, QEMU_VIRTIO_PCI_NOTIFY_SIZE);
  cfg.set32(notify + VIRTIO_PCI_NOTIFY_CAP_MULT, QEMU_VIRTIO_PCI_QUEUE_MEM_MULT);
  const pciCfg = addVirtioCap(cfg, VIRTIO_PCI_CFG_CAP_LEN, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0);
  // The driver programs bar, offset, length and data.
  cfg.wmask[pciCfg + VIRTIO_PCI_CAP_BAR] = 0xff;
  cfg.wmask.fill(0xff, pciCfg + VIRTIO_PCI_CAP_OFFSET, pciCfg + VIRTIO_PCI_CFG_CAP_LEN);
  return pciCfg;
}

/** The BAR the pci_cfg window reaches. */
export interface BarAccess {
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

/** Config hooks implementing the pci_cfg window on the modern BAR. */
export function pciCfgWindow(cfg: PciConfigSpace, cap: number, bar: BarAccess): PciConfigHooks {
  const data = cap + VIRTIO_PCI_CFG_DATA;
  /** The programmed access, when it is one the window can do (length 1/2/4 inside one region of BAR 4). */
  const target = (): { off: number; len: 1 | 2 | 4 } | undefined => {
    const len = cfg.get32(cap + VIRTIO_PCI_CAP_LENGTH);
    const off = cfg.get32(cap + VIRTIO_PCI_CAP_OFFSET);
    if (cfg.get8(cap + VIRTIO_PCI_CAP_BAR) !== QEMU_VIRTIO_PCI_MODERN_BAR) return undefined;
    if (len !== 1 && len !== 2 && len !== 4) return undefined;
    if (off + len > QEMU_VIRTIO_PCI_MODERN_BAR_SIZE || Math.floor(off / 0x1000) !== Math.floor((off + len - 1) / 0x1000)) return undefined;
    return { off, len };
  };
  const touchesData = (addr: number, len: number): boolean => addr < data + 4 && data < addr + len;
  return {
    beforeRead(addr, len) {
      if (!touchesData(addr, len)) return;
      const t = target();
      if (!t) return;
      const v = bar.read(t.off, t.len);
      for (let i = 0; i < t.len; i++) cfg.set8(data + i, Math.floor(v / 2 ** (8 * i)) & 0xff);
    },
    afterWrite(addr, _val, len) {
      if (!touchesData(addr, len)) return;
      const t = target();
      if (!t) return;
      let v = 0;
      for (let i = t.len - 1; i >= 0; i--) v = v * 256 + cfg.get8(data + i);
      bar.write(t.off, t.len, v);
    },
  };
}
