import { describe, expect, it } from 'vitest';
import { PCI_BAR_UNMAPPED, PciConfigSpace } from './config-space.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_CAPABILITY_LIST,
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_COMMAND_MEMORY,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_STATUS_REC_MASTER_ABORT,
  PCI_STATUS_SIG_TARGET_ABORT,
} from './constants.js';

const ids = { vendorId: 0x1af4, deviceId: 0x1042, revision: 1, classCode: 0x0100, subsystemVendorId: 0x1af4, subsystemId: 0x1100 };

describe('PciConfigSpace header', () => {
  it('lays the IDs out little-endian, byte for byte', () => {
    const c = new PciConfigSpace(ids);
    expect(Array.from(c.config.subarray(0, 4))).toEqual([0xf4, 0x1a, 0x42, 0x10]);
    expect(c.config[0x08]).toBe(1); // revision
    expect(Array.from(c.config.subarray(0x09, 0x0c))).toEqual([0x00, 0x00, 0x01]); // prog-if, subclass, class
    expect(c.read(0x2c, 4)).toBe(0x11001af4);
    expect(c.read(0, 4)).toBe(0x10421af4);
    expect(c.read(2, 2)).toBe(0x1042);
    expect(c.read(1, 1)).toBe(0x1a);
  });

  it('keeps read-only registers read-only', () => {
    const c = new PciConfigSpace(ids);
    c.write(0, 0xffffffff, 4);
    c.write(0x08, 0xffffffff, 4);
    c.write(0x2c, 0xffffffff, 4);
    expect(c.read(0, 4)).toBe(0x10421af4);
    expect(c.read(0x08, 4)).toBe(0x01000001);
    expect(c.read(0x2c, 4)).toBe(0x11001af4);
  });

  it('lets the guest write only COMMAND IO|MEMORY|MASTER|SERR|INTX_DISABLE', () => {
    const c = new PciConfigSpace(ids);
    c.write(PCI_COMMAND, 0xffff, 2);
    expect(c.read(PCI_COMMAND, 2)).toBe(0x0507);
    c.write(PCI_COMMAND, 0, 2);
    expect(c.command).toBe(0);
  });

  it('interrupt line is writable, interrupt pin is not', () => {
    const c = new PciConfigSpace(ids);
    c.setInterruptPin(1);
    c.write(PCI_INTERRUPT_LINE, 0x0b0b, 2);
    expect(c.config[PCI_INTERRUPT_LINE]).toBe(0x0b);
    expect(c.config[PCI_INTERRUPT_PIN]).toBe(1);
    expect(c.interruptLine).toBe(11);
  });

  it('clears STATUS error bits on write-1, keeps them on write-0, never clears CAP_LIST', () => {
    const c = new PciConfigSpace(ids);
    c.addCapability(0x09, 16);
    c.set16(PCI_STATUS, c.get16(PCI_STATUS) | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT);
    c.write(PCI_STATUS, 0, 2);
    expect(c.get16(PCI_STATUS)).toBe(PCI_STATUS_CAP_LIST | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT);
    c.write(PCI_STATUS, PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_CAP_LIST, 2);
    expect(c.get16(PCI_STATUS)).toBe(PCI_STATUS_CAP_LIST | PCI_STATUS_REC_MASTER_ABORT);
  });

  it('device-specific space past the header is writable until a capability claims it', () => {
    const c = new PciConfigSpace(ids);
    c.write(0x40, 0xdeadbeef, 4);
    expect(c.read(0x40, 4)).toBe(0xdeadbeef);
    const cap = c.addCapability(0x09, 16);
    expect(cap).toBe(0x40);
    c.write(0x44, 0xffffffff, 4);
    expect(c.read(0x44, 4)).toBe(0); // the capability's bytes are read-only now
  });
});

