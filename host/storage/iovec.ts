/**
 * A write's data in pieces, QEMU's QEMUIOVector: the guest buffers of several requests
 * merged into one (virtio-blk's multireq), each piece a view of guest memory where it lies.
 * A driver that stores bytes piece by piece (the memory driver's cache, raw passing them
 * down) takes the pieces as they are; for any other, the generic layer gathers them into
 * one buffer first — the copy QEMU's bounce buffers make when a driver needs contiguous data.
 */
export interface IoVec {
  readonly parts: readonly Uint8Array[];
  /** The sum of the parts' lengths. */
  readonly bytes: number;
}

/** The pieces of `v` gathered into one buffer. */
export function gatherIoVec(v: IoVec): Uint8Array {
  if (v.parts.length === 1) return v.parts[0];
  const out = new Uint8Array(v.bytes);
  let at = 0;
  for (const p of v.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
