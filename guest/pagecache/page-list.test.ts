import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageList } from './page-list.js';

class Item {
  aPrev: Item | undefined;
  aNext: Item | undefined;
  bPrev: Item | undefined;
  bNext: Item | undefined;
  cPrev: Item | undefined;
  cNext: Item | undefined;
  constructor(readonly id: number) {}
}

describe('PageList', () => {
  it('keeps an insertion-ordered Set’s order, size and membership under any adds and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(7)), { maxLength: 60 }), (ops) => {
        const items = Array.from({ length: 8 }, (_, i) => new Item(i));
        const list = new PageList<Item>('aPrev', 'aNext');
        const model = new Set<Item>();
        for (const [add, i] of ops) {
          if (add) {
            list.add(items[i]);
            model.add(items[i]);
          } else expect(list.delete(items[i])).toBe(model.delete(items[i]));
          expect([...list].map((x) => x.id)).toEqual([...model].map((x) => x.id));
          expect(list.size).toBe(model.size);
          expect(list.oldest()).toBe([...model][0]);
          const walked: number[] = [];
          for (let x = list.oldest(); x !== undefined; x = list.after(x)) walked.push(x.id);
          expect(walked).toEqual([...model].map((x) => x.id));
          for (const x of items) expect(list.has(x)).toBe(model.has(x));
        }
      }),
    );
  });

  it('threads one page through lists of different kinds independently', () => {
    const x = new Item(1);
    const y = new Item(2);
    const l1 = new PageList<Item>('aPrev', 'aNext');
    const l2 = new PageList<Item>('bPrev', 'bNext');
    l1.add(x).add(y);
    l2.add(y).add(x);
    l1.delete(x);
    expect([...l1]).toEqual([y]);
    expect([...l2]).toEqual([y, x]);
  });

  it('tells a lone page on the list from one that is not', () => {
    const x = new Item(1);
    const l = new PageList<Item>('cPrev', 'cNext');
    expect(l.has(x)).toBe(false);
    expect(l.delete(x)).toBe(false);
    l.add(x).add(x);
    expect(l.has(x)).toBe(true);
    expect(l.size).toBe(1);
    expect(l.delete(x)).toBe(true);
    expect([...l]).toEqual([]);
    expect(l.oldest()).toBeUndefined();
  });

  it('lets a loop take the page it is at off the list', () => {
    const items = [1, 2, 3, 4].map((i) => new Item(i));
    const l = new PageList<Item>('aPrev', 'aNext');
    for (const x of items) l.add(x);
    const seen: number[] = [];
    for (const x of l) {
      seen.push(x.id);
      if (x.id % 2 === 0) l.delete(x);
    }
    expect(seen).toEqual([1, 2, 3, 4]);
    expect([...l].map((x) => x.id)).toEqual([1, 3]);
  });
});
