/**
 * A driver-side mock of a split virtqueue for device tests (rust-vmm virtio-queue's
 * `mock.rs` idea): lay a ring out in guest memory, write chains (direct, indirect or
 * both), publish them, and read back what the device put in the used ring. It writes
 * exactly the bytes a Linux driver would, through hw/virtio/split-ring.ts.
 *
 * `standaloneQueue` gives the device side of the same ring without a PCI transport: a
 * `SplitVirtqueue` whose interrupts and errors are recorded.
 *
 *   const mem = new GuestMemory(1 << 20);
 *   const drv = new MockSplitQueue(mem, { size: 16 });
 *   const { vq, interrupts } = standaloneQueue(mem, drv.ring);
 *   const head = drv.addChain([{ len: 16, data: hdr }, { len: 512, write: true }, { len: 1, write: true }]);
 *   drv.publish(head);
 *   const r = vq.pop();                     // { kind: 'elem', elem: { head, out: [..], in: [..] } }
 *   vq.push(r.elem, 513); vq.notify();
 *   drv.takeUsed();                          // [{ id: head, len: 513 }]
 */
import type { GuestMemory } from '../../../hw/memory.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../hw/virtio/constants.js';
import {
  availEvent,
  availRingBytes,
  descTableBytes,
  setAvailFlags,
  setAvailIdx,
  setAvailRing,
  setUsedEvent,
  usedElem,
  usedFlags,
  usedIdx,
  writeDesc,
  type SplitRingAddrs,
  type VirtqDesc,
} from '../../../hw/virtio/split-ring.js';
import { CostModel } from '../../../sim/costs.js';
import { Simulator } from '../../../sim/simulator.js';
import { Trace } from '../../../sim/trace.js';
import { SplitVirtqueue, type RingFeatures, type VirtqueueHost } from './virtqueue.js';

/** One buffer of a chain: placed at `addr` or allocated; `data` is copied in. */
export interface MockBuf {
  len: number;
  /** Device-writable (VIRTQ_DESC_F_WRITE). */
  write?: boolean;
  addr?: number;
  data?: Uint8Array;
}

export interface MockQueueOptions {
  size: number;
  /** Where the descriptor table goes (default 0x1000); avail and used follow it. */
  base?: number;
  /** Start of the bump allocator for buffers and indirect tables (default: after the used ring, 4 KiB aligned). */
  heapBase?: number;
}

const align = (x: number, a: number): number => Math.ceil(x / a) * a;

export class MockSplitQueue {
  readonly ring: SplitRingAddrs;
  private nextDesc = 0;
  private availIdx = 0;
  private lastUsed = 0;
  private heap: number;

  constructor(
    readonly mem: GuestMemory,
    opts: MockQueueOptions,
  ) {
    const size = opts.size;
    const desc = opts.base ?? 0x1000;
    const avail = desc + descTableBytes(size);
    const used = align(avail + availRingBytes(size), 4);
    this.ring = { size, desc, avail, used };
    this.heap = opts.heapBase ?? align(used + 6 + 8 * size, 4096);
  }

  /** Bump-allocate `len` bytes (16-aligned) of guest memory. */
  alloc(len: number): number {
    const a = align(this.heap, 16);
    this.heap = a + Math.max(len, 1);
    if (!this.mem.contains(a, len)) throw new Error(`mock queue: out of guest memory allocating ${len} bytes`);
    return a;
  }

  /** Write raw descriptor `i` (for building malformed rings). */
  writeDesc(i: number, d: VirtqDesc): void {
    writeDesc(this.mem, this.ring.desc, i, d);
  }

  /** Write `bufs` as a chain of direct descriptors; returns the head index. */
  addChain(bufs: MockBuf[]): number {
    const idx = bufs.map(() => this.takeDesc());
    this.writeChain(this.ring.desc, idx, bufs, false);
    return idx[0];
  }

