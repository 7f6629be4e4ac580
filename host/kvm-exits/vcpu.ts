/**
 * A vCPU as KVM runs it: the guest's port to the outside world (hw/cpu.ts `VcpuPort`).
 * Every device access becomes a `VmExit`, dispatched in one exhaustive switch that emits
 * the exit's trace event as it decides who handles it. Nothing else counts exits.
 */
import { MSR_X2APIC_EOI, MSR_X2APIC_ICR, type AccessSize, type InterruptEntry, type VcpuPort } from '../../hw/cpu.js';
import type { ExecutionContext } from '../../sim/context.js';
import type { ExitHandler, ExitPurpose, IrqPath } from '../../sim/trace.js';
import type { AddressSpace } from './address-space.js';
import type { VmExit } from './exits.js';
import type { IoEventFd } from './ioeventfd.js';
import type { KvmVm } from './kvm.js';

const PAGE = 4096;

/** The name of the work that delivers `vector`, made once per vector. */
const IRQ_WHAT: string[] = [];
function irqWhat(vector: number): string {
  if (!(vector >= 0 && vector < 256)) return 'irq ' + vector;
  return (IRQ_WHAT[vector] ??= 'irq ' + vector);
}

/** An interrupt on its way into the vCPU; `deliver` and `enter` are made once per record. */
interface Injection {
  vector: number;
  level: boolean;
  wasHalted: boolean;
  posted: boolean;
  readonly deliver: () => void;
  readonly enter: () => void;
}

export class KvmVcpu implements VcpuPort {
  halted = false;
  private haltedAt = 0;
  private entry: InterruptEntry | undefined;
  /** Vectors being serviced (the local APIC's ISR), innermost last. */
  private readonly inService: { vector: number; level: boolean }[] = [];
  /** KVM PV-EOI: set at injection when the guest may skip the EOI write. */
  private pvEoiSet = false;
  /* How the exit being handled was resolved (scratch for `exit`, no allocation per exit). */
  private handler: ExitHandler = 'kvm';
  private purpose: ExitPurpose = 'other';
  private userspaceExit: 'KVM_EXIT_IO' | 'KVM_EXIT_MMIO' | undefined;
  /** Records of delivered interrupts, for reuse. */
  private readonly spareInjections: Injection[] = [];
  /* The costs of every exit and of the fast MMIO path, looked up once. */
  private readonly roundtripNs: number;
  private readonly fastMmioNs: number;
  private readonly irqPostedNs: number;
  private readonly irqInjectNs: number;

  constructor(
    private readonly vm: KvmVm,
    readonly index: number,
    readonly ctx: ExecutionContext,
  ) {
    this.roundtripNs = vm.costs.ns('kvm.exit.roundtrip');
    this.fastMmioNs = vm.costs.ns('kvm.exit.fast-mmio');
    this.irqPostedNs = vm.costs.ns('kvm.irq.posted');
    this.irqInjectNs = vm.costs.ns('kvm.irq.inject');
  }

  /* ---- VcpuPort ---- */

  run(what: string, fn: () => void): void {
    this.ctx.run(what, fn, this.unhalt);
  }

  /** What every piece of work on this vCPU does first: it is running. */
  private readonly unhalt = (): void => {
    this.halted = false;
  };

  charge(ns: number): void {
    this.vm.sim.advance(ns);
  }

  setInterruptEntry(entry: InterruptEntry): void {
    this.entry = entry;
  }

  pioRead(port: number, size: AccessSize): number {
    return this.exit({ reason: 'IO_INSTRUCTION', port, size, write: false, value: 0 });
  }

  pioWrite(port: number, size: AccessSize, value: number): void {
    this.exit({ reason: 'IO_INSTRUCTION', port, size, write: true, value });
  }

  mmioRead(addr: number, size: AccessSize): number {
    return this.exit({ reason: this.mmioReason(addr), addr, size, write: false, value: 0 });
  }

  mmioWrite(addr: number, size: AccessSize, value: number): void {
    this.exit({ reason: this.mmioReason(addr), addr, size, write: true, value });
  }

  wrmsr(msr: number, value: number): void {
    if (msr === MSR_X2APIC_EOI) {
      const top = this.inService[this.inService.length - 1];
      if (this.vm.opts.apicv) {
        // Virtual-interrupt delivery: EOI is virtualised unless the vector is in the EOI-exit bitmap.
        if (top?.level) this.exit({ reason: 'EOI_INDUCED', vector: top.vector });
        else this.completeEoi();
        return;
      }
    }
    this.exit({ reason: 'MSR_WRITE', msr, value });
  }

