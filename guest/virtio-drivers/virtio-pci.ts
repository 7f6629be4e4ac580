/**
 * The guest's modern virtio-pci transport (Linux drivers/virtio/virtio_pci_modern.c and
 * virtio_pci_common.c): find the vendor capabilities, reset, walk the status sequence
 * ACKNOWLEDGE → DRIVER → FEATURES_OK (re-read) → DRIVER_OK, negotiate features, set up
 * queues, and wire interrupts — one MSI-X vector for config plus one per queue when the
 * device has enough, else INTx with an ISR read per interrupt.
 *
 * Every register access here is a VM exit, counted by the host. Probing runs once at
 * boot, in the setup phase.
 */
import { msiAddress, type AccessSize, type VcpuPort } from '../../hw/cpu.js';
import {
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_VNDR,
  PCI_MSIX_ENTRY_DATA,
  PCI_MSIX_ENTRY_LOWER_ADDR,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_ENTRY_UPPER_ADDR,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_QSIZE,
  PCI_MSIX_TABLE,
} from '../../hw/pci/constants.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_VERSION_1,
  VIRTIO_MSI_NO_VECTOR,
  hasFeature,
  type Features,
} from '../../hw/virtio/constants.js';
import * as L from '../../hw/virtio/pci-layout.js';
import type { PciConfigAccess } from '../pci/config-access.js';
import type { PciFunction } from '../pci/enumerate.js';

export type VirtioProbeError = { _tag: 'NoCapability'; cfgType: number } | { _tag: 'FeaturesRefused' } | { _tag: 'NoVersion1' } | { _tag: 'QueueUnavailable'; index: number };

export function virtioProbeErrorMessage(e: VirtioProbeError): string {
  switch (e._tag) {
    case 'NoCapability':
      return `virtio-pci: no capability of cfg_type ${e.cfgType}`;
    case 'FeaturesRefused':
      return 'virtio: device refuses features (FEATURES_OK not set after negotiation)';
    case 'NoVersion1':
      return 'virtio: device does not offer VIRTIO_F_VERSION_1; legacy devices are not modelled';
    case 'QueueUnavailable':
      return `virtio: queue ${e.index} unavailable (size 0 or already enabled)`;
  }
}

interface Region {
  addr: number;
  len: number;
}

export class VirtioPciTransport {
  readonly common: Region;
  readonly isr: Region;
  readonly device: Region;
  readonly notifyBase: number;
  readonly notifyMultiplier: number;
  private readonly msixCap: number | undefined;
  readonly msixVectors: number;
  private readonly msixTable: number;

