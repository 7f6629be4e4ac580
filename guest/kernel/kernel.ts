/**
 * The guest kernel's shared state: its memory and DMA allocator, its CPUs and IDT, the
 * CPU currently executing (drivers touch devices from whichever CPU runs them), and the
 * simulation services every layer charges time to and traces through.
 */
import type { VcpuPort } from '../../hw/cpu.js';
import { IOAPIC_BASE, IOAPIC_IOREGSEL, IOAPIC_IOWIN, IOAPIC_LEVEL_TRIGGER, IOAPIC_REG_REDTBL } from '../../hw/ioapic.js';
import type { GuestMemory } from '../../hw/memory.js';
import { PausableClock } from '../../sim/clock.js';
import type { CostModel } from '../../sim/costs.js';
import type { Simulator } from '../../sim/simulator.js';
import type { Trace } from '../../sim/trace.js';
import { GuestCpu, GuestIdt } from './cpu.js';
import { DmaAllocator } from './dma-alloc.js';

export class GuestKernel {
  readonly idt = new GuestIdt();
  readonly cpus: GuestCpu[];
  readonly alloc: DmaAllocator;
  /** End of the kernel's DMA area; user memory may start here. */
  readonly dmaEnd: number;
  /**
   * The guest's own time (kvmclock): it stops while the VM is stopped. Guest timers
   * (timeouts, writeback, journal commits) and the deadlines they test run on it.
   */
  readonly clock: PausableClock;
  private cur: GuestCpu;

  constructor(
    readonly sim: Simulator,
    readonly trace: Trace,
    readonly costs: CostModel,
    readonly mem: GuestMemory,
    ports: VcpuPort[],
    /** Where usable low RAM ends (the PCI hole starts). */
    readonly lowRamEnd: number,
  ) {
    this.clock = new PausableClock(sim);
    this.cpus = ports.map((p) => new GuestCpu(p, this.idt, { enter: (c) => (this.cur = c), current: () => this.cur }));
    this.cur = this.cpus[0];
    // Kernel DMA memory: from 1 MiB, a quarter of RAM (4 MiB to 256 MiB), below `lowRamEnd`; the rest is for user buffers.
    this.dmaEnd = Math.min(mem.size, lowRamEnd, 0x100000 + Math.max(0x400000, Math.min(Math.floor(mem.size / 4), 0x10000000)));
    this.alloc = new DmaAllocator(0x100000, this.dmaEnd);
  }

  /** The CPU executing right now (set when a task or interrupt starts on it). */
  get current(): GuestCpu {
    return this.cur;
  }

  /** Route IOAPIC pin `gsi` to `vector` on `destCpu` (level-triggered, as PCI INTx is). */
  routeIoapicPin(gsi: number, vector: number, destCpu: number): void {
    const port = this.current.port;
    port.mmioWrite(IOAPIC_BASE + IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 2 * gsi + 1);
    port.mmioWrite(IOAPIC_BASE + IOAPIC_IOWIN, 4, (destCpu & 0xff) << 24);
    port.mmioWrite(IOAPIC_BASE + IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 2 * gsi);
    port.mmioWrite(IOAPIC_BASE + IOAPIC_IOWIN, 4, vector | IOAPIC_LEVEL_TRIGGER);
  }
}
