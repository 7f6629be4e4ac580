/**
 * One PCI function as QEMU's PCIDevice holds it: a config space (hw/pci/config-space.ts),
 * the regions behind its BARs, its INTx pin and (optionally) MSI-X.
 *
 * What a guest config write sets off, in pci_default_write_config's order:
 * - the write itself, through wmask / w1cmask;
 * - a write touching a BAR or COMMAND → pci_update_mappings: every BAR whose decoded
 *   address changed is mapped, moved or unmapped in KVM's MMIO or port-I/O address
 *   space, and the device's BAR listeners hear about it (virtio-pci moves its
 *   ioeventfds with BAR 4, as KVM's memory listener does);
 * - a write touching COMMAND → INTX_DISABLE takes effect on an asserted line;
 * - a write touching the MSI-X control byte → msix_write_config;
 * - then the device's own hook (QEMU's config_write), e.g. virtio's pci_cfg window.
 *
 * INTx: `setIrq(level)` raises or lowers the pin; the level reaches KVM (KVM_IRQ_LINE on
 * the GSI the firmware wrote into PCI_INTERRUPT_LINE) only when it changes and only
 * while INTX_DISABLE is clear (pci_irq_handler). PCI_STATUS_INTERRUPT follows the pin.
 */
import { PciConfigSpace, PCI_BAR_UNMAPPED, type BarType, type PciIds } from '../../../hw/pci/config-space.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_MASTER,
  PCI_NUM_BARS,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
} from '../../../hw/pci/constants.js';
import { MsixState, msixExclusiveLayout, type MsixSink } from '../../../hw/pci/msix.js';
import type { AddressSpace, IoRegionOps, MappedRegion } from '../../kvm-exits/address-space.js';
import { msixBarOps } from './msix-bar.js';

/** What a PCI function needs of the VM: KVM's two buses and its INTx line. KvmVm is one. */
export interface PciVm {
  readonly mmio: AddressSpace;
  readonly pio: AddressSpace;
  setIrqLine(gsi: number, level: boolean, source?: string): void;
}

/** The device's own config-space hooks (QEMU's PCIDeviceClass config_read / config_write). */
export interface PciConfigHooks {
  /** Called before the default read returns, so a device may refresh bytes in config space. */
  beforeRead?(addr: number, len: number): void;
  /** Called after the default write (masks, mappings, MSI-X) has been applied. */
  afterWrite?(addr: number, val: number, len: number): void;
}

/** Told when BAR `n` starts decoding at `addr`, moves, or stops (`PCI_BAR_UNMAPPED`). */
export type BarListener = (n: number, addr: number) => void;

export class PciDevice {
  readonly config: PciConfigSpace;
  msix: MsixState | undefined;
  private readonly barOps: (IoRegionOps | undefined)[] = new Array<IoRegionOps | undefined>(PCI_NUM_BARS).fill(undefined);
  private readonly mapped: (MappedRegion | undefined)[] = new Array<MappedRegion | undefined>(PCI_NUM_BARS).fill(undefined);
  private readonly barAddr: number[] = new Array<number>(PCI_NUM_BARS).fill(PCI_BAR_UNMAPPED);
  private readonly barListeners: BarListener[] = [];
  private vm: PciVm | undefined;
  private irqLevel = false;
  /** The GSI we raised, so lowering reaches the same line even if PCI_INTERRUPT_LINE changed. */
  private raisedGsi = -1;

  constructor(
    readonly name: string,
    ids: PciIds,
    private readonly hooks: PciConfigHooks = {},
  ) {
    this.config = new PciConfigSpace(ids);
  }

  /** Called by the bus when the function is plugged. */
  plug(vm: PciVm): void {
    this.vm = vm;
  }

  /** Declare BAR `n` and the region it decodes to (pci_register_bar). */
  registerBar(n: number, size: number, type: BarType, ops: IoRegionOps): void {
    this.config.registerBar(n, size, type);
    this.barOps[n] = ops;
  }

  /**
   * Add MSI-X with `vectors` entries in an exclusive memory BAR `bar` (QEMU's
   * msix_init_exclusive_bar: table at 0, PBA at 2 KiB, BAR 4 KiB).
   */
  initMsixExclusiveBar(vectors: number, bar: number, sink: MsixSink): MsixState {
    const l = msixExclusiveLayout(vectors);
    const msix = new MsixState(this.config, vectors, bar, l.tableOffset, l.pbaOffset, sink);
    this.msix = msix;
    this.registerBar(bar, l.barSize, { space: 'mem32' }, msixBarOps(`${this.name}-msix`, msix));
    return msix;
  }

  onBarMapped(listener: BarListener): void {
    this.barListeners.push(listener);
  }

  /** Where BAR `n` is mapped now, or PCI_BAR_UNMAPPED. */
  barAddress(n: number): number {
    return this.barAddr[n];
  }

  /** Bus mastering is on (DMA and MSI writes reach memory). */
  get busMaster(): boolean {
    return (this.config.command & PCI_COMMAND_MASTER) !== 0;
  }

  /* ---- guest config access (through the host bridge) ---- */

  readConfig(addr: number, len: number): number {
    this.hooks.beforeRead?.(addr, len);
    return this.config.read(addr, len);
  }

  writeConfig(addr: number, val: number, len: number): void {
    const wasIntxDisabled = this.intxDisabled;
    this.config.write(addr, val, len);
    if (overlaps(addr, len, PCI_BASE_ADDRESS_0, 24) || overlaps(addr, len, PCI_COMMAND, 2)) this.updateMappings();
    if (overlaps(addr, len, PCI_COMMAND, 2) && this.intxDisabled !== wasIntxDisabled) this.intxDisableChanged();
    this.msix?.configWritten(addr, len);
    this.hooks.afterWrite?.(addr, val, len);
  }

  /* ---- INTx ---- */

  private get intxDisabled(): boolean {
    return (this.config.command & PCI_COMMAND_INTX_DISABLE) !== 0;
  }

  /** Drive INTx (pci_set_irq). */
  setIrq(level: boolean): void {
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    const st = this.config.get16(PCI_STATUS);
    this.config.set16(PCI_STATUS, level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
    if (!this.intxDisabled) this.driveLine(level);
  }

  get irqAsserted(): boolean {
    return this.irqLevel;
  }

  private intxDisableChanged(): void {
    if (this.irqLevel) this.driveLine(!this.intxDisabled);
  }

  private driveLine(level: boolean): void {
    if (!this.vm) return;
    if (level) {
      this.raisedGsi = this.config.interruptLine;
      this.vm.setIrqLine(this.raisedGsi, true, this.name);
    } else if (this.raisedGsi >= 0) {
      this.vm.setIrqLine(this.raisedGsi, false, this.name);
      this.raisedGsi = -1;
    }
  }

  /* ---- BAR mapping (pci_update_mappings) ---- */

  private updateMappings(): void {
    const vm = this.vm;
    if (!vm) return;
    for (let n = 0; n < PCI_NUM_BARS; n++) {
      const ops = this.barOps[n];
      const bar = this.config.bar(n);
      if (!ops || !bar) continue;
      const addr = this.config.barAddress(n);
      if (addr === this.barAddr[n]) continue;
      const space = bar.type.space === 'io' ? vm.pio : vm.mmio;
      const r = this.mapped[n];
      if (addr === PCI_BAR_UNMAPPED) {
        if (r) space.unmap(r);
        this.mapped[n] = undefined;
      } else if (r) space.move(r, addr);
      else this.mapped[n] = space.map(ops, addr, bar.size);
      this.barAddr[n] = addr;
      for (const l of this.barListeners) l(n, addr);
    }
  }
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}
