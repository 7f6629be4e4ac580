/**
 * The modern virtio-pci transport (virtio 1.x §4.1; QEMU hw/virtio/virtio-pci.c with
 * disable-legacy=on): one PCI function that carries a `VirtioDeviceModel`.
 *
 * Identity: 1af4:(1040 + device id), revision 1, subsystem 1af4:1100 (QEMU leaves the
 * default subsystem on non-transitional devices; only transitional ones put the device
 * id there), class as QEMU gives it (virtio-blk and virtio-scsi: 0x0100), INTA#.
 * Config space: the five virtio capabilities (caps.ts), then MSI-X with `vectors`
 * entries in BAR 1 (none when vectors = 0: INTx only). BAR 4: modern-bar.ts.
 *
 * Device status (virtio_set_status): FEATURES_OK is refused, and the whole status write
 * dropped, when the driver accepted a feature that was not offered or did not accept
 * VIRTIO_F_VERSION_1 (QEMU itself masks unoffered bits and only checks the platform bit;
 * the spec lets a device refuse, and we do). FEATURES_OK hands the features to the model;
 * DRIVER_OK starts it (model.start) and, with ioeventfd=on, assigns the doorbell
 * eventfds; writing 0 resets the model, every queue and the MSI-X vector use.
 *
 * Interrupts (virtio_notify → virtio_pci_notify): ISR bit 0 is set; with MSI-X enabled
 * the queue's vector is sent (masked → its PBA bit), from an iothread by irqfd
 * (virtio_notify_irqfd) and from the main loop by KVM_SIGNAL_MSI; without MSI-X, INTx
 * is raised on the GSI in PCI_INTERRUPT_LINE. An MSI is a DMA write: with bus mastering
 * off it never arrives (a `note` trace event says so).
 *
 * Kicks: with ioeventfd=on they arrive through host-notifiers.ts on the model's context;
 * otherwise the doorbell write is a heavyweight exit and QEMU runs the model's handler
 * inline on the vCPU thread under the BQL. A kick before DRIVER_OK is ignored (the spec
 * forbids it; QEMU would run the handler).
 */
import { PCI_CLASS_OTHERS, PCI_CLASS_STORAGE_SCSI } from '../../../hw/pci/constants.js';
import {
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_SCSI,
  VIRTIO_MSI_NO_VECTOR,
  hasFeature,
  type Features,
} from '../../../hw/virtio/constants.js';
import { PCI_VENDOR_ID_REDHAT_QUMRANET, QEMU_VIRTIO_PCI_MODERN_BAR, QEMU_VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MODERN_DEVICE_ID_BASE } from '../../../hw/virtio/pci-layout.js';
import { PciDevice, type PciConfigHooks } from '../pci/pci-device.js';
import { SplitVirtqueue, type RingFeatures, type VirtqueueHost } from '../virtio/virtqueue.js';
import { addVirtioPciCaps, pciCfgWindow, QEMU_VIRTIO_PCI_MODERN_BAR_SIZE } from './caps.js';
import { freshQueueRegs, type QueueRegs } from './common-cfg.js';
import { HostNotifiers } from './host-notifiers.js';
import { ModernBar, type ModernBarTarget } from './modern-bar.js';
import type { VirtioPciOptions } from './options.js';

/** PCI_SUBDEVICE_ID_QEMU: the default subsystem id QEMU gives its devices. */
export const PCI_SUBDEVICE_ID_QEMU = 0x1100;
/** The transport's legacy-only bits (QEMU's VIRTIO_LEGACY_FEATURES), never offered by a modern device. */
const LEGACY_FEATURES = (1n << BigInt(VIRTIO_F_NOTIFY_ON_EMPTY)) | (1n << BigInt(VIRTIO_F_ANY_LAYOUT)) | (1n << 30n);

export function defaultVirtioClass(deviceId: number): number {
  return deviceId === VIRTIO_ID_BLOCK || deviceId === VIRTIO_ID_SCSI ? PCI_CLASS_STORAGE_SCSI : PCI_CLASS_OTHERS;
}

export class VirtioPciTransport implements VirtqueueHost, ModernBarTarget {
  readonly pci: PciDevice;
  readonly queues: SplitVirtqueue[];
  readonly regs: QueueRegs[];
  /** Features offered: the model's, plus VERSION_1, minus legacy-only bits. */
  readonly hostFeatures: Features;
  readonly ringFeatures: RingFeatures = { eventIdx: false, indirectDesc: false, notifyOnEmpty: false };
  readonly notifiers: HostNotifiers;
  readonly modernBar: ModernBar;
  readonly devName: string;
  readonly numQueues: number;
  /* Registers, under the spec's / QEMU's names. */
  status = 0;
  isr = 0;
  generation = 0;
  configVector = VIRTIO_MSI_NO_VECTOR;
  dfselect = 0;
  gfselect = 0;
  queueSel = 0;
  /** driver_feature as written, [bits 0..31, bits 32..63]. */
  readonly driverFeatures: [number, number] = [0, 0];
  /** Features in force since FEATURES_OK. */
  negotiated: Features = 0n;
  /** QEMU's vdev->broken: a ring error stopped the device until reset. */
  broken = false;
  private started = false;
  private readonly hostWords: [number, number];
  private readonly msiPath: 'irqfd' | 'KVM_SIGNAL_MSI';

