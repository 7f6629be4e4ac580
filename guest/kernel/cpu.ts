/**
 * The guest kernel's view of one CPU: a run queue of work, an interrupt descriptor
 * table, and the idle loop. When the CPU runs out of work it executes HLT (a VM exit the
 * host counts); an interrupt wakes it. The EOI at the end of an interrupt is an x2APIC
 * WRMSR unless KVM's PV-EOI flag says it may be skipped, as Linux's
 * kvm_guest_apic_eoi_write does.
 */
import { MSR_X2APIC_EOI, MSR_X2APIC_ICR, RESCHEDULE_VECTOR, x2apicIcr, type VcpuPort } from '../../hw/cpu.js';

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

/** What a CPU needs of the kernel: to say it is running, and who else is. */
export interface CpuHooks {
  enter(cpu: GuestCpu): void;
  current(): GuestCpu;
}

/** What a CPU tells a task whose work it starts (it runs again: it no longer sleeps). */
export interface Runnable {
  running(): void;
}

/** A piece of work queued on a CPU: `run` is made once per record and handed to the vCPU. */
interface QueuedWork {
  fn: (() => void) | undefined;
  task: Runnable | undefined;
  readonly run: () => void;
}

const SPARE_MAX = 64;

export class GuestCpu {
  private queued = 0;
  private halted = false;
  /** Work for this CPU that waits for the reschedule IPI to wake it. */
  private readonly wakeList: { what: string; fn: () => void; task: Runnable | undefined }[] = [];
  /** Records of queued work that has run, for reuse. */
  private readonly spare: QueuedWork[] = [];

  constructor(
    readonly port: VcpuPort,
    private readonly idt: GuestIdt,
    private readonly hooks: CpuHooks,
  ) {
    port.setInterruptEntry((v) => this.interrupt(v));
  }

  get index(): number {
    return this.port.index;
  }

  /**
   * Queue kernel or user work on this CPU. The CPU halts when the queue runs dry. Work
   * for a halted CPU from another CPU wakes it the way Linux does (try_to_wake_up →
   * smp_send_reschedule): a reschedule IPI, an ICR write that exits on the sender.
   * Work of a task names it: the task is told when its work starts (`Runnable.running`).
   */
  schedule(what: string, fn: () => void, task?: Runnable): void {
    this.queued++;
    const from = this.hooks.current();
    if (this.halted && from !== this) {
      this.wakeList.push({ what, fn, task });
      if (this.wakeList.length === 1) from.port.wrmsr(MSR_X2APIC_ICR, x2apicIcr(this.index, RESCHEDULE_VECTOR));
      return;
    }
    this.queue(what, fn, task);
  }

  private queue(what: string, fn: () => void, task: Runnable | undefined): void {
    const w = this.spare.pop() ?? this.newWork();
    w.fn = fn;
    w.task = task;
    this.port.run(what, w.run);
  }

  private newWork(): QueuedWork {
    const w: QueuedWork = { fn: undefined, task: undefined, run: () => this.runWork(w) };
    return w;
  }

  /** One piece of queued work runs; its record is reused (no closure per piece). */
  private runWork(w: QueuedWork): void {
    const fn = w.fn!;
    const task = w.task;
    w.fn = undefined;
    w.task = undefined;
    if (this.spare.length < SPARE_MAX) this.spare.push(w);
    this.enter();
    task?.running();
    fn();
    this.queued--;
    this.idleIfNothingQueued();
  }

  private enter(): void {
    this.halted = false;
    this.hooks.enter(this);
  }

  private interrupt(vector: number): void {
    this.enter();
    if (vector === RESCHEDULE_VECTOR) for (const w of this.wakeList.splice(0)) this.queue(w.what, w.fn, w.task);
    else this.idt.handler(vector)?.();
    if (!this.port.pvEoiPending()) this.port.wrmsr(MSR_X2APIC_EOI, 0);
    this.idleIfNothingQueued();
  }

  private idleIfNothingQueued(): void {
    if (this.queued === 0) {
      this.halted = true;
      this.port.halt();
    }
  }
}
