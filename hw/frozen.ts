/**
 * Frozen buffers: bytes nobody changes in place any more, so whoever is handed one may keep
 * it instead of copying it. Guest memory freezes a page it lends to a device for a write
 * (`GuestMemory.lendPage`); the host's cache then keeps the page as the chunk it would
 * otherwise have copied it into. Every writer that could hold such a buffer copies it
 * before changing it: guest memory gives the guest a fresh copy of a frozen page on its
 * next write to it, the host's cache and the memory driver's store copy a frozen chunk
 * before writing into it, and neither hands a frozen buffer back for reuse.
 *
 * This is how the simulator avoids copying every written block once more than the system it
 * models does — like copy-on-write after fork, it changes who owns the bytes, never what
 * anyone reads. Nothing is ever unfrozen; a page the host let go of costs the guest one copy
 * at most.
 */
const frozen = new WeakSet<Uint8Array>();

/** From now on `b` is never changed in place. */
export function freeze(b: Uint8Array): void {
  frozen.add(b);
}

export function isFrozen(b: Uint8Array): boolean {
  return frozen.has(b);
}
