/**
 * The split virtqueue, byte for byte (virtio 1.x §2.7, split-ring.tex):
 *
 *   Descriptor Table (align 16): QueueSize × struct virtq_desc
 *       +0  le64 addr   +8 le32 len   +12 le16 flags   +14 le16 next      (16 bytes)
 *   Available Ring   (align 2):
 *       +0  le16 flags  +2 le16 idx   +4 le16 ring[QueueSize]   +4+2·QS le16 used_event
 *   Used Ring        (align 4):
 *       +0  le16 flags  +2 le16 idx   +4 struct virtq_used_elem ring[QueueSize] (le32 id, le32 len)
 *       +4+8·QS le16 avail_event
 *
 * The three parts live at addresses the driver chooses (queue_desc, queue_driver,
 * queue_device). Both the driver (guest/) and the device (host/) read and write them
 * through these helpers and nothing else, with guest memory passed in.
 */
import { PAGE_SIZE, type GuestMemory } from '../memory.js';

export const VIRTQ_DESC_SIZE = 16;
export const VIRTQ_USED_ELEM_SIZE = 8;

export const descTableBytes = (qsz: number): number => VIRTQ_DESC_SIZE * qsz;
export const availRingBytes = (qsz: number): number => 6 + 2 * qsz;
export const usedRingBytes = (qsz: number): number => 6 + VIRTQ_USED_ELEM_SIZE * qsz;

/** Where one split queue lives in guest memory. */
export interface SplitRingAddrs {
  size: number;
  desc: number;
  avail: number;
  used: number;
}

export interface VirtqDesc {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

/* Descriptor table */
export function readDesc(mem: GuestMemory, table: number, i: number): VirtqDesc {
  const a = table + i * VIRTQ_DESC_SIZE;
  return { addr: mem.read64(a), len: mem.read32(a + 8), flags: mem.read16(a + 12), next: mem.read16(a + 14) };
}

export function writeDesc(mem: GuestMemory, table: number, i: number, d: VirtqDesc): void {
  writeDescAt(mem, table + i * VIRTQ_DESC_SIZE, d.addr, d.len, d.flags, d.next);
}

/** Write one struct virtq_desc at guest address `a`: in place when it lies in one page (it always does in a 16-aligned table). */
export function writeDescAt(mem: GuestMemory, a: number, addr: number, len: number, flags: number, next: number): void {
  const p = mem.pageForWrite(a, VIRTQ_DESC_SIZE);
  if (p === undefined) {
    mem.write64(a, addr);
    mem.write32(a + 8, len);
    mem.write16(a + 12, flags);
    mem.write16(a + 14, next);
    return;
  }
  const o = a % PAGE_SIZE;
  const lo = addr % 0x1_0000_0000;
  const hi = Math.floor(addr / 0x1_0000_0000);
  p[o] = lo;
  p[o + 1] = lo >>> 8;
  p[o + 2] = lo >>> 16;
  p[o + 3] = lo >>> 24;
  p[o + 4] = hi;
  p[o + 5] = hi >>> 8;
  p[o + 6] = hi >>> 16;
  p[o + 7] = hi >>> 24;
  p[o + 8] = len;
  p[o + 9] = len >>> 8;
  p[o + 10] = len >>> 16;
  p[o + 11] = len >>> 24;
  p[o + 12] = flags;
  p[o + 13] = flags >>> 8;
  p[o + 14] = next;
  p[o + 15] = next >>> 8;
}

/* Available ring */
export const availFlags = (mem: GuestMemory, r: SplitRingAddrs): number => mem.read16(r.avail);
export const setAvailFlags = (mem: GuestMemory, r: SplitRingAddrs, v: number): void => mem.write16(r.avail, v);
export const availIdx = (mem: GuestMemory, r: SplitRingAddrs): number => mem.read16(r.avail + 2);
export const setAvailIdx = (mem: GuestMemory, r: SplitRingAddrs, v: number): void => mem.write16(r.avail + 2, v & 0xffff);
export const availRing = (mem: GuestMemory, r: SplitRingAddrs, slot: number): number => mem.read16(r.avail + 4 + 2 * (slot % r.size));
export const setAvailRing = (mem: GuestMemory, r: SplitRingAddrs, slot: number, head: number): void =>
  mem.write16(r.avail + 4 + 2 * (slot % r.size), head);
/** used_event: written by the driver, read by the device (EVENT_IDX). */
export const usedEvent = (mem: GuestMemory, r: SplitRingAddrs): number => mem.read16(r.avail + 4 + 2 * r.size);
export const setUsedEvent = (mem: GuestMemory, r: SplitRingAddrs, v: number): void => mem.write16(r.avail + 4 + 2 * r.size, v & 0xffff);

/* Used ring */
export const usedFlags = (mem: GuestMemory, r: SplitRingAddrs): number => mem.read16(r.used);
export const setUsedFlags = (mem: GuestMemory, r: SplitRingAddrs, v: number): void => mem.write16(r.used, v);
export const usedIdx = (mem: GuestMemory, r: SplitRingAddrs): number => mem.read16(r.used + 2);
export const setUsedIdx = (mem: GuestMemory, r: SplitRingAddrs, v: number): void => mem.write16(r.used + 2, v & 0xffff);
export function usedElem(mem: GuestMemory, r: SplitRingAddrs, slot: number): { id: number; len: number } {
  const a = r.used + 4 + VIRTQ_USED_ELEM_SIZE * (slot % r.size);
  return { id: mem.read32(a), len: mem.read32(a + 4) };
}
export function setUsedElem(mem: GuestMemory, r: SplitRingAddrs, slot: number, id: number, len: number): void {
  const a = r.used + 4 + VIRTQ_USED_ELEM_SIZE * (slot % r.size);
  mem.write32(a, id);
  mem.write32(a + 4, len);
}
/** avail_event: written by the device, read by the driver (EVENT_IDX). */
export const availEvent = (mem: GuestMemory, r: SplitRingAddrs): number => mem.read16(r.used + 4 + VIRTQ_USED_ELEM_SIZE * r.size);
export const setAvailEvent = (mem: GuestMemory, r: SplitRingAddrs, v: number): void =>
  mem.write16(r.used + 4 + VIRTQ_USED_ELEM_SIZE * r.size, v & 0xffff);

/**
 * vring_need_event (virtio 1.x §2.7.7.2; Linux include/uapi/linux/virtio_ring.h):
 * should the side that moved its index from `old` to `newIdx` notify, given the other
 * side asked to be told once the index passes `eventIdx`? All arithmetic is mod 2^16.
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, old: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - old) & 0xffff);
}

/** A queue size is valid for a split ring when it is a power of two in [1, 32768]. */
export function isValidQueueSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 32768 && (n & (n - 1)) === 0;
}
