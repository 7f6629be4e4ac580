/**
 * QEMU's i440FX host bridge (hw/pci-host/i440fx.c, hw/pci/pci_host.c): PCI
 * configuration mechanism #1 on ports 0xCF8 (CONFIG_ADDRESS) and 0xCFC..0xCFF
 * (CONFIG_DATA), and the host bridge itself at 00:00.0 (8086:1237, class 0x0600).
 *
 * CONFIG_ADDRESS: bit 31 enable, 23:16 bus, 15:11 slot, 10:8 function, 7:2 register.
 * Only a 4-byte access at 0xCF8 reaches it (pci_host_config_write: `addr != 0 || len
 * != 4` is ignored). A CONFIG_DATA access of 1, 2 or 4 bytes at 0xCFC + k reaches
 * register `CONFIG_ADDRESS | k` of the addressed function; with the enable bit clear
 * or no such function it reads all-ones.
 *
 * These ports are a QEMU port-I/O region with no ioeventfd: every access is a
 * heavyweight IO_INSTRUCTION exit with purpose 'pci' (kvm-exits.md, mechanism 1). That is
 * why PCI enumeration is slow and why nothing on the I/O fast path touches config space.
 *
 * Not modelled: PIIX3's reset control register at 0xCF9 (a 1-byte access there is
 * ignored here), and PCI-to-PCI bridges (only bus 0 exists).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AccessSize } from '../../../hw/cpu.js';
import {
  PCI_CLASS_BRIDGE_HOST,
  PCI_CONFIG_ADDRESS_PORT,
  PCI_DEVICE_ID_INTEL_82441,
  PCI_VENDOR_ID_INTEL,
} from '../../../hw/pci/constants.js';
import type { IoRegionOps } from '../../kvm-exits/address-space.js';
import { allOnes, PciBus } from './pci-bus.js';
import { PciDevice, type PciVm } from './pci-device.js';

const CONFIG_ENABLE = 0x80000000;

export class I440fxHost implements IoRegionOps {
  readonly name = 'i440fx-pcihost';
  readonly bus: PciBus;
  /** The 00:00.0 host bridge function. */
  readonly bridge: PciDevice;
  /** CONFIG_ADDRESS as last written. */
  configReg = 0;

  constructor(vm: PciVm) {
    this.bus = new PciBus(vm, 0);
    this.bridge = new PciDevice('i440FX', {
      vendorId: PCI_VENDOR_ID_INTEL,
      deviceId: PCI_DEVICE_ID_INTEL_82441,
      revision: 0x02,
      classCode: PCI_CLASS_BRIDGE_HOST,
    });
    const plugged = this.bus.attach(this.bridge, 0, 0);
    if (E.isLeft(plugged)) throw new Error('i440fx: slot 0 taken on a fresh bus'); // cannot happen
    vm.pio.map(this, PCI_CONFIG_ADDRESS_PORT, 8);
  }

  purpose(): 'pci' {
    return 'pci';
  }

  read(offset: number, size: AccessSize): number {
    if (offset < 4) return offset === 0 && size === 4 ? this.configReg : allOnes(size);
    if (!(this.configReg & CONFIG_ENABLE)) return allOnes(size);
    const addr = (this.configReg | (offset & 3)) >>> 0;
    if (((addr >>> 16) & 0xff) !== this.bus.busNumber) return allOnes(size);
    const len = Math.min(size, 4);
    return this.bus.configRead((addr >>> 8) & 0xff, addr & 0xff, len);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset < 4) {
      if (offset === 0 && size === 4) this.configReg = value >>> 0;
      return;
    }
    if (!(this.configReg & CONFIG_ENABLE)) return;
    const addr = (this.configReg | (offset & 3)) >>> 0;
    if (((addr >>> 16) & 0xff) !== this.bus.busNumber) return;
    const len = Math.min(size, 4);
    this.bus.configWrite((addr >>> 8) & 0xff, addr & 0xff, value % 2 ** (8 * len), len);
  }
}
