/**
 * KVM's in-kernel IOAPIC (arch/x86/kvm/ioapic.c), enough for INTx: 24 redirection
 * entries programmed through IOREGSEL/IOWIN at 0xFEC00000, level-triggered lines with
 * Remote IRR, re-delivery on EOI while the line is still asserted. Its MMIO is emulated
 * in the kernel, so the guest's accesses are lightweight exits.
 */
import type { AccessSize } from '../../hw/cpu.js';
import type { IoRegionOps } from './address-space.js';

import {
  IOAPIC_IOREGSEL as IOREGSEL,
  IOAPIC_IOWIN as IOWIN,
  IOAPIC_LEVEL_TRIGGER,
  IOAPIC_MASKED,
  IOAPIC_NUM_PINS,
  IOAPIC_REMOTE_IRR,
} from '../../hw/ioapic.js';
export { IOAPIC_BASE, IOAPIC_SIZE } from '../../hw/ioapic.js';

export interface IoApicDelivery {
  /** Deliver `vector` to the vCPU with APIC ID `dest`. */
  deliver(dest: number, vector: number, level: boolean, pin: number): void;
}

export class IoApic implements IoRegionOps {
  readonly name = 'kvm-ioapic';
  private sel = 0;
  private readonly lo = new Uint32Array(IOAPIC_NUM_PINS).fill(IOAPIC_MASKED);
  private readonly hi = new Uint32Array(IOAPIC_NUM_PINS);
  private readonly line = new Uint8Array(IOAPIC_NUM_PINS);

  constructor(private readonly out: IoApicDelivery) {}

  purpose(): 'irq' {
    return 'irq';
  }

  read(offset: number, _size: AccessSize): number {
    if (offset === IOREGSEL) return this.sel;
    if (offset !== IOWIN) return 0;
    if (this.sel === 1) return ((IOAPIC_NUM_PINS - 1) << 16) | 0x11; // IOAPIC version register
    const pin = (this.sel - 0x10) >> 1;
    if (pin < 0 || pin >= IOAPIC_NUM_PINS) return 0;
    return this.sel & 1 ? this.hi[pin] : this.lo[pin];
  }

  write(offset: number, _size: AccessSize, value: number): void {
    if (offset === IOREGSEL) {
      this.sel = value & 0xff;
      return;
    }
    if (offset !== IOWIN) return;
    const pin = (this.sel - 0x10) >> 1;
    if (pin < 0 || pin >= IOAPIC_NUM_PINS) return;
    if (this.sel & 1) this.hi[pin] = value >>> 0;
    else {
      this.lo[pin] = ((value & ~IOAPIC_REMOTE_IRR) | (this.lo[pin] & IOAPIC_REMOTE_IRR)) >>> 0;
      this.service(pin);
    }
  }

  /** KVM_IRQ_LINE: a device raised or lowered GSI `pin`. */
  setLine(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_NUM_PINS) return;
    this.line[pin] = level ? 1 : 0;
    if (level) this.service(pin);
  }

  /** Is `vector` routed as a level-triggered line (so its EOI must reach the IOAPIC)? */
  isLevelVector(vector: number): boolean {
    for (let p = 0; p < IOAPIC_NUM_PINS; p++) {
      if ((this.lo[p] & 0xff) === vector && this.lo[p] & IOAPIC_LEVEL_TRIGGER && !(this.lo[p] & IOAPIC_MASKED)) return true;
    }
    return false;
  }

  /** The local APIC EOI'd `vector`: clear Remote IRR and re-deliver if the line is still high. */
  eoi(vector: number): void {
    for (let p = 0; p < IOAPIC_NUM_PINS; p++) {
      if ((this.lo[p] & 0xff) !== vector || !(this.lo[p] & IOAPIC_LEVEL_TRIGGER)) continue;
      this.lo[p] &= ~IOAPIC_REMOTE_IRR;
      this.service(p);
    }
  }

  private service(pin: number): void {
    const e = this.lo[pin];
    if (!this.line[pin] || e & IOAPIC_MASKED) return;
    const level = (e & IOAPIC_LEVEL_TRIGGER) !== 0;
    if (level) {
      if (e & IOAPIC_REMOTE_IRR) return;
      this.lo[pin] = (e | IOAPIC_REMOTE_IRR) >>> 0;
    } else {
      this.line[pin] = 0;
    }
    this.out.deliver(this.hi[pin] >>> 24, e & 0xff, level, pin);
  }
}