  halt(): void {
    this.exit({ reason: 'HLT' });
  }

  /**
   * KVM PV-EOI (KVM_FEATURE_PV_EOI): the guest's EOI path tests and clears a flag in a
   * shared page, skipping the EOI write when KVM set it. No exit either way.
   */
  pvEoiPending(): boolean {
    const set = this.pvEoiSet;
    this.pvEoiSet = false;
    if (set) this.completeEoi();
    return set;
  }

  /* ---- exits ---- */

  private mmioReason(addr: number): 'EPT_VIOLATION' | 'EPT_MISCONFIG' {
    const page = Math.floor(addr / PAGE);
    if (this.vm.mmioSptes.has(page)) return 'EPT_MISCONFIG';
    this.vm.mmioSptes.add(page);
    return 'EPT_VIOLATION';
  }

  /** The one switch: decide, charge, count. Returns the value of a read. */
  private exit(e: VmExit): number {
    const { sim, costs } = this.vm;
    const t0 = sim.now;
    sim.advance(this.roundtripNs);
    this.handler = 'kvm';
    this.purpose = 'other';
    this.userspaceExit = undefined;
    let addr: number | undefined;
    let value = 0;
    switch (e.reason) {
      case 'IO_INSTRUCTION': {
        sim.advance(costs.ns('kvm.exit.pio-decode'));
        addr = e.port;
        const fd = e.write ? this.vm.ioeventfds.match(true, e.port, e.size, e.value) : undefined;
        value = this.signalOrDispatch(fd, this.vm.pio, e.port, e, 'KVM_EXIT_IO');
        break;
      }
      case 'EPT_VIOLATION':
      case 'EPT_MISCONFIG': {
        addr = e.addr;
        if (e.reason === 'EPT_VIOLATION') sim.advance(costs.ns('kvm.exit.ept-violation'));
        // KVM_FAST_MMIO_BUS: zero-length eventfds are matched before any decoding.
        const fast = e.write && e.reason === 'EPT_MISCONFIG' ? this.vm.ioeventfds.match(false, e.addr, 0, e.value) : undefined;
        if (fast && fast.len === 0) {
          sim.advance(this.fastMmioNs);
          value = this.signalOrDispatch(fast, this.vm.mmio, e.addr, e, 'KVM_EXIT_MMIO');
          break;
        }
        sim.advance(costs.ns('kvm.exit.mmio-emulate'));
        const fd = e.write ? this.vm.ioeventfds.match(false, e.addr, e.size, e.value) : undefined;
        value = this.signalOrDispatch(fd, this.vm.mmio, e.addr, e, 'KVM_EXIT_MMIO');
        break;
      }
      case 'MSR_WRITE':
        sim.advance(costs.ns('kvm.msr.eoi'));
        if (e.msr === MSR_X2APIC_EOI) {
          this.purpose = 'eoi';
          this.completeEoi();
        } else if (e.msr === MSR_X2APIC_ICR) {
          // An IPI: KVM's in-kernel APIC delivers it (the fast path for ICR writes).
          this.purpose = 'ipi';
          const dest = Math.floor(e.value / 0x1_0000_0000);
          this.vm.vcpus[dest]?.inject(e.value & 0xff, false, 'IPI', `vcpu${this.index}`);
        }
        break;
      case 'EOI_INDUCED':
        this.purpose = 'eoi';
        sim.advance(costs.ns('kvm.msr.eoi'));
        this.completeEoi();
        break;
      case 'APIC_ACCESS':
        this.purpose = 'eoi';
        sim.advance(costs.ns('kvm.msr.eoi'));
        this.completeEoi();
        break;
      case 'HLT':
        this.purpose = 'idle';
        sim.advance(costs.ns('kvm.hlt'));
        this.halted = true;
        this.haltedAt = sim.now;
        break;
      case 'EXTERNAL_INTERRUPT':
        this.purpose = 'irq';
        sim.advance(costs.ns('kvm.irq.kick-ipi'));
        break;
      default: {
        const never: never = e;
        throw new Error(`kvm: unhandled exit ${JSON.stringify(never)}`);
      }
    }
    const trace = this.vm.trace;
    if (trace.active) trace.emitExit(t0, this.index, e.reason, this.handler, this.purpose, this.userspaceExit, addr, sim.now - t0);
    return value;
  }

