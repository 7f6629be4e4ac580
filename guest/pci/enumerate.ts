/**
 * Bus 0 enumeration and resource assignment, the work SeaBIOS and Linux's PCI core do
 * at boot: find functions, size each BAR (write all-ones, read back the mask), place it
 * in the PCI hole, enable decoding and bus mastering, and walk the capability list.
 */
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_CAPABILITY_LIST,
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_DEVICE_ID,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_VENDOR_ID,
} from '../../hw/pci/constants.js';
import type { PciAddress, PciConfigAccess } from './config-access.js';

export interface PciBar {
  index: number;
  io: boolean;
  addr: number;
  size: number;
}

export interface PciFunction extends PciAddress {
  vendor: number;
  device: number;
  bars: PciBar[];
  /** Capability offsets by ID (several may share one ID, e.g. virtio's vendor caps). */
  caps: { id: number; offset: number }[];
  irqLine: number;
  irqPin: number;
}

/** Where the firmware places BARs: the 32-bit PCI hole and the I/O port window. */
export interface PciResourceWindows {
  mmioBase: number;
  ioBase: number;
}

export function enumeratePciBus(cfg: PciConfigAccess, win: PciResourceWindows, slots = 32): PciFunction[] {
  const found: PciFunction[] = [];
  let mmio = win.mmioBase;
  let io = win.ioBase;
  for (let slot = 0; slot < slots; slot++) {
    const a: PciAddress = { bus: 0, slot, fn: 0 };
    const vendor = cfg.read(a, PCI_VENDOR_ID, 2);
    if (vendor === 0xffff) continue;
    const device = cfg.read(a, PCI_DEVICE_ID, 2);
    const bars: PciBar[] = [];
    for (let i = 0; i < 6; i++) {
      const reg = PCI_BASE_ADDRESS_0 + 4 * i;
      const orig = cfg.read(a, reg, 4);
      cfg.write(a, reg, 4, 0xffffffff);
      const mask = cfg.read(a, reg, 4);
      const isIo = (orig & PCI_BASE_ADDRESS_SPACE_IO) !== 0;
      const is64 = !isIo && (orig & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64;
      if (is64) {
        cfg.write(a, reg + 4, 4, 0xffffffff);
        cfg.read(a, reg + 4, 4);
      }
      const sizeMask = isIo ? mask & ~0x3 : mask & ~0xf;
      const size = sizeMask === 0 ? 0 : (~sizeMask >>> 0) + 1;
      if (size === 0) {
        cfg.write(a, reg, 4, orig);
        continue;
      }
      let addr: number;
      if (isIo) {
        addr = Math.ceil(io / size) * size;
        io = addr + size;
      } else {
        addr = Math.ceil(mmio / size) * size;
        mmio = addr + size;
      }
      cfg.write(a, reg, 4, addr | (orig & (isIo ? 0x3 : 0xf)));
      if (is64) cfg.write(a, reg + 4, 4, 0);
      bars.push({ index: i, io: isIo, addr, size });
      if (is64) i++;
    }
    const cmd = cfg.read(a, PCI_COMMAND, 2);
    cfg.write(a, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    const caps: { id: number; offset: number }[] = [];
    if (cfg.read(a, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) {
      let off = cfg.read(a, PCI_CAPABILITY_LIST, 1) & ~3;
      for (let guard = 0; off !== 0 && guard < 48; guard++) {
        caps.push({ id: cfg.read(a, off, 1), offset: off });
        off = cfg.read(a, off + 1, 1) & ~3;
      }
    }
    // The firmware routes INTA#..INTD# of each slot to a GSI (PIIX PIRQ links); iopath uses 10 + slot % 2.
    const irqPin = cfg.read(a, PCI_INTERRUPT_PIN, 1);
    const irqLine = irqPin ? 10 + (slot % 2) : 0;
    if (irqPin) cfg.write(a, PCI_INTERRUPT_LINE, 1, irqLine);
    found.push({ ...a, vendor, device, bars, caps, irqLine, irqPin });
  }
  return found;
}
