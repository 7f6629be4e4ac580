import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockSet } from './block-set.js';

describe('BlockSet', () => {
  it('answers as a Set does, for blocks inside the file system and numbers outside it', () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.array(fc.oneof(fc.nat(6000), fc.integer({ min: -5, max: 2 ** 32 + 5 }), fc.double())), (count, adds) => {
        const s = new BlockSet(count);
        const model = new Set<number>();
        for (const b of adds) {
          s.add(b);
          model.add(b);
        }
        expect(s.size).toBe(model.size);
        for (const b of [...adds, 0, count - 1, count, -1, 2 ** 31, 0.5]) expect(s.has(b)).toBe(model.has(b));
      }),
    ));
});
