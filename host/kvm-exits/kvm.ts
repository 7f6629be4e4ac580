/**
 * The VM as KVM holds it: the MMIO and port-I/O buses QEMU's devices are mapped on,
 * the ioeventfds QEMU registered, the in-kernel IOAPIC, the vCPUs, and the interrupt
 * paths into them — KVM_SIGNAL_MSI and irqfd for MSI-X, KVM_IRQ_LINE for INTx.
 */
import { msiDestination, msiVector } from '../../hw/cpu.js';
import { ExecutionContext } from '../../sim/context.js';
import type { CostModel } from '../../sim/costs.js';
import type { Simulator } from '../../sim/simulator.js';
import type { Trace } from '../../sim/trace.js';
import { AddressSpace } from './address-space.js';
import { IoEventFdTable } from './ioeventfd.js';
import { IOAPIC_BASE, IOAPIC_SIZE } from '../../hw/ioapic.js';
import { IoApic } from './ioapic.js';
import { KvmVcpu } from './vcpu.js';

export interface KvmOptions {
  /** APICv / posted interrupts (kvm_intel enable_apicv). */
  apicv: boolean;
  /** KVM_FEATURE_PV_EOI offered to the guest (QEMU's kvm-pv-eoi, on by default). */
  pvEoi: boolean;
  /** halt_poll_ns: how long a halted vCPU polls before blocking. */
  haltPollNs: number;
}

export class KvmVm {
  readonly mmio = new AddressSpace('mmio');
  readonly pio = new AddressSpace('pio');
  readonly ioeventfds = new IoEventFdTable();
  readonly ioapic: IoApic;
  readonly vcpus: KvmVcpu[];
  /** Who last raised each GSI (for traces: the device behind an INTx interrupt). */
  private readonly lineSource = new Map<number, string>();
  /** MMIO pages that already have an MMIO SPTE (later accesses take EPT_MISCONFIG). */
  readonly mmioSptes = new Set<number>();
  /* The costs of signalling an interrupt, looked up once. */
  private readonly irqfdNs: number;
  private readonly ioctlIrqNs: number;

  constructor(
    readonly sim: Simulator,
    readonly trace: Trace,
    readonly costs: CostModel,
    readonly opts: KvmOptions,
    /** QEMU's main loop: the holder of the BQL. */
    readonly bql: ExecutionContext,
    nvcpus: number,
  ) {
    this.irqfdNs = costs.ns('kvm.irqfd.signal');
    this.ioctlIrqNs = costs.ns('kvm.ioctl.irq');
    this.ioapic = new IoApic({
      deliver: (dest, vector, level, pin) => this.vcpu(dest).inject(vector, level, 'KVM_IRQ_LINE', this.lineSource.get(pin) ?? `gsi${pin}`),
    });
    this.mmio.map(this.ioapic, IOAPIC_BASE, IOAPIC_SIZE, true);
    this.vcpus = Array.from({ length: nvcpus }, (_, i) => new KvmVcpu(this, i, new ExecutionContext(sim, trace, `vcpu${i}`, 'vcpu')));
  }

  private vcpu(apicId: number): KvmVcpu {
    return this.vcpus[apicId] ?? this.vcpus[0];
  }

  /**
   * An MSI from a device: KVM_SIGNAL_MSI (an ioctl from QEMU's thread) or an irqfd write.
   * The sender's cost is charged to whoever is running now.
   */
  signalMsi(addr: number, data: number, path: 'irqfd' | 'KVM_SIGNAL_MSI', dev: string): void {
    this.sim.advance(path === 'irqfd' ? this.irqfdNs : this.ioctlIrqNs);
    this.vcpu(msiDestination(addr)).inject(msiVector(data), false, path, dev);
  }

  /** KVM_IRQ_LINE: a device raised or lowered an INTx line (GSI). */
  setIrqLine(gsi: number, level: boolean, source = `gsi${gsi}`): void {
    this.sim.advance(this.ioctlIrqNs);
    if (level) this.lineSource.set(gsi, source);
    this.ioapic.setLine(gsi, level);
  }
}