describe('BAR sizing and decoding', () => {
  it('a 32-bit memory BAR reads back ~(size-1) after all-ones, type bits intact', () => {
    const c = new PciConfigSpace(ids);
    c.registerBar(1, 0x1000, { space: 'mem32' });
    const off = PCI_BASE_ADDRESS_0 + 4;
    expect(c.read(off, 4)).toBe(0);
    c.write(off, 0xffffffff, 4);
    expect(c.read(off, 4)).toBe(0xfffff000);
    c.write(off, 0xfebf1234, 4);
    expect(c.read(off, 4)).toBe(0xfebf1000);
  });

  it('an I/O BAR keeps bit 0 set', () => {
    const c = new PciConfigSpace(ids);
    c.registerBar(0, 0x20, { space: 'io' });
    expect(c.read(PCI_BASE_ADDRESS_0, 4)).toBe(1);
    c.write(PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    expect(c.read(PCI_BASE_ADDRESS_0, 4)).toBe(0xffffffe1);
  });

  it('a 64-bit prefetchable BAR spans two registers', () => {
    const c = new PciConfigSpace(ids);
    c.registerBar(4, 0x4000, { space: 'mem64', prefetch: true });
    const off = PCI_BASE_ADDRESS_0 + 16;
    expect(c.read(off, 4)).toBe(0x0c);
    c.write(off, 0xffffffff, 4);
    c.write(off + 4, 0xffffffff, 4);
    expect(c.read(off, 4)).toBe(0xffffc00c);
    expect(c.read(off + 4, 4)).toBe(0xffffffff);
    c.write(off, 0x00004000, 4);
    c.write(off + 4, 0x1, 4);
    c.write(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    expect(c.barAddress(4)).toBe(0x1_0000_4000);
  });

  it('decodes only with the COMMAND enable bit, a non-zero address, and no wrap', () => {
    const c = new PciConfigSpace(ids);
    c.registerBar(1, 0x1000, { space: 'mem32' });
    c.registerBar(0, 0x40, { space: 'io' });
    const off = PCI_BASE_ADDRESS_0 + 4;
    c.write(off, 0xfebf1000, 4);
    c.write(PCI_BASE_ADDRESS_0, 0xc040, 4);
    expect(c.barAddress(1)).toBe(PCI_BAR_UNMAPPED);
    c.write(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    expect(c.barAddress(1)).toBe(0xfebf1000);
    expect(c.barAddress(0)).toBe(PCI_BAR_UNMAPPED);
    c.write(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
    expect(c.barAddress(0)).toBe(0xc040);
    c.write(off, 0xffffffff, 4); // sizing: the BAR would reach 4 GiB
    expect(c.barAddress(1)).toBe(PCI_BAR_UNMAPPED);
    c.write(off, 0, 4);
    expect(c.barAddress(1)).toBe(PCI_BAR_UNMAPPED);
    expect(c.barAddress(2)).toBe(PCI_BAR_UNMAPPED); // not registered
  });

  it('refuses impossible BARs as simulator bugs', () => {
    const c = new PciConfigSpace(ids);
    expect(() => c.registerBar(0, 0x1800, { space: 'mem32' })).toThrow();
    expect(() => c.registerBar(0, 8, { space: 'mem32' })).toThrow();
    expect(() => c.registerBar(5, 0x1000, { space: 'mem64' })).toThrow();
    expect(() => c.registerBar(6, 0x1000, { space: 'mem32' })).toThrow();
    c.registerBar(4, 0x1000, { space: 'mem64' });
    expect(() => c.registerBar(5, 0x1000, { space: 'mem32' })).toThrow();
  });
});

describe('capabilities', () => {
  it('places capabilities in free space and links the newest first, as QEMU does', () => {
    const c = new PciConfigSpace(ids);
    const offs = [16, 16, 16, 20, 20, 12].map((size, i) => c.addCapability(i === 5 ? 0x11 : 0x09, size));
    expect(offs).toEqual([0x40, 0x50, 0x60, 0x70, 0x84, 0x98]);
    expect(c.config[PCI_CAPABILITY_LIST]).toBe(0x98);
    expect(c.capabilities()).toEqual([0x98, 0x84, 0x70, 0x60, 0x50, 0x40]);
    expect(c.config[0x40 + 1]).toBe(0); // the first one added ends the list
    expect(c.findCapability(0x11)).toBe(0x98);
    expect(c.findCapability(0x05)).toBe(0);
    expect(c.get16(PCI_STATUS) & PCI_STATUS_CAP_LIST).toBe(PCI_STATUS_CAP_LIST);
  });

  it('throws when config space is full (a simulator bug)', () => {
    const c = new PciConfigSpace(ids);
    for (let i = 0; i < 12; i++) c.addCapability(0x09, 16);
    expect(() => c.addCapability(0x09, 16)).toThrow();
  });
});
