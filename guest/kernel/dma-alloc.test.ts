/**
 * DmaAllocator: naturally aligned blocks from per-size free lists over a bump pointer,
 * reuse after free, and a throw (a sizing bug, not a guest outcome) when RAM runs out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DmaAllocator } from './dma-alloc.js';

const PAGE = 4096;

/** The block size the allocator promises for `bytes` at `align` (power-of-two classes below a page, whole pages above). */
const blockSize = (bytes: number, align: number): number => {
  const n = Math.max(bytes, align, 8);
  return n >= PAGE ? Math.ceil(n / PAGE) * PAGE : 2 ** Math.ceil(Math.log2(n));
};

describe('DmaAllocator', () => {
  it('aligns small blocks to their power-of-two size and large ones to a page', () => {
    const a = new DmaAllocator(0x1001, 0x100000);
    const x = a.alloc(1);
    expect(x % 8).toBe(0);
    expect(x).toBeGreaterThanOrEqual(0x1001);
    expect(a.alloc(100) % 128).toBe(0);
    expect(a.alloc(64, 64) % 64).toBe(0);
    expect(a.alloc(6 + 2 * 256, 2) % 1024).toBe(0); // an avail ring of 256 is a 1 KiB block
    expect(a.alloc(5000) % PAGE).toBe(0);
    expect(a.alloc(16, 2048) % 2048).toBe(0);
  });

  it('reuses a freed block for the next request of the same size class, and only then', () => {
    const a = new DmaAllocator(0x1000, 0x100000);
    const x = a.alloc(100);
    const y = a.alloc(100);
    a.free(x, 100);
    expect(a.alloc(200)).not.toBe(x); // a 256-byte class
    expect(a.alloc(120)).toBe(x); // same 128-byte class
    expect(a.alloc(100)).not.toBe(y);
    const p = a.alloc(3 * PAGE - 100);
    a.free(p, 3 * PAGE - 100);
    expect(a.alloc(2 * PAGE + 1)).toBe(p);
  });

  it('hands out the most recently freed block first (LIFO)', () => {
    const a = new DmaAllocator(0x1000, 0x100000);
    const [x, y, z] = [a.alloc(64), a.alloc(64), a.alloc(64)];
    a.free(x, 64);
    a.free(z, 64);
    expect(a.alloc(64)).toBe(z);
    expect(a.alloc(64)).toBe(x);
    expect(a.alloc(64)).not.toBe(y);
  });

  it('throws when RAM runs out, and still serves what fits afterwards', () => {
    const a = new DmaAllocator(0x1000, 0x3000);
    const p = a.alloc(PAGE);
    expect(p).toBe(0x1000);
    expect(() => a.alloc(2 * PAGE)).toThrow(/out of memory allocating 8192 bytes/);
    expect(a.alloc(PAGE)).toBe(0x2000);
    expect(() => a.alloc(8)).toThrow(/out of memory/);
    a.free(p, PAGE);
    expect(a.alloc(PAGE)).toBe(p);
  });

  it('an end that is not reachable at the block alignment is out of memory too', () => {
    const a = new DmaAllocator(0x1010, 0x2000);
    // 2 KiB aligned to 2 KiB: 0x1800..0x2000 fits; a second one would end at 0x2800.
    expect(a.alloc(2048)).toBe(0x1800);
    expect(() => a.alloc(2048)).toThrow();
  });

  it('live blocks never overlap, stay in range and are aligned, over any alloc/free sequence (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), bytes: fc.integer({ min: 0, max: 3 * PAGE }), align: fc.constantFrom(2, 4, 8, 16, 64, 512, PAGE) }),
      fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const start = 0x1000;
        const end = 0x40000;
        const a = new DmaAllocator(start, end);
        const live: { addr: number; size: number; bytes: number; align: number }[] = [];
        for (const o of ops) {
          if (o.kind === 'free') {
            if (live.length === 0) continue;
            const [b] = live.splice(o.pick % live.length, 1);
            a.free(b.addr, b.bytes, b.align);
            continue;
          }
          let addr: number;
          try {
            addr = a.alloc(o.bytes, o.align);
          } catch {
            continue; // out of memory is allowed; overlap is not
          }
          const size = blockSize(o.bytes, o.align);
          expect(addr % o.align).toBe(0);
          expect(addr % Math.min(size, PAGE)).toBe(0);
          expect(addr).toBeGreaterThanOrEqual(start);
          expect(addr + size).toBeLessThanOrEqual(end);
          for (const b of live) expect(addr + size <= b.addr || b.addr + b.size <= addr, `0x${addr.toString(16)} overlaps 0x${b.addr.toString(16)}`).toBe(true);
          live.push({ addr, size, bytes: o.bytes, align: o.align });
        }
      }),
    );
  });

  it('honours an alignment above a page when it reuses a freed block', () => {
    const a = new DmaAllocator(0x1000, 0x100000);
    const x = a.alloc(2 * PAGE); // an 8 KiB block, page-aligned (0x1000)
    expect(x % PAGE).toBe(0);
    a.free(x, 2 * PAGE);
    const y = a.alloc(PAGE, 2 * PAGE); // same 8 KiB class, but must be 8 KiB-aligned
    expect(y % (2 * PAGE)).toBe(0);
  });
});
