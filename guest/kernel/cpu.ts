/**
 * The guest kernel's view of one CPU: a run queue of work, an interrupt descriptor
 * table, and the idle loop. When the CPU runs out of work it executes HLT (a VM exit the
 * host counts); an interrupt wakes it. The EOI at the end of an interrupt is an x2APIC
 * WRMSR unless KVM's PV-EOI flag says it may be skipped, as Linux's
 * kvm_guest_apic_eoi_write does.
 */
import { MSR_X2APIC_EOI, type VcpuPort } from '../../hw/cpu.js';

export type IrqHandler = () => void;

/** First vector Linux hands to device interrupts (FIRST_EXTERNAL_VECTOR + legacy range). */
export const FIRST_DEVICE_VECTOR = 0x30;

/** The interrupt descriptor table, shared by the guest's CPUs (vectors are allocated once). */
export class GuestIdt {
  private nextVector = FIRST_DEVICE_VECTOR;
  private readonly handlers = new Map<number, IrqHandler>();

  /** Allocate a vector and install its handler (request_irq). */
  requestIrq(handler: IrqHandler): number {
    const v = this.nextVector++;
    if (v > 0xef) throw new Error('guest: out of interrupt vectors');
    this.handlers.set(v, handler);
    return v;
  }

  handler(vector: number): IrqHandler | undefined {
    return this.handlers.get(vector);
  }
}

export class GuestCpu {
  private queued = 0;

  constructor(
    readonly port: VcpuPort,
    private readonly idt: GuestIdt,
    private readonly onEnter: (cpu: GuestCpu) => void,
  ) {
    port.setInterruptEntry((v) => this.interrupt(v));
  }

  get index(): number {
    return this.port.index;
  }

  /** Queue kernel or user work on this CPU. The CPU halts when the queue runs dry. */
  schedule(what: string, fn: () => void): void {
    this.queued++;
    this.port.run(what, () => {
      this.onEnter(this);
      fn();
      this.queued--;
      this.idleIfNothingQueued();
    });
  }

  private interrupt(vector: number): void {
    this.onEnter(this);
    this.idt.handler(vector)?.();
    if (!this.port.pvEoiPending()) this.port.wrmsr(MSR_X2APIC_EOI, 0);
    this.idleIfNothingQueued();
  }

  private idleIfNothingQueued(): void {
    if (this.queued === 0) this.port.halt();
  }
}
