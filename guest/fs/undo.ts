/**
 * The undo log of one journal handle: what an operation changed in the pinned metadata, so
 * that an operation which fails halfway leaves no trace. Entries are undone newest first.
 *
 * A byte-range entry saves the bytes of a range of a block just before the operation
 * changes them; the caller must change nothing outside the range it declared. Saved bytes
 * live in one buffer reused from handle to handle, and the entries in parallel arrays, so a
 * handle that succeeds allocates nothing. Rare changes (pinning, unpinning, deferred frees)
 * are saved as closures.
 */

const INITIAL_POOL = 16 * 1024;
/** A pool grown past this by one large handle (a big truncate) is dropped when the handle ends. */
const KEEP_POOL = 1024 * 1024;

export class UndoLog {
  private pool = new Uint8Array(INITIAL_POOL);
  private poolUsed = 0;
  private n = 0;
  /** Entry i: bytes [offs[i], offs[i] + lens[i]) of bufs[i], saved at pool offset ats[i]; or fns[i]. */
  private readonly bufs: (Uint8Array | undefined)[] = [];
  private readonly offs: number[] = [];
  private readonly lens: number[] = [];
  private readonly ats: number[] = [];
  private readonly fns: ((() => void) | undefined)[] = [];

  get size(): number {
    return this.n;
  }

  /** Saves bytes [off, off + len) of `buf` as they are now. */
  saveRange(buf: Uint8Array, off: number, len: number): void {
    if (this.poolUsed + len > this.pool.length) {
      const grown = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + len));
      grown.set(this.pool.subarray(0, this.poolUsed));
      this.pool = grown;
    }
    copyBytes(buf, off, this.pool, this.poolUsed, len);
    this.push(buf, off, len, this.poolUsed, undefined);
    this.poolUsed += len;
  }

  /** Saves a change as the closure that reverts it. */
  saveFn(fn: () => void): void {
    this.push(undefined, 0, 0, 0, fn);
  }

  /** Reverts every saved change, newest first, and empties the log. */
  rollback(): void {
    for (let i = this.n - 1; i >= 0; i--) {
      const fn = this.fns[i];
      if (fn) fn();
      else copyBytes(this.pool, this.ats[i], this.bufs[i] as Uint8Array, this.offs[i], this.lens[i]);
    }
    this.clear();
  }

  /** Forgets every saved change (the operation succeeded). */
  clear(): void {
    for (let i = 0; i < this.n; i++) {
      this.bufs[i] = undefined;
      this.fns[i] = undefined;
    }
    this.n = 0;
    this.poolUsed = 0;
    if (this.pool.length > KEEP_POOL) this.pool = new Uint8Array(INITIAL_POOL);
  }

  private push(buf: Uint8Array | undefined, off: number, len: number, at: number, fn: (() => void) | undefined): void {
    const i = this.n++;
    this.bufs[i] = buf;
    this.offs[i] = off;
    this.lens[i] = len;
    this.ats[i] = at;
    this.fns[i] = fn;
  }
}

/** Below this many bytes a loop beats making the views `set` needs. */
const SMALL_COPY = 64;

function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, len: number): void {
  if (len > SMALL_COPY) dst.set(src.subarray(from, from + len), to);
  else for (let i = 0; i < len; i++) dst[to + i] = src[from + i];
}
