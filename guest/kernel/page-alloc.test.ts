/** The page allocator: bounded, page-aligned, LIFO reuse, freed pages' contents dropped, misuse caught. */
import { describe, expect, it } from 'vitest';
import { GuestMemory, PAGE_SIZE } from '../../hw/memory.js';
import { PageAllocator } from './page-alloc.js';

describe('PageAllocator', () => {
  it('hands out every page of its range once, then nothing', () => {
    const a = new PageAllocator(0x10000, 0x10000 + 4 * PAGE_SIZE);
    const got = [a.allocPage(), a.allocPage(), a.allocPage(), a.allocPage()];
    expect(got).toEqual([0x10000, 0x11000, 0x12000, 0x13000]);
    expect(a.allocPage()).toBeUndefined();
    expect(a).toMatchObject({ totalPages: 4, usedPages: 4, freePages: 0 });
  });

  it('reuses the last freed page first and drops its contents', () => {
    const mem = new GuestMemory(1 << 20);
    const a = new PageAllocator(0x10000, 0x20000, mem);
    const p = a.allocPage()!;
    const q = a.allocPage()!;
    mem.write32(q, 0xdeadbeef);
    a.freePage(p);
    a.freePage(q);
    expect(a.freePages).toBe(16);
    expect(mem.read32(q)).toBe(0);
    expect(a.allocPage()).toBe(q);
    expect(a.allocPage()).toBe(p);
  });

  it('throws on a double free, a foreign page, or a bad range (simulator bugs)', () => {
    const a = new PageAllocator(0x10000, 0x20000);
    const p = a.allocPage()!;
    a.freePage(p);
    expect(() => a.freePage(p)).toThrow(/freed twice/);
    expect(() => a.freePage(0x30000)).toThrow(/never handed out/);
    expect(() => new PageAllocator(0x10001, 0x20000)).toThrow(/bad range/);
    expect(() => new PageAllocator(0, 0x200000, new GuestMemory(0x100000))).toThrow(/beyond RAM/);
  });
});
