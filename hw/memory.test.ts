import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GuestMemory, GuestMemoryFault, dmaGather, dmaScatter } from './memory.js';

describe('GuestMemory', () => {
  it('reads zeroes where nothing was written and allocates nothing for it', () => {
    const m = new GuestMemory(2 ** 40);
    expect(m.read32(2 ** 39)).toBe(0);
    expect(m.read(12345, 100).every((b) => b === 0)).toBe(true);
    expect(m.pagesTouched).toBe(0);
  });

  it('is little-endian and handles page-crossing accesses', () => {
    const m = new GuestMemory(1 << 20);
    m.write32(4094, 0x11223344);
    expect(m.read8(4094)).toBe(0x44);
    expect(m.read8(4097)).toBe(0x11);
    expect(m.read32(4094)).toBe(0x11223344);
    m.write16(8191, 0xabcd);
    expect(m.read16(8191)).toBe(0xabcd);
    m.write64(4090, 0x1122334455667788n);
    expect(m.read64Big(4090)).toBe(0x1122334455667788n);
    m.write64(100, 2 ** 40 + 7);
    expect(m.read64(100)).toBe(2 ** 40 + 7);
  });

  it('refuses accesses outside RAM', () => {
    const m = new GuestMemory(4096);
    expect(() => m.read32(4094)).toThrow(GuestMemoryFault);
    expect(() => m.write(4000, new Uint8Array(200))).toThrow(GuestMemoryFault);
    expect(m.contains(4000, 96)).toBe(true);
    expect(m.contains(4000, 97)).toBe(false);
    expect(m.contains(-1, 1)).toBe(false);
    expect(m.contains(2 ** 64, 1)).toBe(false);
  });

  it('bulk writes read back exactly (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60000 }), fc.uint8Array({ minLength: 0, maxLength: 9000 }), (addr, data) => {
        const m = new GuestMemory(1 << 20);
        fc.pre(m.contains(addr, data.length));
        m.write(addr, data);
        expect(m.read(addr, data.length)).toEqual(data);
      }),
      { numRuns: 100 },
    );
  });

  it('gathers and scatters across scatter-gather lists', () => {
    const m = new GuestMemory(1 << 20);
    const sg = [
      { addr: 100, len: 3 },
      { addr: 5000, len: 5 },
    ];
    expect(dmaScatter(m, sg, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]))).toBe(8);
    expect(Array.from(dmaGather(m, sg))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(m.read8(5000)).toBe(4);
  });
});
