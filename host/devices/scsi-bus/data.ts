/**
 * A request's data buffer as the HBA hands it over: a scatter-gather list over guest
 * memory (virtio-scsi's data-in or data-out descriptors, QEMU's QEMUSGList from
 * get_sg_list) or a plain Uint8Array (a test, or an HBA that bounces data).
 *
 * Transfers never run past either side: at most `size` bytes move, and the residual is
 * what the buffer had left (QEMU's dma_buf_read/dma_buf_write: residual = sg size minus
 * the bytes moved). Every sg address came from a queue that validated it against RAM.
 */
import { GuestMemory, PAGE_SIZE, type SgElem } from '../../../hw/memory.js';

export type ScsiData = Uint8Array | { readonly mem: GuestMemory; readonly sg: readonly SgElem[] };

export function dataSize(d: ScsiData | undefined): number {
  if (d === undefined) return 0;
  if (d instanceof Uint8Array) return d.length;
  let n = 0;
  for (const e of d.sg) n += e.len;
  return n;
}

/** Copy `src` into the buffer from offset `at`, as much as fits; returns bytes copied. */
export function dataWrite(d: ScsiData | undefined, at: number, src: Uint8Array): number {
  if (d === undefined || src.length === 0) return 0;
  if (d instanceof Uint8Array) {
    const n = Math.max(0, Math.min(src.length, d.length - at));
    d.set(src.subarray(0, n), at);
    return n;
  }
  let skip = at;
  let done = 0;
  for (const e of d.sg) {
    if (done === src.length) break;
    if (skip >= e.len) {
      skip -= e.len;
      continue;
    }
    const n = Math.min(e.len - skip, src.length - done);
    d.mem.write(e.addr + skip, src.subarray(done, done + n));
    done += n;
    skip = 0;
  }
  return done;
}

/**
 * The buffer's bytes [at, at+len) without copying when they lie in one piece (one sg
 * element within one guest page, or a Uint8Array): a view valid until guest memory next
 * changes, for a consumer that copies at once (QEMU maps guest memory into the iovec it
 * hands the block layer); a whole guest page is the page itself, lent (GuestMemory.lendPage).
 * Undefined when they do not; the caller then copies (dataRead).
 */
export function dataView(d: ScsiData | undefined, at: number, len: number): Uint8Array | undefined {
  if (d === undefined) return undefined;
  if (d instanceof Uint8Array) return at + len <= d.length ? d.subarray(at, at + len) : undefined;
  let skip = at;
  const sg = d.sg;
  for (let i = 0; i < sg.length; i++) {
    const e = sg[i];
    if (skip >= e.len) {
      skip -= e.len;
      continue;
    }
    if (skip + len > e.len) return undefined;
    const a = e.addr + skip;
    // A whole page is lent: the backend may keep it, and the guest's next write to it goes to a copy.
    const lent = len === PAGE_SIZE ? d.mem.lendPage(a) : undefined;
    if (lent !== undefined) return lent;
    const page = d.mem.pageForRead(a, len);
    if (page === undefined) return undefined;
    // a % PAGE_SIZE, with a floor: `%` on a double address (a descriptor's) is a slow float remainder.
    const off = a - Math.floor(a / PAGE_SIZE) * PAGE_SIZE;
    return page.subarray(off, off + len);
  }
  return undefined;
}

/** Fill `dst` from the buffer at offset `at`, as much as it holds; returns bytes copied. */
export function dataRead(d: ScsiData | undefined, at: number, dst: Uint8Array): number {
  if (d === undefined || dst.length === 0) return 0;
  if (d instanceof Uint8Array) {
    const n = Math.max(0, Math.min(dst.length, d.length - at));
    dst.set(d.subarray(at, at + n));
    return n;
  }
  let skip = at;
  let done = 0;
  for (const e of d.sg) {
    if (done === dst.length) break;
    if (skip >= e.len) {
      skip -= e.len;
      continue;
    }
    const n = Math.min(e.len - skip, dst.length - done);
    d.mem.readInto(e.addr + skip, dst.subarray(done, done + n));
    done += n;
    skip = 0;
  }
  return done;
}
