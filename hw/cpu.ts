/**
 * What guest code running on a vCPU can do to the outside world, and nothing more: port
 * I/O, MMIO, writing an MSR, halting, and receiving interrupts. The guest (guest/) holds
 * a `VcpuPort`; KVM's model (host/kvm-exits) implements it. Every device access through
 * it is a VM exit, decided and counted on the host side: the guest never counts.
 *
 * Time: guest code runs inside `run()`; each access charges its modelled cost to the
 * vCPU by advancing the simulation's local time.
 */

export type AccessSize = 1 | 2 | 4 | 8;

/** x2APIC EOI register (MSR 0x80B). */
export const MSR_X2APIC_EOI = 0x80b;
/** x2APIC interrupt command register (MSR 0x830): bits 63:32 destination, 7:0 vector. */
export const MSR_X2APIC_ICR = 0x830;
export const x2apicIcr = (dest: number, vector: number): number => dest * 0x1_0000_0000 + (vector & 0xff);
/** Linux's RESCHEDULE_VECTOR (arch/x86/include/asm/irq_vectors.h). */
export const RESCHEDULE_VECTOR = 0xfd;

/** The MSI address window: 0xFEExxxxx (Intel SDM 10.11.1), destination APIC ID in bits 19:12. */
export const MSI_ADDR_BASE = 0xfee00000;
export const msiAddress = (destApicId: number): number => MSI_ADDR_BASE | ((destApicId & 0xff) << 12);
export const msiDestination = (addr: number): number => (addr >>> 12) & 0xff;
/** MSI data: vector in bits 7:0 (fixed delivery, edge). */
export const msiVector = (data: number): number => data & 0xff;

/** The guest's interrupt entry: called with the vector KVM injected, on the vCPU, inside `run`. */
export type InterruptEntry = (vector: number) => void;

export interface VcpuPort {
  readonly index: number;
  pioRead(port: number, size: AccessSize): number;
  pioWrite(port: number, size: AccessSize, value: number): void;
  mmioRead(addr: number, size: AccessSize): number;
  mmioWrite(addr: number, size: AccessSize, value: number): void;
  wrmsr(msr: number, value: number): void;
  /**
   * Execute HLT: the vCPU has nothing to run. It stays halted until an interrupt
   * arrives (or until `run` is called for new work, e.g. a timer the guest set).
   */
  halt(): void;
  /** Run guest code on this vCPU as soon as it is free. */
  run(what: string, fn: () => void): void;
  /** Install the guest's interrupt entry point (its IDT). */
  setInterruptEntry(entry: InterruptEntry): void;
  /** Charge `ns` of guest CPU time to this vCPU (inside `run`). */
  charge(ns: number): void;
  /**
   * KVM PV-EOI: test-and-clear the flag KVM sets in the guest's shared page when the
   * EOI of the interrupt being serviced may be skipped. A memory access: no exit.
   */
  pvEoiPending(): boolean;
}