  constructor(private readonly o: VirtioPciOptions) {
    const { model } = o;
    this.devName = o.devName;
    this.numQueues = model.numQueues();
    this.hostFeatures = (model.hostFeatures() | (1n << BigInt(VIRTIO_F_VERSION_1))) & ~LEGACY_FEATURES;
    this.hostWords = [Number(this.hostFeatures & 0xffffffffn), Number((this.hostFeatures >> 32n) & 0xffffffffn)];
    this.msiPath = model.context.kind === 'iothread' ? 'irqfd' : 'KVM_SIGNAL_MSI';
    const env = { sim: o.sim, costs: o.costs, trace: o.trace, devName: o.devName };
    this.queues = Array.from({ length: this.numQueues }, (_, i) => new SplitVirtqueue(i, o.mem, env, this, this.ringFeatures, model.queueMaxSize(i)));
    this.regs = this.queues.map((_, i) => freshQueueRegs(model.queueMaxSize(i)));
    this.modernBar = new ModernBar(`${o.devName}-modern`, this);
    this.notifiers = new HostNotifiers({ ...env, ioeventfds: o.kvm.ioeventfds, model, queues: this.queues, accepting: () => this.started && !this.broken });

    let window: PciConfigHooks = {};
    this.pci = new PciDevice(
      o.devName,
      {
        vendorId: PCI_VENDOR_ID_REDHAT_QUMRANET,
        deviceId: VIRTIO_PCI_MODERN_DEVICE_ID_BASE + model.deviceId,
        revision: 1,
        classCode: o.classCode ?? defaultVirtioClass(model.deviceId),
        subsystemVendorId: PCI_VENDOR_ID_REDHAT_QUMRANET,
        subsystemId: PCI_SUBDEVICE_ID_QEMU,
      },
      { beforeRead: (a, l) => window.beforeRead?.(a, l), afterWrite: (a, v, l) => window.afterWrite?.(a, v, l) },
    );
    this.pci.config.setInterruptPin(1);
    window = pciCfgWindow(this.pci.config, addVirtioPciCaps(this.pci.config), this.modernBar);
    this.pci.registerBar(QEMU_VIRTIO_PCI_MODERN_BAR, QEMU_VIRTIO_PCI_MODERN_BAR_SIZE, { space: 'mem64', prefetch: true }, this.modernBar);
    if (o.props.vectors > 0) {
      this.pci.initMsixExclusiveBar(o.props.vectors, QEMU_VIRTIO_PCI_MSIX_BAR, {
        send: (addr, data) => this.sendMsi(addr, data),
        deassertIntx: () => this.pci.setIrq(false),
      });
    }
    this.pci.onBarMapped((n, addr) => {
      if (n === QEMU_VIRTIO_PCI_MODERN_BAR) this.notifiers.barMoved(addr);
    });
  }

  /* ---- ModernBarTarget: common config ---- */

  deviceFeatureWord(sel: number): number {
    return sel < 2 ? this.hostWords[sel] : 0;
  }

  writeDriverFeatures(sel: number, val: number): void {
    if (sel < 2) this.driverFeatures[sel] = val >>> 0;
  }

  setConfigVector(v: number): void {
    this.pci.msix?.vectorUnuse(this.configVector);
    this.configVector = this.pci.msix?.vectorUse(v) ? v : VIRTIO_MSI_NO_VECTOR;
  }

  setQueueVector(q: number, v: number): void {
    this.pci.msix?.vectorUnuse(this.regs[q].vector);
    this.regs[q].vector = this.pci.msix?.vectorUse(v) ? v : VIRTIO_MSI_NO_VECTOR;
  }

  /** queue_size: a power of two no larger than the device's maximum; anything else is ignored. */
  setQueueSize(q: number, n: number): void {
    const max = this.o.model.queueMaxSize(q);
    if (n >= 1 && n <= max && (n & (n - 1)) === 0) this.regs[q].num = n;
  }

  enableQueue(q: number, val: number): void {
    if (val !== 1) return this.deviceError(this.queues[q], `wrong value for queue_enable ${val.toString(16)}`);
    const r = this.regs[q];
    const addr = (p: [number, number]): number => p[1] * 2 ** 32 + p[0];
    r.enabled = true;
    this.queues[q].setRings(r.num, addr(r.desc), addr(r.driver), addr(r.device));
  }

  writeStatus(val: number): void {
    if (!(val & VIRTIO_CONFIG_S_DRIVER_OK)) this.notifiers.stop();
    const old = this.status;
    if (!(old & VIRTIO_CONFIG_S_FEATURES_OK) && val & VIRTIO_CONFIG_S_FEATURES_OK) {
      if (!this.acceptFeatures()) return;
    }
    this.status = val;
    if (!(old & VIRTIO_CONFIG_S_DRIVER_OK) && val & VIRTIO_CONFIG_S_DRIVER_OK) {
      this.started = true;
      this.o.model.start(this.queues);
    } else if (old & VIRTIO_CONFIG_S_DRIVER_OK && !(val & VIRTIO_CONFIG_S_DRIVER_OK)) this.started = false;
    if (val & VIRTIO_CONFIG_S_DRIVER_OK && this.o.props.ioeventfd) this.notifiers.start();
    if (val === 0) this.reset();
  }

