import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from './page.js';
import { PageSlabs } from './page-slabs.js';

describe('PageSlabs', () => {
  it('hands out zeroed pages, reusing given-back ones first', () => {
    const s = new PageSlabs();
    const a = s.take(false);
    expect(a.length).toBe(PAGE_SIZE);
    a.fill(7);
    s.giveBack(a);
    const b = s.take(false);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset);
    expect(b.every((x) => x === 0)).toBe(true);
    b.fill(9);
    s.giveBack(b);
    // Uninitialized: handed back as it was, for a caller that overwrites all of it.
    expect(s.take(true)[0]).toBe(9);
  });

  it('without preallocation, carves growing slabs lazily', () => {
    const s = new PageSlabs();
    expect(s.preallocatedBytes).toBe(0);
    const first = s.take(false);
    expect(first.buffer.byteLength).toBe(64 * PAGE_SIZE);
    for (let i = 1; i < 64; i++) expect(s.take(false).buffer).toBe(first.buffer);
    expect(s.take(false).buffer.byteLength).toBe(128 * PAGE_SIZE);
  });

  it('with preallocation, hands out the preallocated pages, zeroed and in order, before making a new slab', () => {
    const s = new PageSlabs();
    s.preallocate(10 * PAGE_SIZE - 100); // rounded up to whole pages
    expect(s.preallocatedBytes).toBe(10 * PAGE_SIZE);
    const pages = Array.from({ length: 10 }, () => s.take(false));
    const buf = pages[0].buffer;
    expect(buf.byteLength).toBe(10 * PAGE_SIZE);
    pages.forEach((p, i) => {
      expect(p.buffer).toBe(buf);
      expect(p.byteOffset).toBe(i * PAGE_SIZE);
      expect(p.every((x) => x === 0)).toBe(true);
    });
    const next = s.take(false);
    expect(next.buffer).not.toBe(buf);
    expect(next.every((x) => x === 0)).toBe(true);
  });
});
