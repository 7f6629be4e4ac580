/**
 * Frozen pages: 4 KiB of bytes nobody changes in place any more, so whoever is handed them
 * may keep them instead of copying them. Guest memory freezes a page it lends to a device
 * for a write (`GuestMemory.lendPage`); the host's cache then keeps the page as the chunk
 * it would otherwise have copied it into. Every writer that could hold such a page copies
 * it before changing it: guest memory gives the guest a fresh copy of a frozen page on its
 * next write to it, the host's cache and the memory driver's store copy a frozen chunk
 * before writing into it, and neither hands a frozen page back for reuse.
 *
 * This is how the simulator avoids copying every written block once more than the system
 * it models does — like copy-on-write after fork, it changes who owns the bytes, never what
 * anyone reads. Nothing is ever unfrozen; a page the host let go of costs the guest one
 * copy at most.
 *
 * Frozenness belongs to the memory, not to one view of it: it is kept per page of the
 * underlying ArrayBuffer (a byte per 4 KiB, in a WeakMap keyed by the buffer), so every
 * view of a frozen page is frozen, and a page cache of 100,000 lent pages costs a few
 * thousand small maps rather than a weak set of 100,000 objects the garbage collector must
 * walk.
 */
import { PAGE_SIZE } from './page.js';

const pagesOf = new WeakMap<ArrayBufferLike, Uint8Array>();

/** Whether `b` is exactly one page of its buffer (the only thing that can be frozen). */
function pageShaped(b: Uint8Array): boolean {
  return b.length === PAGE_SIZE && b.byteOffset % PAGE_SIZE === 0;
}

/** From now on the page `b` is never changed in place. `b` must be one whole, aligned page of its buffer. */
export function freeze(b: Uint8Array): void {
  if (!pageShaped(b)) throw new Error(`frozen: only a whole 4 KiB page of a buffer can be frozen (${b.length} bytes at ${b.byteOffset})`);
  let marks = pagesOf.get(b.buffer);
  if (marks === undefined) pagesOf.set(b.buffer, (marks = new Uint8Array(Math.ceil(b.buffer.byteLength / PAGE_SIZE))));
  marks[b.byteOffset / PAGE_SIZE] = 1;
}

/** Whether `b` is a frozen page (a view of one, exactly). */
export function isFrozen(b: Uint8Array): boolean {
  const marks = pagesOf.get(b.buffer);
  return marks !== undefined && pageShaped(b) && marks[b.byteOffset / PAGE_SIZE] === 1;
}
