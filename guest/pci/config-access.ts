/**
 * PCI configuration access through mechanism #1 (ports 0xCF8/0xCFC), as the guest
 * kernel's pci_conf1 does: an OUT of the address dword, then an IN or OUT at
 * 0xCFC + (reg & 3). Each is a port access, so each is a VM exit to QEMU.
 */
import { type AccessSize, type VcpuPort } from '../../hw/cpu.js';
import { PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_DATA_PORT, pciConfigAddress } from '../../hw/pci/constants.js';

export interface PciAddress {
  bus: number;
  slot: number;
  fn: number;
}

export class PciConfigAccess {
  constructor(private readonly cpu: VcpuPort) {}

  read(a: PciAddress, reg: number, size: 1 | 2 | 4): number {
    this.cpu.pioWrite(PCI_CONFIG_ADDRESS_PORT, 4, pciConfigAddress(a.bus, a.slot, a.fn, reg));
    return this.cpu.pioRead(PCI_CONFIG_DATA_PORT + (reg & 3), size as AccessSize);
  }

  write(a: PciAddress, reg: number, size: 1 | 2 | 4, value: number): void {
    this.cpu.pioWrite(PCI_CONFIG_ADDRESS_PORT, 4, pciConfigAddress(a.bus, a.slot, a.fn, reg));
    this.cpu.pioWrite(PCI_CONFIG_DATA_PORT + (reg & 3), size as AccessSize, value);
  }
}
