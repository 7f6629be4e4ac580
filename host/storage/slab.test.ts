import { describe, expect, it } from 'vitest';
import { SlabAllocator } from './slab.js';

describe('SlabAllocator', () => {
  it('hands out zeroed pieces that never overlap, and large pieces on their own', () => {
    const slabs = new SlabAllocator(1024, 256);
    const pieces = Array.from({ length: 20 }, (_, i) => slabs.alloc(100 + i));
    pieces.forEach((p, i) => {
      expect(p.length).toBe(100 + i);
      expect(p.every((b) => b === 0)).toBe(true);
      p.fill(i + 1);
    });
    pieces.forEach((p, i) => expect(p.every((b) => b === i + 1)).toBe(true));
    const big = slabs.alloc(300);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(300);
  });
});
