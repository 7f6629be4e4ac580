import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isFrozen } from './frozen.js';
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

  it('preallocated (-mem-prealloc): host memory for all of RAM up front; reads and writes as without it', () => {
    const m = new GuestMemory(64 * 4096);
    expect(m.preallocatedBytes).toBe(0);
    m.preallocate();
    expect(m.preallocatedBytes).toBe(64 * 4096);
    expect(m.pagesTouched).toBe(0);
    expect(m.read32(8192)).toBe(0);
    m.write(4090, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    expect([...m.read(4090, 10)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(m.read(4100, 4000).every((b) => b === 0)).toBe(true);
    expect(m.pagesTouched).toBe(2);
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

describe('GuestMemory.lendPage', () => {
  it('lends whole written pages only, frozen', () => {
    const m = new GuestMemory(1 << 20);
    expect(m.lendPage(8192)).toBeUndefined(); // never written: nothing to lend
    m.write8(8192, 5);
    expect(m.lendPage(8193)).toBeUndefined();
    const p = m.lendPage(8192)!;
    expect(isFrozen(p)).toBe(true);
    expect(p[0]).toBe(5);
    expect(() => m.lendPage(1 << 20)).toThrow(GuestMemoryFault);
  });

  it('the guest writes to a copy of a lent page, through every writer, and reads what it wrote (property)', () => {
    type W = { kind: 'write8' | 'write32' | 'write' | 'fill' | 'pageForWrite'; off: number; v: number };
    const writeArb: fc.Arbitrary<W> = fc.record({
      kind: fc.constantFrom<W['kind']>('write8', 'write32', 'write', 'fill', 'pageForWrite'),
      off: fc.nat(4095 - 8),
      v: fc.integer({ min: 1, max: 255 }),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), writeArb), { maxLength: 20 }), (steps) => {
        const m = new GuestMemory(1 << 16);
        const model = new Uint8Array(4096);
        m.fill(4096, 4096, 9);
        model.fill(9);
        const lent: Array<[Uint8Array, Uint8Array]> = [];
        for (const [lend, w] of steps) {
          // Reads fill the read-side cache before a lend, as a device reading the ring would.
          expect(m.read8(4096 + w.off)).toBe(model[w.off]);
          if (lend) {
            const p = m.lendPage(4096)!;
            lent.push([p, p.slice()]);
          }
          const a = 4096 + w.off;
          if (w.kind === 'write8') m.write8(a, w.v);
          else if (w.kind === 'write32') m.write32(a, w.v * 0x01010101);
          else if (w.kind === 'write') m.write(a, new Uint8Array(8).fill(w.v));
          else if (w.kind === 'fill') m.fill(a, 8, w.v);
          else m.pageForWrite(a, 1)![w.off] = w.v;
          const n = w.kind === 'write8' || w.kind === 'pageForWrite' ? 1 : w.kind === 'write32' ? 4 : 8;
          model.fill(w.v, w.off, w.off + n);
          expect([...m.read(4096, 4096)]).toEqual([...model]);
          for (const [p, bytes] of lent) expect(Buffer.from(p).equals(bytes)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('never hands a lent page out again when the guest frees it', () => {
    const m = new GuestMemory(1 << 20);
    m.fill(0, 4096, 3);
    const p = m.lendPage(0)!;
    m.discardPage(0);
    m.write8(40960, 1); // a new page: a freed one would be reused and zeroed
    expect(p.every((b) => b === 3)).toBe(true);
    expect(m.read8(0)).toBe(0);
  });
});

describe('GuestMemory.pageForOverwrite', () => {
  it('hands out the page to overwrite whole: fresh, reused or lent, what the guest reads afterwards is what it wrote', () => {
    const m = new GuestMemory(1 << 20);
    const fresh = m.pageForOverwrite(4096);
    fresh.fill(6);
    expect(m.read8(4096 + 100)).toBe(6);
    m.fill(8192, 4096, 1);
    const lent = m.lendPage(8192)!;
    m.pageForOverwrite(8192).fill(2);
    expect(lent.every((b) => b === 1)).toBe(true);
    expect(m.read8(8192 + 4095)).toBe(2);
    expect(() => m.pageForOverwrite(100)).toThrow(/not a page boundary/);
  });

  it('never lets an uninitialised page be read: a partly written new page reads zero elsewhere, including reused pages', () => {
    const m = new GuestMemory(1 << 20);
    m.fill(0, 4096, 0xee);
    m.discardPage(0);
    m.write8(12288 + 7, 1); // takes the freed page, which must read as zero but for byte 7
    const page = m.read(12288, 4096);
    expect(page[7]).toBe(1);
    expect(page.filter((b) => b !== 0).length).toBe(1);
    for (let i = 0; i < 200; i++) m.write8(65536 + i * 4096 + 3, 9); // new slab pages
    expect(m.read(65536 + 199 * 4096, 4096).filter((b) => b !== 0).length).toBe(1);
  });
});
