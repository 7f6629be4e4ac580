import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageTable } from './page-table.js';

describe('PageTable', () => {
  it('behaves as a map of frame numbers to pages (model-based)', () => {
    const pfnArb = fc.oneof(fc.nat(2048), fc.nat(2 ** 28), fc.constant(2 ** 28 - 1));
    const opArb = fc.tuple(fc.constantFrom('set', 'delete', 'get'), pfnArb);
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const t = new PageTable();
        const model = new Map<number, Uint8Array>();
        for (const [op, pfn] of ops) {
          if (op === 'set') {
            const p = new Uint8Array(1);
            t.set(pfn, p);
            model.set(pfn, p);
          } else if (op === 'delete') {
            t.delete(pfn);
            model.delete(pfn);
          }
          expect(t.get(pfn)).toBe(model.get(pfn));
          expect(t.has(pfn)).toBe(model.has(pfn));
          expect(t.size).toBe(model.size);
        }
        for (const [pfn, p] of model) expect(t.get(pfn)).toBe(p);
      }),
      { numRuns: 100 },
    );
  });
});
