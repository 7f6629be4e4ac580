/**
 * VM exits as a closed tagged union named after the kernel's reasons
 * (arch/x86/include/uapi/asm/vmx.h), and how KVM's model dispatches each: in the kernel
 * (lightweight) or out to QEMU (heavyweight, KVM_EXIT_IO / KVM_EXIT_MMIO).
 * The mechanisms are ../shared/reference/kvm-exits.md, "Mechanisms" 1–6.
 */
import type { AccessSize } from '../../hw/cpu.js';

export type VmExit =
  /** IN/OUT to a port (mechanism 1). */
  | { reason: 'IO_INSTRUCTION'; port: number; size: AccessSize; write: boolean; value: number }
  /** First touch of an MMIO page: KVM installs an MMIO SPTE and emulates (mechanism 3). */
  | { reason: 'EPT_VIOLATION'; addr: number; size: AccessSize; write: boolean; value: number }
  /** Any later MMIO access: fast-MMIO ioeventfd lookup, else emulation (mechanism 3). */
  | { reason: 'EPT_MISCONFIG'; addr: number; size: AccessSize; write: boolean; value: number }
  /** WRMSR, here the x2APIC EOI (mechanism 6). */
  | { reason: 'MSR_WRITE'; msr: number; value: number }
  /** The guest idled. */
  | { reason: 'HLT' }
  /** An IPI kicked a running vCPU so KVM can inject an interrupt (mechanism 5a). */
  | { reason: 'EXTERNAL_INTERRUPT' }
  /** APICv: EOI of a vector in the EOI-exit bitmap (level-triggered, IOAPIC-tracked). */
  | { reason: 'EOI_INDUCED'; vector: number }
  /** xAPIC: a write to the APIC page (EOI without x2APIC). */
  | { reason: 'APIC_ACCESS'; offset: number; value: number };

export type VmExitReason = VmExit['reason'];
