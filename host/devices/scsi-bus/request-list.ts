/**
 * A device's requests in arrival order (QEMU's SCSIDevice.requests, a QTAILQ): linked
 * through the requests themselves, so adding and removing one allocates nothing.
 *
 * Why not a Set: every command would be added and deleted once, and V8's hash tables,
 * rehashed as deletions pile up, keep each obsolete table linked to the next one; under a
 * large old generation those chains pin the young requests they hold through scavenges,
 * and the garbage collector, not the model, became most of virtio-scsi's cost.
 */
export interface Linked<T> {
  listPrev: T | undefined;
  listNext: T | undefined;
  /** On a list now. */
  listed: boolean;
}

export class RequestList<T extends Linked<T>> implements Iterable<T> {
  private head: T | undefined;
  private tail: T | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Append (QTAILQ_INSERT_TAIL); a request already on the list stays where it is. */
  add(r: T): void {
    if (r.listed) return;
    r.listed = true;
    r.listPrev = this.tail;
    r.listNext = undefined;
    if (this.tail) this.tail.listNext = r;
    else this.head = r;
    this.tail = r;
    this.count++;
  }

  /** Remove; false when it was not on the list. */
  delete(r: T): boolean {
    if (!r.listed) return false;
    if (r.listPrev) r.listPrev.listNext = r.listNext;
    else this.head = r.listNext;
    if (r.listNext) r.listNext.listPrev = r.listPrev;
    else this.tail = r.listPrev;
    r.listPrev = r.listNext = undefined;
    r.listed = false;
    this.count--;
    return true;
  }

  has(r: T): boolean {
    return r.listed;
  }

  /** In arrival order. Copy first (`[...list]`) to remove while walking. */
  *[Symbol.iterator](): Iterator<T> {
    for (let r = this.head; r !== undefined; r = r.listNext) yield r;
  }
}
