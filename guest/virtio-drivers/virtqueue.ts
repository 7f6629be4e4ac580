/**
 * The driver side of a split virtqueue with Linux's verbs (drivers/virtio/virtio_ring.c):
 * `addSgs`, `kickPrepare`, `notify`, `getBuf`, `disableCb`, `enableCb`, `isBroken`.
 *
 * Free descriptors are chained through a shadow `next` array (Linux's desc_extra); the
 * driver keeps shadows of what it published (avail idx, avail flags) and reads what
 * the device wrote (used idx, used ring, avail_event) from guest memory.
 */
import type { GuestMemory, SgElem } from '../../hw/memory.js';
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
} from '../../hw/virtio/constants.js';
import {
  VIRTQ_DESC_SIZE,
  VIRTQ_USED_ELEM_SIZE,
  availEvent,
  availRingBytes,
  descTableBytes,
  setAvailFlags,
  setAvailIdx,
  setAvailRing,
  setUsedEvent,
  usedFlags,
  usedIdx,
  usedRingBytes,
  vringNeedEvent,
  writeDescAt,
  type SplitRingAddrs,
} from '../../hw/virtio/split-ring.js';
import type { DmaAllocator } from '../kernel/dma-alloc.js';

export interface VirtqueueOptions {
  eventIdx: boolean;
  indirect: boolean;
  /** Charge `n` descriptors' worth of guest CPU time. */
  chargeDescs(n: number): void;
  /** Write the doorbell (virtio-pci: a write to this queue's notify address). */
  notify(): void;
}

/** What the driver keeps about a chain it exposed, per head (Linux's vring_desc_state); reused, `live` while exposed. */
interface InFlight<T> {
  live: boolean;
  token: T | undefined;
  ndescs: number;
  indirect: number;
  indirectBytes: number;
}

export class DriverVirtqueue<T> {
  readonly ring: SplitRingAddrs;
  private readonly nextFree: Uint16Array;
  private freeHead = 0;
  numFree: number;
  private readonly inflight: InFlight<T>[];
  private availIdxShadow = 0;
  private numAdded = 0;
  private lastUsedIdx = 0;
  private availFlagsShadow = 0;
  private broken = false;

  constructor(
    private readonly mem: GuestMemory,
    private readonly alloc: DmaAllocator,
    readonly index: number,
    readonly size: number,
    private readonly opts: VirtqueueOptions,
  ) {
    this.ring = {
      size,
      desc: alloc.alloc(descTableBytes(size), 16),
      avail: alloc.alloc(availRingBytes(size), 2),
      used: alloc.alloc(usedRingBytes(size), 4),
    };
    mem.fill(this.ring.desc, descTableBytes(size));
    mem.fill(this.ring.avail, availRingBytes(size));
    mem.fill(this.ring.used, usedRingBytes(size));
    this.numFree = size;
    this.nextFree = new Uint16Array(size);
    for (let i = 0; i < size; i++) this.nextFree[i] = i + 1;
    this.inflight = Array.from({ length: size }, () => ({ live: false, token: undefined, ndescs: 0, indirect: 0, indirectBytes: 0 }));
  }

  isBroken(): boolean {
    return this.broken;
  }

  /**
   * virtqueue_add_sgs: expose `out` (device-readable) then `in` (device-writable) buffers
   * as one chain. Uses an indirect table when negotiated and there is more than one
   * buffer. Returns false when the ring has no room (-ENOSPC).
   */
  addSgs(out: readonly SgElem[], inb: readonly SgElem[], token: T): boolean {
    const total = out.length + inb.length;
    if (this.broken || total === 0) return false;
    const mem = this.mem;
    const useIndirect = this.opts.indirect && total > 1 && this.numFree > 0;
    const needed = useIndirect ? 1 : total;
    if (this.numFree < needed) return false;
    const head = this.freeHead;
    let indirect = 0;
    let indirectBytes = 0;
    if (useIndirect) {
      indirectBytes = total * VIRTQ_DESC_SIZE;
      indirect = this.alloc.alloc(indirectBytes, 16);
      let i = 0;
      for (const e of out) writeDescAt(mem, indirect + i * VIRTQ_DESC_SIZE, e.addr, e.len, i + 1 < total ? VIRTQ_DESC_F_NEXT : 0, i + 1), i++;
      for (const e of inb) writeDescAt(mem, indirect + i * VIRTQ_DESC_SIZE, e.addr, e.len, VIRTQ_DESC_F_WRITE | (i + 1 < total ? VIRTQ_DESC_F_NEXT : 0), i + 1), i++;
      writeDescAt(mem, this.ring.desc + head * VIRTQ_DESC_SIZE, indirect, indirectBytes, VIRTQ_DESC_F_INDIRECT, 0);
      this.freeHead = this.nextFree[head];
    } else {
      let idx = head;
      const nOut = out.length;
      for (let i = 0; i < total; i++) {
        const e = i < nOut ? out[i] : inb[i - nOut];
        const isLast = i === total - 1;
        const flags = (i >= nOut ? VIRTQ_DESC_F_WRITE : 0) | (isLast ? 0 : VIRTQ_DESC_F_NEXT);
        const next = this.nextFree[idx];
        writeDescAt(mem, this.ring.desc + idx * VIRTQ_DESC_SIZE, e.addr, e.len, flags, isLast ? 0 : next);
        if (isLast) this.freeHead = next;
        idx = next;
      }
    }
    this.numFree -= needed;
    const f = this.inflight[head];
    f.live = true;
    f.token = token;
    f.ndescs = needed;
    f.indirect = indirect;
    f.indirectBytes = indirectBytes;
    setAvailRing(mem, this.ring, this.availIdxShadow, head);
    this.availIdxShadow = (this.availIdxShadow + 1) & 0xffff;
    // Barrier, then publish the new avail index.
    setAvailIdx(mem, this.ring, this.availIdxShadow);
    this.numAdded++;
    this.opts.chargeDescs(total + 1);
    return true;
  }