  /**
   * After the exit was decoded: signal the matching ioeventfd (the notify never leaves
   * KVM), or hand the access to the region at `addr` — in the kernel for KVM's own
   * devices, else out to QEMU as `userspaceExit`. Records who handled it and why.
   */
  private signalOrDispatch(fd: IoEventFd | undefined, space: AddressSpace, addr: number, e: { size: AccessSize; write: boolean; value: number }, userspaceExit: 'KVM_EXIT_IO' | 'KVM_EXIT_MMIO'): number {
    if (fd) {
      this.purpose = 'notify';
      fd.signal();
      return 0;
    }
    const r = space.find(addr);
    if (r) this.purpose = r.ops.purpose(addr - r.base);
    if (r?.inKernel) return this.access(r.ops, addr - r.base, e);
    this.handler = 'qemu';
    this.userspaceExit = userspaceExit;
    return this.toQemu(r && { ops: r.ops, offset: addr - r.base }, e);
  }

  private access(ops: { read(o: number, s: AccessSize): number; write(o: number, s: AccessSize, v: number): void }, offset: number, e: { size: AccessSize; write: boolean; value: number }): number {
    if (e.write) {
      ops.write(offset, e.size, e.value);
      return 0;
    }
    return ops.read(offset, e.size);
  }

  /**
   * Heavyweight: leave KVM_RUN, take the BQL on this vCPU thread (waiting for the main
   * loop to let go), dispatch to the device, come back. An access that hits no region
   * reads all-ones and writes are dropped, as QEMU's unassigned memory does.
   */
  private toQemu(target: { ops: { read(o: number, s: AccessSize): number; write(o: number, s: AccessSize, v: number): void }; offset: number } | undefined, e: { size: AccessSize; write: boolean; value: number }): number {
    const { sim, costs, bql } = this.vm;
    sim.advance(costs.ns('kvm.exit.userspace'));
    let value = 0;
    bql.hold('vcpu' + this.index + ' exit', () => {
      sim.advance(costs.ns('qemu.bql.handoff') + costs.ns('qemu.mmio.dispatch'));
      if (!target) value = e.write ? 0 : 2 ** (8 * Math.min(e.size, 4)) - 1;
      else value = this.access(target.ops, target.offset, e);
    });
    return value;
  }

  /* ---- interrupts ---- */

  /** KVM injects `vector` into this vCPU (from an MSI, an irqfd or the IOAPIC). */
  inject(vector: number, level: boolean, path: IrqPath, dev: string): void {
    const { sim, costs, opts, trace } = this.vm;
    // Halted only if the HLT happened by now: work running ahead in local time may halt later.
    const wasHalted = this.halted && this.haltedAt <= sim.now;
    const posted = !wasHalted && opts.apicv;
    if (trace.active) trace.emitIrq(sim.now, dev, vector, path, this.index, wasHalted ? 'halted' : 'running', posted);
    const d = this.spareInjections.pop() ?? this.newInjection();
    d.vector = vector;
    d.level = level;
    d.wasHalted = wasHalted;
    d.posted = posted;
    if (wasHalted) {
      this.halted = false;
      const polled = sim.now - this.haltedAt <= opts.haltPollNs;
      sim.postAfter(costs.ns(polled ? 'kvm.vcpu.wakeup-polled' : 'kvm.vcpu.wakeup'), d.deliver);
    } else d.deliver();
  }

  private newInjection(): Injection {
    const d: Injection = {
      vector: 0,
      level: false,
      wasHalted: false,
      posted: false,
      deliver: () => this.run(irqWhat(d.vector), d.enter),
      enter: () => this.enterInterrupt(d),
    };
    return d;
  }

  /** The vCPU takes the interrupt (after an exit to inject it, unless it was halted or posted). The record is reused. */
  private enterInterrupt(d: Injection): void {
    const { vector, level, wasHalted, posted } = d;
    if (this.spareInjections.length < 32) this.spareInjections.push(d);
    const { sim, opts } = this.vm;
    if (!wasHalted && !posted) this.exit({ reason: 'EXTERNAL_INTERRUPT' });
    sim.advance(posted ? this.irqPostedNs : this.irqInjectNs);
    this.inService.push({ vector, level });
    this.pvEoiSet = opts.pvEoi && !opts.apicv && !level;
    this.entry?.(vector);
  }

  private completeEoi(): void {
    const done = this.inService.pop();
    if (done?.level) this.vm.ioapic.eoi(done.vector);
  }
}
