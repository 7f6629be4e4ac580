/**
 * `Qcow2Cache`: QEMU's metadata cache (block/qcow2-cache.c), one for L2 table slices and
 * one for refcount blocks. A bounded number of fixed-size entries, keyed by their offset
 * in the image file, evicted least recently used first; a dirty entry is written back
 * when it is evicted or when the cache is written.
 *
 * Ordering between the two caches is QEMU's "dependency": after `setDependency(other)`,
 * nothing of this cache is written before `other` has been flushed (written and the file
 * synced). The L2 cache depends on the refcount cache when clusters were allocated (a
 * refcount must be on disk before an L2 entry uses the cluster), and the refcount cache
 * on the L2 cache when clusters were freed.
 *
 * Entries are plain Uint8Arrays owned by the cache: callers read or modify one right
 * after `get` and mark it dirty, with no other call to the same cache in between (an
 * eviction could drop it).
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import type { BlkdebugEvent } from '../../image-api.js';
import type { BlockDriverState } from '../../node.js';

interface Entry {
  readonly data: Uint8Array;
  /** A view of `data`, made once (lookups read entries through it). */
  readonly view: DataView;
  dirty: boolean;
  /** When it was last used (qcow2_cache's lru_counter): the smallest is evicted first. */
  lru: number;
}

export class Qcow2Cache {
  private readonly entries = new Map<number, Entry>();
  private tick = 0;
  private depends: Qcow2Cache | undefined;
  /** Sync the file before the next write-back (set after the file was written by other means). */
  private dependsOnFlush = false;
  /** Called before an entry is written back (the driver's metadata overlap check); an error stops the write. */
  checkWrite: ((offset: number, bytes: number, acct: IoAcct) => BlockIoError | null) | undefined;

  constructor(
    private readonly file: BlockDriverState,
    /** Number of entries. */
    readonly capacity: number,
    /** Bytes per entry. */
    readonly entrySize: number,
    private readonly loadEvent: BlkdebugEvent,
    private readonly writeEvent: BlkdebugEvent,
  ) {}

  /** The entry at `offset`, read from the file if it is not cached. */
  get(offset: number, acct: IoAcct): Uint8Array | BlockIoError {
    return this.entry(offset, acct);
  }

  /** As `get`, as a DataView over the entry. */
  getView(offset: number, acct: IoAcct): DataView | BlockIoError {
    const hit = this.entries.get(offset);
    if (hit) {
      hit.lru = ++this.tick;
      return hit.view;
    }
    const e = this.load(offset, acct);
    return 'errno' in e ? e : e.view;
  }

  /** The entry at `offset` if it is cached (counted as a use), without reading the file. */
  hit(offset: number): DataView | undefined {
    const e = this.entries.get(offset);
    if (!e) return undefined;
    e.lru = ++this.tick;
    return e.view;
  }

  private entry(offset: number, acct: IoAcct): Uint8Array | BlockIoError {
    const hit = this.entries.get(offset);
    if (hit) {
      hit.lru = ++this.tick;
      return hit.data;
    }
    const e = this.load(offset, acct);
    return 'errno' in e ? e : e.data;
  }

  private load(offset: number, acct: IoAcct): Entry | BlockIoError {
    const err = this.makeRoom(acct);
    if (err) return err;
    const data = new Uint8Array(this.entrySize);
    this.file.debugEvent(this.loadEvent);
    const rerr = this.file.preadv(offset, data, acct);
    if (rerr) return rerr;
    return this.insert(offset, data);
  }

  private insert(offset: number, data: Uint8Array): Entry {
    const e: Entry = { data, view: new DataView(data.buffer, data.byteOffset, data.byteLength), dirty: false, lru: ++this.tick };
    this.entries.set(offset, e);
    return e;
  }

  /** qcow2_cache_get_empty: a zeroed entry at `offset`, not read from the file. */
  getEmpty(offset: number, acct: IoAcct): Uint8Array | BlockIoError {
    const hit = this.entries.get(offset);
    if (hit) {
      hit.data.fill(0);
      hit.lru = ++this.tick;
      return hit.data;
    }
    const err = this.makeRoom(acct);
    if (err) return err;
    return this.insert(offset, new Uint8Array(this.entrySize)).data;
  }

  /** The cached entry at `offset`, if any, without touching the file. */
  peek(offset: number): Uint8Array | undefined {
    return this.entries.get(offset)?.data;
  }

  markDirty(offset: number): void {
    const e = this.entries.get(offset);
    if (e) e.dirty = true;
  }

  /** qcow2_cache_discard: forget the entry (its cluster was freed). */
  discard(offset: number): void {
    this.entries.delete(offset);
  }

  /**
   * qcow2_cache_set_dependency: nothing here is written before `other` is flushed. A
   * dependency `other` already has, or one this cache has on a third, is settled first.
   */
  setDependency(other: Qcow2Cache, acct: IoAcct): BlockIoError | null {
    if (other.depends) {
      const err = other.flushDependency(acct);
      if (err) return err;
    }
    if (this.depends && this.depends !== other) {
      const err = this.flushDependency(acct);
      if (err) return err;
    }
    this.depends = other;
    return null;
  }

  private flushDependency(acct: IoAcct): BlockIoError | null {
    const dep = this.depends;
    if (!dep) return null;
    const err = dep.flush(acct);
    if (err) return err;
    this.depends = undefined;
    this.dependsOnFlush = false;
    return null;
  }

  /** qcow2_cache_depends_on_flush: sync the file before writing anything back. */
  dependOnFlush(): void {
    this.dependsOnFlush = true;
  }

  get dirtyCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.dirty) n++;
    return n;
  }

  /** qcow2_cache_write: write every dirty entry back (no sync). */
  write(acct: IoAcct): BlockIoError | null {
    for (const [offset, e] of this.entries) {
      const err = this.writeBack(offset, e, acct);
      if (err) return err;
    }
    return null;
  }

  /** qcow2_cache_flush: write back, then sync the file. */
  flush(acct: IoAcct): BlockIoError | null {
    return this.write(acct) ?? this.file.flush(acct);
  }

  /** Forget everything, dirty or not (power cut, or a reopen). */
  clear(): void {
    this.entries.clear();
    this.depends = undefined;
    this.dependsOnFlush = false;
  }

  private writeBack(offset: number, e: Entry, acct: IoAcct): BlockIoError | null {
    if (!e.dirty) return null;
    if (this.depends) {
      const err = this.flushDependency(acct);
      if (err) return err;
    } else if (this.dependsOnFlush) {
      const err = this.file.flush(acct);
      if (err) return err;
      this.dependsOnFlush = false;
    }
    const bad = this.checkWrite?.(offset, this.entrySize, acct);
    if (bad) return bad;
    this.file.debugEvent(this.writeEvent);
    const err = this.file.pwritev(offset, e.data, {}, acct);
    if (err) return err;
    e.dirty = false;
    return null;
  }

  /** qcow2_cache_find_entry_to_replace: the least recently used entry goes (written back first if dirty). */
  private makeRoom(acct: IoAcct): BlockIoError | null {
    while (this.entries.size >= this.capacity) {
      let victim = -1;
      let oldest = Infinity;
      for (const [offset, e] of this.entries) {
        if (e.lru < oldest) {
          oldest = e.lru;
          victim = offset;
        }
      }
      const e = this.entries.get(victim)!;
      const err = this.writeBack(victim, e, acct);
      if (err) return err;
      this.entries.delete(victim);
    }
    return null;
  }
}
