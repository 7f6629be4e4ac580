/**
 * DMA between guest memory and a device's buffers over scatter-gather lists: what a
 * device model does with the guest-physical ranges a descriptor chain names.
 */
import type { GuestMemory, SgElem } from './memory.js';

/** Total bytes of a scatter-gather list. */
export function sgBytes(sg: readonly SgElem[]): number {
  let n = 0;
  for (const e of sg) n += e.len;
  return n;
}

/** DMA from guest memory: gather `sg` into one buffer. The caller has checked the ranges. */
export function dmaGather(mem: GuestMemory, sg: readonly SgElem[]): Uint8Array {
  if (sg.length === 1) return mem.read(sg[0].addr, sg[0].len);
  const out = new Uint8Array(sgBytes(sg));
  let off = 0;
  for (const e of sg) {
    mem.readInto(e.addr, out.subarray(off, off + e.len));
    off += e.len;
  }
  return out;
}

/** DMA to guest memory: scatter `data` over `sg`. Returns bytes written (stops at the shorter). */
export function dmaScatter(mem: GuestMemory, sg: readonly SgElem[], data: Uint8Array): number {
  let off = 0;
  for (const e of sg) {
    if (off >= data.length) break;
    const n = Math.min(e.len, data.length - off);
    mem.write(e.addr, data.subarray(off, off + n));
    off += n;
  }
  return off;
}
