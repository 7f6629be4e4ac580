/**
 * A conventional PCI bus: 32 slots × 8 functions, addressed by devfn = slot << 3 | fn
 * (QEMU's PCIBus). Config accesses from the host bridge are routed here; an access to
 * an empty devfn reads all-ones and writes are dropped, as on real hardware (a master
 * abort) and in QEMU's pci_data_read.
 *
 * Plugging two functions into one devfn is a configuration error (a VmSpec naming the
 * same `addr=` twice); it comes back as a value, never a throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { PciDevice, PciVm } from './pci-device.js';

export const PCI_SLOT_MAX = 32;
export const PCI_FUNC_MAX = 8;
export const pciDevfn = (slot: number, fn: number): number => (slot << 3) | fn;

export type PciBusError =
  | { _tag: 'BadPciAddress'; slot: number; fn: number }
  | { _tag: 'PciSlotInUse'; slot: number; fn: number; by: string };

export function pciBusErrorMessage(e: PciBusError): string {
  const at = `${e.slot.toString(16).padStart(2, '0')}.${e.fn}`;
  switch (e._tag) {
    case 'BadPciAddress':
      return `PCI: address ${at} is not a slot 0..1f, function 0..7`;
    case 'PciSlotInUse':
      return `PCI: slot ${at} is already in use by ${e.by}`;
  }
}

export class PciBus {
  private readonly devs: (PciDevice | undefined)[] = new Array<PciDevice | undefined>(PCI_SLOT_MAX * PCI_FUNC_MAX).fill(undefined);

  constructor(
    readonly vm: PciVm,
    readonly busNumber = 0,
  ) {}

  /** Plug `dev` at slot/function (pci_qdev_realize → do_pci_register_device). */
  attach(dev: PciDevice, slot: number, fn = 0): E.Either<PciBusError, PciDevice> {
    if (!Number.isInteger(slot) || slot < 0 || slot >= PCI_SLOT_MAX || !Number.isInteger(fn) || fn < 0 || fn >= PCI_FUNC_MAX) {
      return E.left({ _tag: 'BadPciAddress', slot, fn });
    }
    const devfn = pciDevfn(slot, fn);
    const cur = this.devs[devfn];
    if (cur) return E.left({ _tag: 'PciSlotInUse', slot, fn, by: cur.name });
    this.devs[devfn] = dev;
    dev.plug(this.vm);
    return E.right(dev);
  }

  device(devfn: number): PciDevice | undefined {
    return this.devs[devfn];
  }

  /** The plugged functions with their devfn, in devfn order. */
  devices(): { devfn: number; dev: PciDevice }[] {
    const out: { devfn: number; dev: PciDevice }[] = [];
    this.devs.forEach((dev, devfn) => {
      if (dev) out.push({ devfn, dev });
    });
    return out;
  }

  /**
   * Read `len` bytes at config offset `addr` of `devfn`. Functions other than 0 are
   * visible only when function 0 exists (pci_host_config_read_common's rule).
   */
  configRead(devfn: number, addr: number, len: number): number {
    const dev = this.visible(devfn);
    if (!dev) return allOnes(len);
    return dev.readConfig(addr, Math.min(len, 256 - addr));
  }

  configWrite(devfn: number, addr: number, val: number, len: number): void {
    const dev = this.visible(devfn);
    if (!dev) return;
    dev.writeConfig(addr, val, Math.min(len, 256 - addr));
  }

  private visible(devfn: number): PciDevice | undefined {
    const dev = this.devs[devfn];
    if (!dev || ((devfn & 7) !== 0 && !this.devs[devfn & ~7])) return undefined;
    return dev;
  }
}

export function allOnes(len: number): number {
  return len >= 4 ? 0xffffffff : 2 ** (8 * len) - 1;
}