  private constructor(
    private readonly cpu: VcpuPort,
    private readonly cfg: PciConfigAccess,
    readonly fn: PciFunction,
    caps: Map<number, { region: Region; mult: number }>,
  ) {
    this.common = caps.get(L.VIRTIO_PCI_CAP_COMMON_CFG)!.region;
    this.isr = caps.get(L.VIRTIO_PCI_CAP_ISR_CFG)!.region;
    this.device = caps.get(L.VIRTIO_PCI_CAP_DEVICE_CFG)?.region ?? { addr: 0, len: 0 };
    const n = caps.get(L.VIRTIO_PCI_CAP_NOTIFY_CFG)!;
    this.notifyBase = n.region.addr;
    this.notifyMultiplier = n.mult;
    this.msixCap = fn.caps.find((c) => c.id === PCI_CAP_ID_MSIX)?.offset;
    if (this.msixCap !== undefined) {
      this.msixVectors = (cfg.read(fn, this.msixCap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
      const t = cfg.read(fn, this.msixCap + PCI_MSIX_TABLE, 4);
      const bar = fn.bars.find((b) => b.index === (t & 7));
      this.msixTable = (bar?.addr ?? 0) + (t & ~7);
    } else {
      this.msixVectors = 0;
      this.msixTable = 0;
    }
  }

  /** vp_modern_probe: read the vendor capabilities that locate each structure in the BARs. */
  static probe(cpu: VcpuPort, cfg: PciConfigAccess, fn: PciFunction): VirtioPciTransport | VirtioProbeError {
    const caps = new Map<number, { region: Region; mult: number }>();
    for (const c of fn.caps.filter((x) => x.id === PCI_CAP_ID_VNDR)) {
      const type = cfg.read(fn, c.offset + L.VIRTIO_PCI_CAP_CFG_TYPE, 1);
      if (caps.has(type)) continue; // the first of each type is the preferred one
      const barIdx = cfg.read(fn, c.offset + L.VIRTIO_PCI_CAP_BAR, 1);
      const offset = cfg.read(fn, c.offset + L.VIRTIO_PCI_CAP_OFFSET, 4);
      const len = cfg.read(fn, c.offset + L.VIRTIO_PCI_CAP_LENGTH, 4);
      const bar = fn.bars.find((b) => b.index === barIdx);
      if (!bar) continue;
      const mult = type === L.VIRTIO_PCI_CAP_NOTIFY_CFG ? cfg.read(fn, c.offset + L.VIRTIO_PCI_NOTIFY_CAP_MULT, 4) : 0;
      caps.set(type, { region: { addr: bar.addr + offset, len }, mult });
    }
    for (const t of [L.VIRTIO_PCI_CAP_COMMON_CFG, L.VIRTIO_PCI_CAP_ISR_CFG, L.VIRTIO_PCI_CAP_NOTIFY_CFG]) {
      if (!caps.has(t)) return { _tag: 'NoCapability', cfgType: t };
    }
    return new VirtioPciTransport(cpu, cfg, fn, caps);
  }

  private cr(off: number, size: AccessSize): number {
    return this.cpu.mmioRead(this.common.addr + off, size);
  }

  private cw(off: number, size: AccessSize, v: number): void {
    this.cpu.mmioWrite(this.common.addr + off, size, v);
  }

  getStatus(): number {
    return this.cr(L.VIRTIO_PCI_COMMON_STATUS, 1);
  }

  addStatus(bits: number): void {
    this.cw(L.VIRTIO_PCI_COMMON_STATUS, 1, this.getStatus() | bits);
  }

  /** vp_reset: write 0 and wait until the device reads back 0. */
  reset(): void {
    this.cw(L.VIRTIO_PCI_COMMON_STATUS, 1, 0);
    for (let i = 0; i < 16 && this.getStatus() !== 0; i++);
  }

  deviceFeatures(): Features {
    this.cw(L.VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    const lo = this.cr(L.VIRTIO_PCI_COMMON_DF, 4);
    this.cw(L.VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    const hi = this.cr(L.VIRTIO_PCI_COMMON_DF, 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  private writeDriverFeatures(f: Features): void {
    this.cw(L.VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    this.cw(L.VIRTIO_PCI_COMMON_GF, 4, Number(f & 0xffffffffn));
    this.cw(L.VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    this.cw(L.VIRTIO_PCI_COMMON_GF, 4, Number((f >> 32n) & 0xffffffffn));
  }

  /**
   * The start of virtio_dev_probe: reset, ACKNOWLEDGE, DRIVER, negotiate the intersection
   * of offered and `wanted`, FEATURES_OK and re-read it. Returns the accepted features.
   */
  negotiate(wanted: Features): Features | VirtioProbeError {
    this.reset();
    this.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.addStatus(VIRTIO_CONFIG_S_DRIVER);
    const offered = this.deviceFeatures();
    if (!hasFeature(offered, VIRTIO_F_VERSION_1)) {
      this.addStatus(VIRTIO_CONFIG_S_FAILED);
      return { _tag: 'NoVersion1' };
    }
    const accepted = offered & wanted;
    this.writeDriverFeatures(accepted);
    this.addStatus(VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(this.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK)) {
      this.addStatus(VIRTIO_CONFIG_S_FAILED);
      return { _tag: 'FeaturesRefused' };
    }
    return accepted;
  }

  numQueues(): number {
    return this.cr(L.VIRTIO_PCI_COMMON_NUMQ, 2);
  }

  /**
   * vp_modern_setup_vq (queue part): select, read the maximum size, program the ring
   * addresses and the MSI-X vector, read the notify offset. Returns the queue size and
   * doorbell, or an error when the queue does not exist.
   */
  setupQueue(index: number, ring: { desc: number; avail: number; used: number }, size: number, msixVector: number): { size: number; notifyAddr: number } | VirtioProbeError {
    this.cw(L.VIRTIO_PCI_COMMON_Q_SELECT, 2, index);
    const max = this.cr(L.VIRTIO_PCI_COMMON_Q_SIZE, 2);
    if (max === 0 || this.cr(L.VIRTIO_PCI_COMMON_Q_ENABLE, 2)) return { _tag: 'QueueUnavailable', index };
    const n = Math.min(size, max);
    this.cw(L.VIRTIO_PCI_COMMON_Q_SIZE, 2, n);
    this.write64(L.VIRTIO_PCI_COMMON_Q_DESCLO, ring.desc);
    this.write64(L.VIRTIO_PCI_COMMON_Q_AVAILLO, ring.avail);
    this.write64(L.VIRTIO_PCI_COMMON_Q_USEDLO, ring.used);
    if (msixVector !== VIRTIO_MSI_NO_VECTOR) {
      this.cw(L.VIRTIO_PCI_COMMON_Q_MSIX, 2, msixVector);
      this.cr(L.VIRTIO_PCI_COMMON_Q_MSIX, 2); // read back: VIRTIO_MSI_NO_VECTOR means the device refused
    }
    const off = this.cr(L.VIRTIO_PCI_COMMON_Q_NOFF, 2);
    this.cw(L.VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    return { size: n, notifyAddr: this.notifyBase + off * this.notifyMultiplier };
  }

  /** The queue size the device offers before the driver chooses one. */
  queueMaxSize(index: number): number {
    this.cw(L.VIRTIO_PCI_COMMON_Q_SELECT, 2, index);
    return this.cr(L.VIRTIO_PCI_COMMON_Q_SIZE, 2);
  }

  private write64(lo: number, v: number): void {
    this.cw(lo, 4, v % 0x1_0000_0000);
    this.cw(lo + 4, 4, Math.floor(v / 0x1_0000_0000));
  }

  setConfigVector(v: number): void {
    this.cw(L.VIRTIO_PCI_COMMON_MSIX, 2, v);
  }

  driverOk(): void {
    this.addStatus(VIRTIO_CONFIG_S_DRIVER_OK);
  }

  readConfig(off: number, size: AccessSize): number {
    return this.cpu.mmioRead(this.device.addr + off, size);
  }

  writeConfig(off: number, size: AccessSize, v: number): void {
    this.cpu.mmioWrite(this.device.addr + off, size, v);
  }

  /** Read (and so clear) the ISR: the INTx handler's first step. */
  readIsr(cpu: VcpuPort): number {
    return cpu.mmioRead(this.isr.addr, 1);
  }

  /** Program MSI-X table entry `entry` to send `vector` to `destCpu`, unmasked. */
  programMsix(entry: number, destCpu: number, vector: number): void {
    const a = this.msixTable + entry * PCI_MSIX_ENTRY_SIZE;
    this.cpu.mmioWrite(a + PCI_MSIX_ENTRY_LOWER_ADDR, 4, msiAddress(destCpu));
    this.cpu.mmioWrite(a + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
    this.cpu.mmioWrite(a + PCI_MSIX_ENTRY_DATA, 4, vector);
    this.cpu.mmioWrite(a + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
  }

  /** Set the MSI-X enable bit in the capability's message control. */
  enableMsix(): void {
    if (this.msixCap === undefined) return;
    const ctl = this.cfg.read(this.fn, this.msixCap + PCI_MSIX_FLAGS, 2);
    this.cfg.write(this.fn, this.msixCap + PCI_MSIX_FLAGS, 2, ctl | PCI_MSIX_FLAGS_ENABLE);
  }

  /** The doorbell write (vp_notify): the queue index, 16 bits. */
  notify(cpu: VcpuPort, notifyAddr: number, queue: number): void {
    cpu.mmioWrite(notifyAddr, 2, queue);
  }
}