  /** virtqueue_kick_prepare: should the device be notified of what was added since the last kick? */
  kickPrepare(): boolean {
    const newIdx = this.availIdxShadow;
    const old = (newIdx - this.numAdded) & 0xffff;
    this.numAdded = 0;
    if (this.opts.eventIdx) return vringNeedEvent(availEvent(this.mem, this.ring), newIdx, old);
    return (usedFlags(this.mem, this.ring) & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  /** virtqueue_notify: ring the doorbell. */
  notify(): void {
    if (!this.broken) this.opts.notify();
  }

  /** virtqueue_kick: prepare and notify if needed. Returns whether it notified. */
  kick(): boolean {
    const n = this.kickPrepare();
    if (n) this.notify();
    return n;
  }

  /** Has the device used buffers the driver has not collected? */
  moreUsed(): boolean {
    return !this.broken && usedIdx(this.mem, this.ring) !== this.lastUsedIdx;
  }

  /** virtqueue_get_buf: the next used buffer's token and written length, or undefined. */
  getBuf(): { token: T; len: number } | undefined {
    if (!this.moreUsed()) return undefined;
    // struct virtq_used_elem { le32 id; le32 len; }, read in place.
    const e = this.ring.used + 4 + VIRTQ_USED_ELEM_SIZE * (this.lastUsedIdx % this.size);
    const id = this.mem.read32(e);
    const len = this.mem.read32(e + 4);
    const f = id < this.size ? this.inflight[id] : undefined;
    if (f === undefined || !f.live) {
      // "id %u is not a head!": the device misbehaved; the queue is broken for good.
      this.broken = true;
      return undefined;
    }
    const token = f.token as T;
    f.live = false;
    f.token = undefined;
    this.freeChain(id, f.ndescs);
    if (f.indirect) this.alloc.free(f.indirect, f.indirectBytes, 16);
    this.lastUsedIdx = (this.lastUsedIdx + 1) & 0xffff;
    // With EVENT_IDX and callbacks enabled, keep used_event at what we have consumed.
    if (this.opts.eventIdx && !(this.availFlagsShadow & VIRTQ_AVAIL_F_NO_INTERRUPT)) setUsedEvent(this.mem, this.ring, this.lastUsedIdx);
    return { token, len };
  }

  private freeChain(head: number, ndescs: number): void {
    let last = head;
    for (let i = 1; i < ndescs; i++) last = this.nextFree[last];
    this.nextFree[last] = this.freeHead;
    this.freeHead = head;
    this.numFree += ndescs;
  }

  /** virtqueue_disable_cb: ask the device not to interrupt (a hint). */
  disableCb(): void {
    if (this.availFlagsShadow & VIRTQ_AVAIL_F_NO_INTERRUPT) return;
    this.availFlagsShadow |= VIRTQ_AVAIL_F_NO_INTERRUPT;
    // With EVENT_IDX Linux leaves avail->flags alone and parks used_event (0) instead.
    if (this.opts.eventIdx) setUsedEvent(this.mem, this.ring, 0);
    else setAvailFlags(this.mem, this.ring, this.availFlagsShadow);
  }

  /**
   * virtqueue_enable_cb: re-enable interrupts and re-check the used ring. Returns false
   * when buffers arrived meanwhile: the caller must drain again (the lost-interrupt race).
   */
  enableCb(): boolean {
    if (this.availFlagsShadow & VIRTQ_AVAIL_F_NO_INTERRUPT) {
      this.availFlagsShadow &= ~VIRTQ_AVAIL_F_NO_INTERRUPT;
      if (!this.opts.eventIdx) setAvailFlags(this.mem, this.ring, this.availFlagsShadow);
    }
    if (this.opts.eventIdx) setUsedEvent(this.mem, this.ring, this.lastUsedIdx);
    return !this.moreUsed();
  }
}
