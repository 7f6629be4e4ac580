/**
 * A guest-physical address space (the MMIO bus or the port-I/O bus) of device regions,
 * QEMU's MemoryRegions as KVM sees them: an access that hits a region is dispatched to
 * its callbacks after the exit that brought it here.
 *
 * A region is `inKernel` when KVM itself emulates it (the IOAPIC): such an access
 * completes in the kernel. Every other region belongs to QEMU: reaching it means leaving
 * KVM_RUN (KVM_EXIT_MMIO / KVM_EXIT_IO).
 */
import type { AccessSize } from '../../hw/cpu.js';
import type { ExitPurpose } from '../../sim/trace.js';

/** The device side of a region: QEMU's MemoryRegionOps. Offsets are relative to the region base. */
export interface IoRegionOps {
  readonly name: string;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
  /** What an access at `offset` is for, as reports break exits down (notify, isr, config…). */
  purpose(offset: number): ExitPurpose;
}

export interface MappedRegion {
  readonly ops: IoRegionOps;
  base: number;
  readonly size: number;
  readonly inKernel: boolean;
}

export class AddressSpace {
  private regions: MappedRegion[] = [];
  private last: MappedRegion | undefined;

  constructor(readonly name: string) {}

  map(ops: IoRegionOps, base: number, size: number, inKernel = false): MappedRegion {
    const r: MappedRegion = { ops, base, size, inKernel };
    this.regions.push(r);
    this.last = undefined;
    return r;
  }

  unmap(r: MappedRegion): void {
    this.regions = this.regions.filter((x) => x !== r);
    this.last = undefined;
  }

  /** Move a mapped region (a BAR the guest reprogrammed). */
  move(r: MappedRegion, base: number): void {
    r.base = base;
    this.last = undefined;
  }

  find(addr: number): MappedRegion | undefined {
    const l = this.last;
    if (l && addr >= l.base && addr < l.base + l.size) return l;
    // Later mappings win, as a higher-priority MemoryRegion would.
    for (let i = this.regions.length - 1; i >= 0; i--) {
      const r = this.regions[i];
      if (addr >= r.base && addr < r.base + r.size) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }
}
