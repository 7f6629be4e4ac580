/**
 * The platform's IOAPIC (82093AA) as the guest programs it: registers at 0xFEC00000,
 * IOREGSEL at +0x00 and IOWIN at +0x10; redirection entry n at registers 0x10 + 2n
 * (low dword: vector, trigger mode bit 15, mask bit 16) and 0x11 + 2n (destination in
 * bits 31:24).
 */
export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_SIZE = 0x20;
export const IOAPIC_NUM_PINS = 24;
export const IOAPIC_IOREGSEL = 0x00;
export const IOAPIC_IOWIN = 0x10;
export const IOAPIC_REG_REDTBL = 0x10;
export const IOAPIC_LEVEL_TRIGGER = 1 << 15;
export const IOAPIC_REMOTE_IRR = 1 << 14;
export const IOAPIC_MASKED = 1 << 16;