  /**
   * Write `bufs` into an indirect table, reached by one INDIRECT descriptor that ends a
   * chain of `direct` descriptors (none by default, so the INDIRECT one is the head).
   */
  addIndirect(bufs: MockBuf[], direct: MockBuf[] = []): number {
    const table = this.alloc(16 * bufs.length);
    this.writeChain(table, bufs.map((_, k) => k), bufs, false);
    const idx = [...direct.map(() => this.takeDesc()), this.takeDesc()];
    this.writeChain(this.ring.desc, idx, direct, true);
    this.writeDesc(idx[idx.length - 1], { addr: table, len: 16 * bufs.length, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
    return idx[0];
  }

  /** Descriptors idx[k] of `table` ← bufs[k], linked in order; `more`: the last one links on to idx[n]. */
  private writeChain(table: number, idx: number[], bufs: MockBuf[], more: boolean): void {
    bufs.forEach((b, k) => {
      const next = k + 1 < bufs.length || more;
      const flags = (b.write ? VIRTQ_DESC_F_WRITE : 0) | (next ? VIRTQ_DESC_F_NEXT : 0);
      writeDesc(this.mem, table, idx[k], { addr: this.place(b), len: b.len, flags, next: next ? idx[k + 1] : 0 });
    });
  }

  /** Put `heads` in the avail ring and publish them with one avail idx write (virtqueue_add + kick_prepare's barrier). */
  publish(...heads: number[]): void {
    for (const h of heads) setAvailRing(this.mem, this.ring, this.availIdx++, h);
    this.availIdx &= 0xffff;
    setAvailIdx(this.mem, this.ring, this.availIdx);
  }

  /**
   * Pretend the ring has already carried `idx` buffers: avail idx and used idx both at
   * `idx` (the device side must agree: set its lastAvailIdx and usedIdx too).
   */
  startAt(idx: number): void {
    this.setAvailIdx(idx);
    this.lastUsed = idx & 0xffff;
    this.mem.write16(this.ring.used + 2, idx & 0xffff);
  }

  /** Set avail idx to anything (for malformed rings). */
  setAvailIdx(v: number): void {
    this.availIdx = v & 0xffff;
    setAvailIdx(this.mem, this.ring, this.availIdx);
  }

  setAvailFlags(v: number): void {
    setAvailFlags(this.mem, this.ring, v);
  }

  /** used_event (EVENT_IDX): interrupt me once the used idx passes `v`. */
  setUsedEvent(v: number): void {
    setUsedEvent(this.mem, this.ring, v);
  }

  /** avail_event as the device last wrote it. */
  availEvent(): number {
    return availEvent(this.mem, this.ring);
  }

  usedFlags(): number {
    return usedFlags(this.mem, this.ring);
  }

  usedIdx(): number {
    return usedIdx(this.mem, this.ring);
  }

  /** The used entries added since the last call, in order. */
  takeUsed(): { id: number; len: number }[] {
    const out: { id: number; len: number }[] = [];
    const idx = this.usedIdx();
    while (this.lastUsed !== idx) {
      out.push(usedElem(this.mem, this.ring, this.lastUsed));
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  private takeDesc(): number {
    const i = this.nextDesc;
    this.nextDesc = (this.nextDesc + 1) % this.ring.size;
    return i;
  }

  private place(b: MockBuf): number {
    const addr = b.addr ?? this.alloc(b.len);
    if (b.data) this.mem.write(addr, b.data.subarray(0, b.len));
    return addr;
  }
}

/** A device-side queue on `ring` with no transport: interrupts and errors are recorded. */
export function standaloneQueue(
  mem: GuestMemory,
  ring: SplitRingAddrs,
  opts: { features?: Partial<RingFeatures>; sim?: Simulator; costs?: CostModel; trace?: Trace; devName?: string; index?: number } = {},
): { vq: SplitVirtqueue; sim: Simulator; trace: Trace; interrupts: number[]; errors: string[] } {
  const sim = opts.sim ?? new Simulator();
  const trace = opts.trace ?? new Trace();
  const interrupts: number[] = [];
  const errors: string[] = [];
  const features: RingFeatures = { eventIdx: false, indirectDesc: true, notifyOnEmpty: false, ...opts.features };
  const host: VirtqueueHost = {
    deviceError: (_vq, message) => void errors.push(message),
    queueInterrupt: () => void interrupts.push(sim.now),
  };
  const env = { sim, costs: opts.costs ?? new CostModel(), trace, devName: opts.devName ?? 'test-vq' };
  const vq = new SplitVirtqueue(opts.index ?? 0, mem, env, host, features, ring.size);
  vq.setRings(ring.size, ring.desc, ring.avail, ring.used);
  return { vq, sim, trace, interrupts, errors };
}
