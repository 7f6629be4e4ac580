/**
 * A binary min-heap of timed entries, ordered by (time, seq). `seq` is the insertion
 * order, so two entries at the same virtual instant leave in the order they arrived:
 * the tie-break that makes a run reproducible event for event.
 */
export interface HeapEntry {
  time: number;
  seq: number;
}

export class TimeHeap<T extends HeapEntry> {
  private readonly items: T[] = [];
  /**
   * The least entry, kept out of the array when it arrived as the least one: most events
   * are posted for "now" while everything else waits for later (a context taking its next
   * piece of work), and such an entry then costs no sifting in or out. Invariant: when
   * set, it comes before every entry in `items`.
   */
  private front: T | undefined = undefined;

  get size(): number {
    return this.items.length + (this.front === undefined ? 0 : 1);
  }

  peek(): T | undefined {
    return this.front ?? this.items[0];
  }

  push(item: T): void {
    const f = this.front;
    if (f === undefined) {
      if (this.items.length === 0 || before(item, this.items[0])) {
        this.front = item;
        return;
      }
    } else if (before(item, f)) {
      this.front = item;
      item = f;
    }
    this.sift(item);
  }

  private sift(item: T): void {
    const a = this.items;
    // Move the hole up from the end until `item` fits, then drop it in (no swaps).
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p];
      if (!before(item, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const f = this.front;
    if (f !== undefined) {
      this.front = undefined;
      return f;
    }
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      // Move the hole down from the root until `last` fits, then drop it in (no swaps).
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(a[r], a[l]) ? r : l;
        if (!before(a[c], last)) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

function before(x: HeapEntry, y: HeapEntry): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
