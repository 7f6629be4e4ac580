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
  /** Where 64-bit BARs too large for the 32-bit hole go (default 1 TiB). */
  mmio64Base?: number;
}

/** 64-bit BARs this large (or larger) go above 4 GiB. */
const MMIO32_LIMIT = 0x1000_0000;

/**
 * Size BAR `i` the way firmware does: write all-ones, read back the mask (both dwords of a
 * 64-bit BAR), restore the original value. Undefined when the BAR is not implemented.
 */
function sizeBar(cfg: PciConfigAccess, a: PciAddress, i: number): { io: boolean; is64: boolean; size: number; flags: number } | undefined {
  const reg = PCI_BASE_ADDRESS_0 + 4 * i;
  const orig = cfg.read(a, reg, 4);
  cfg.write(a, reg, 4, 0xffffffff);
  const lo = cfg.read(a, reg, 4);
  const io = (orig & PCI_BASE_ADDRESS_SPACE_IO) !== 0;
  const is64 = !io && (orig & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64 && i < 5;
  let hi = 0xffffffff;
  let origHi = 0;
  if (is64) {
    origHi = cfg.read(a, reg + 4, 4);
    cfg.write(a, reg + 4, 4, 0xffffffff);
    hi = cfg.read(a, reg + 4, 4);
  }
  const loMask = (io ? lo & ~0x3 : lo & ~0xf) >>> 0;
  let size = 0;
  if (is64) {
    // The size is the two's complement of the 64-bit mask.
    const mask = (BigInt(hi >>> 0) << 32n) | BigInt(loMask);
    if (mask !== 0n) size = Number((1n << 64n) - mask);
  } else if (loMask !== 0) size = (~loMask >>> 0) + 1;
  if (size === 0) {
    cfg.write(a, reg, 4, orig);
    if (is64) cfg.write(a, reg + 4, 4, origHi);
    return undefined;
  }
  return { io, is64, size, flags: orig & (io ? 0x3 : 0xf) };
}

export function enumeratePciBus(cfg: PciConfigAccess, win: PciResourceWindows, slots = 32): PciFunction[] {
  const found: PciFunction[] = [];
  let mmio = win.mmioBase;
  let mmio64 = win.mmio64Base ?? 0x100_0000_0000;
  let io = win.ioBase;
  for (let slot = 0; slot < slots; slot++) {
    const a: PciAddress = { bus: 0, slot, fn: 0 };
    const vendor = cfg.read(a, PCI_VENDOR_ID, 2);
    if (vendor === 0xffff) continue;
    const device = cfg.read(a, PCI_DEVICE_ID, 2);
    const bars: PciBar[] = [];
    for (let i = 0; i < 6; i++) {
      const bar = sizeBar(cfg, a, i);
      if (!bar) continue;
      let addr: number;
      if (bar.io) {
        addr = Math.ceil(io / bar.size) * bar.size;
        io = addr + bar.size;
      } else if (bar.is64 && bar.size >= MMIO32_LIMIT) {
        addr = Math.ceil(mmio64 / bar.size) * bar.size;
        mmio64 = addr + bar.size;
      } else {
        addr = Math.ceil(mmio / bar.size) * bar.size;
        mmio = addr + bar.size;
      }
      const reg = PCI_BASE_ADDRESS_0 + 4 * i;
      cfg.write(a, reg, 4, (addr % 0x1_0000_0000) | bar.flags);
      if (bar.is64) cfg.write(a, reg + 4, 4, Math.floor(addr / 0x1_0000_0000));
      bars.push({ index: i, io: bar.io, addr, size: bar.size });
      if (bar.is64) i++;
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
