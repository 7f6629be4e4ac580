/**
 * Scatter-gather helpers in the shape of QEMU's iov_discard_front / iov_discard_back /
 * iov_to_buf / iov_from_buf, over guest-physical SgElem lists. Every address comes from a
 * VirtqElement the queue already validated; lengths are only ever cut down, so nothing
 * here can reach outside RAM. No per-byte loops: each element is one block copy.
 */
import type { GuestMemory, SgElem } from '../../../hw/memory.js';

/** The list after its first `n` bytes (iov_discard_front). Empty elements are dropped. */
export function sgDropFront(sg: readonly SgElem[], n: number): SgElem[] {
  let first = 0;
  let skip = n;
  while (first < sg.length && skip >= sg[first].len) skip -= sg[first++].len;
  const out = sg.slice(first);
  if (skip > 0 && out.length > 0) out[0] = { addr: out[0].addr + skip, len: out[0].len - skip };
  return withoutEmpty(out);
}

/** The list without its last `n` bytes (iov_discard_back). Empty elements are dropped. */
export function sgDropBack(sg: readonly SgElem[], n: number): SgElem[] {
  let end = sg.length;
  let cut = n;
  while (end > 0 && cut >= sg[end - 1].len) cut -= sg[--end].len;
  const out = sg.slice(0, end);
  if (cut > 0 && end > 0) out[end - 1] = { addr: out[end - 1].addr, len: out[end - 1].len - cut };
  return withoutEmpty(out);
}

/** `sg` itself when no element is empty (the usual case: a queue refuses empty buffers), else a filtered copy. */
function withoutEmpty(sg: SgElem[]): SgElem[] {
  for (let i = 0; i < sg.length; i++) if (sg[i].len === 0) return sg.filter((e) => e.len > 0);
  return sg;
}

/** Copy up to `dst.length` bytes from the front of `sg` into `dst` (iov_to_buf); returns bytes copied. */
export function sgReadPrefix(mem: GuestMemory, sg: readonly SgElem[], dst: Uint8Array): number {
  let off = 0;
  for (let i = 0; i < sg.length && off < dst.length; i++) {
    const n = Math.min(sg[i].len, dst.length - off);
    mem.readInto(sg[i].addr, dst.subarray(off, off + n));
    off += n;
  }
  return off;
}

/** Gather all of `sg` into `dst` at `at` (dst has room: the caller sized it from the list). */
export function sgGatherInto(mem: GuestMemory, sg: readonly SgElem[], dst: Uint8Array, at: number): void {
  let off = at;
  for (let i = 0; i < sg.length; i++) {
    const len = sg[i].len;
    mem.readInto(sg[i].addr, dst.subarray(off, off + len));
    off += len;
  }
}
