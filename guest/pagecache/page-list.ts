/**
 * Lists of pages threaded through the pages themselves (Linux's `struct list_head` in
 * `struct page`): the LRU lists, the global dirty list, a mapping's dirty and writeback
 * tags. A page carries a pair of link fields for each list it can be on, so joining or
 * leaving a list allocates nothing and costs a few pointer writes — where a `Set` per list
 * hashed every page and rebuilt its table as hundreds of thousands of pages came and went.
 *
 * The order is an insertion-ordered `Set`'s: iteration starts at the oldest; `add` puts a
 * page that is not on the list at the newest end and leaves one already on it where it is;
 * `delete` takes it out. While a list is iterated, only the page the loop is at may leave
 * it (take `oldest` in a loop to drain one).
 */

/** The names of `P`'s fields that can hold a link to another `P`. */
export type LinkKey<P> = { [K in keyof P]-?: P[K] extends P | undefined ? (undefined extends P[K] ? K : never) : never }[keyof P];

export class PageList<P extends object> implements Iterable<P> {
  private head: P | undefined;
  private tail: P | undefined;
  private count = 0;

  constructor(
    /** The pair of `P`'s fields this list threads; no other list may use them. */
    private readonly prev: LinkKey<P>,
    private readonly next: LinkKey<P>,
  ) {}

  get size(): number {
    return this.count;
  }

  has(page: P): boolean {
    return page[this.prev] !== undefined || this.head === page;
  }

  /** Append at the newest end, unless already on the list. */
  add(page: P): this {
    if (this.has(page)) return this;
    const tail = this.tail;
    (page[this.prev] as P | undefined) = tail;
    (page[this.next] as P | undefined) = undefined;
    if (tail !== undefined) (tail[this.next] as P | undefined) = page;
    else this.head = page;
    this.tail = page;
    this.count++;
    return this;
  }

  /** Take `page` off; false when it was not on the list. */
  delete(page: P): boolean {
    if (!this.has(page)) return false;
    const prev = page[this.prev] as P | undefined;
    const next = page[this.next] as P | undefined;
    if (prev !== undefined) (prev[this.next] as P | undefined) = next;
    else this.head = next;
    if (next !== undefined) (next[this.prev] as P | undefined) = prev;
    else this.tail = prev;
    (page[this.prev] as P | undefined) = undefined;
    (page[this.next] as P | undefined) = undefined;
    this.count--;
    return true;
  }

  /** The oldest page, if any. */
  oldest(): P | undefined {
    return this.head;
  }

  /** The page after `page` (one step newer), if any; `page` must be on the list. A walk without an iterator. */
  after(page: P): P | undefined {
    return page[this.next] as P | undefined;
  }

  /** Oldest first. The loop may delete the page it is at, and nothing else. */
  *[Symbol.iterator](): Iterator<P> {
    for (let p = this.head; p !== undefined; ) {
      const next = p[this.next] as P | undefined;
      yield p;
      p = next;
    }
  }
}