  /** FEATURES_OK: refuse unoffered features and a driver without VERSION_1; else fix the features. */
  private acceptFeatures(): boolean {
    const raw = (BigInt(this.driverFeatures[1]) << 32n) | BigInt(this.driverFeatures[0]);
    const extra = raw & ~this.hostFeatures;
    if (extra !== 0n || !hasFeature(raw, VIRTIO_F_VERSION_1)) {
      const why = extra !== 0n ? `the driver accepted features 0x${extra.toString(16)} that were not offered` : 'the driver did not accept VIRTIO_F_VERSION_1';
      if (this.o.trace.active) this.o.trace.emit({ kind: 'note', t: this.o.sim.now, where: this.devName, text: `FEATURES_OK refused: ${why}` });
      return false;
    }
    this.negotiated = raw;
    this.ringFeatures.eventIdx = hasFeature(raw, VIRTIO_F_EVENT_IDX);
    this.ringFeatures.indirectDesc = hasFeature(raw, VIRTIO_F_INDIRECT_DESC);
    this.ringFeatures.notifyOnEmpty = hasFeature(raw, VIRTIO_F_NOTIFY_ON_EMPTY);
    this.o.model.setFeatures(raw);
    return true;
  }

  /** Device reset (status 0): virtio_reset + virtio_pci_reset. */
  reset(): void {
    this.notifiers.stop();
    this.o.model.reset();
    this.status = this.isr = 0;
    this.queueSel = this.dfselect = this.gfselect = 0;
    this.driverFeatures[0] = this.driverFeatures[1] = 0;
    this.negotiated = 0n;
    this.ringFeatures.eventIdx = this.ringFeatures.indirectDesc = this.ringFeatures.notifyOnEmpty = false;
    this.started = this.broken = false;
    this.configVector = VIRTIO_MSI_NO_VECTOR;
    for (let q = 0; q < this.numQueues; q++) {
      const max = this.o.model.queueMaxSize(q);
      this.queues[q].reset(max);
      this.regs[q] = freshQueueRegs(max);
    }
    this.pci.msix?.unuseAll();
    this.notifyVector(VIRTIO_MSI_NO_VECTOR);
  }

  get configSize(): number {
    return this.o.model.configSize;
  }

  readDeviceConfig(off: number, size: 1 | 2 | 4): number {
    return this.o.model.readConfig(off, size);
  }

  writeDeviceConfig(off: number, size: 1 | 2 | 4, val: number): void {
    this.o.model.writeConfig(off, size, val);
  }

  readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    this.pci.setIrq(false);
    return v;
  }

  /** virtio_queue_notify: a doorbell write that reached QEMU (a heavyweight exit, on the vCPU under the BQL). */
  notifyQueue(q: number): void {
    const vq = this.queues[q];
    if (!vq || !vq.ready || this.broken) return;
    if (this.notifiers.active(q)) return this.notifiers.kick(q);
    if (!this.started) return;
    const { trace, sim } = this.o;
    if (trace.active) trace.emitNotify(sim.now, this.devName, q, 'exit');
    this.o.model.handleOutput(vq);
  }

  /* ---- VirtqueueHost ---- */

  /** virtio_error: DEVICE_NEEDS_RESET, every queue stops, and the driver gets a config interrupt. */
  deviceError(_vq: SplitVirtqueue, message: string): void {
    this.broken = true;
    for (const q of this.queues) q.markBroken(message);
    this.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    this.notifyConfig();
  }

  /** virtio_irq: ISR bit 0, then the queue's vector. */
  queueInterrupt(vq: SplitVirtqueue): void {
    this.isr |= 1;
    this.notifyVector(this.regs[vq.index].vector);
  }

  /** virtio_notify_config: a configuration change (only once DRIVER_OK is set). */
  notifyConfig(): void {
    if (!(this.status & VIRTIO_CONFIG_S_DRIVER_OK)) return;
    this.isr |= 3;
    this.generation = (this.generation + 1) & 0xff;
    this.notifyVector(this.configVector);
  }

  /** virtio_pci_notify: MSI-X vector `v` when MSI-X is on, else INTx follows ISR bit 0. */
  private notifyVector(v: number): void {
    const msix = this.pci.msix;
    if (msix && msix.enabled) msix.notify(v);
    else this.pci.setIrq((this.isr & 1) !== 0);
  }

  private sendMsi(addr: number, data: number): void {
    const { kvm, trace, sim } = this.o;
    if (!this.pci.busMaster) {
      if (trace.active) trace.emit({ kind: 'note', t: sim.now, where: this.devName, text: 'MSI-X message dropped: bus mastering is off (PCI_COMMAND_MASTER)' });
      return;
    }
    kvm.signalMsi(addr, data, this.msiPath, this.devName);
  }
}
