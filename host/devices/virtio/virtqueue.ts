/**
 * The device side of a split virtqueue (virtio 1.x §2.7, split-ring.tex), as QEMU's
 * hw/virtio/virtio.c runs it: virtqueue_pop, virtqueue_push (fill + flush),
 * virtio_should_notify, virtio_queue_set_notification. Layout: hw/virtio/split-ring.ts.
 *
 * Guest memory is trusted for nothing. The three ring areas are checked to lie inside
 * RAM once, when the driver enables the queue (QEMU's virtio_init_region_cache: "Cannot
 * map desc/avail/used"); every buffer and indirect table is checked with
 * `mem.contains` before it is used. So no access here can leave RAM, and nothing the
 * guest wrote can throw: a malformed ring makes `pop` answer `broken`, reports the
 * error to the transport (DEVICE_NEEDS_RESET, QEMU's virtio_error) and the queue
 * refuses everything until the device is reset.
 *
 * The rules `pop` checks, with QEMU's messages where QEMU has one:
 * - avail idx more than the queue size ahead of last_avail_idx ("Guest moved index");
 * - more chains in flight than the queue size ("Virtqueue size exceeded");
 * - a head ≥ size ("Guest says index N is available"), a next ≥ the table size ("Desc next is N");
 * - more descriptors than the table holds ("Looped descriptor");
 * - a zero-length buffer ("zero sized buffers are not allowed": QEMU refuses these in
 *   virtqueue_map_desc) or one not inside RAM ("bogus descriptor");
 * - a device-readable buffer after a device-writable one ("Incorrect order for descriptors");
 * - more than 1024 buffers in one chain (QEMU's VIRTQUEUE_MAX_SIZE sg limit);
 * - INDIRECT without VIRTIO_F_INDIRECT_DESC, INDIRECT with NEXT, INDIRECT inside an
 *   indirect table, or a table whose length is 0, not a multiple of 16 or not in RAM.
 * Where QEMU is laxer than the spec's driver rules (it ignores INDIRECT past the head and
 * does not check the feature bit) we follow the spec and refuse. As the spec requires,
 * an INDIRECT descriptor may end a chain of direct ones, not only head it.
 *
 * Costs: 'qemu.vq.pop' per pop that finds a chain, 'qemu.vq.desc' per descriptor read,
 * 'qemu.vq.push' per push, charged to whoever runs (sim.advance).
 */
import { PAGE_SIZE, type GuestMemory, type SgElem } from '../../../hw/memory.js';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY } from '../../../hw/virtio/constants.js';
import { availRingBytes, descTableBytes, usedRingBytes, vringNeedEvent } from '../../../hw/virtio/split-ring.js';
import { QEMU_VIRTQUEUE_MAX_SIZE, type RingFeatures, type VirtqueueEnv, type VirtqueueHost } from './queue-host.js';
import type { DeviceVirtqueue, PopResult, VirtqElement } from './types.js';

export { QEMU_VIRTQUEUE_MAX_SIZE, type RingFeatures, type VirtqueueEnv, type VirtqueueHost } from './queue-host.js';

/** The le32 at `o` in `p`. */
function le32(p: Uint8Array, o: number): number {
  return (p[o] | (p[o + 1] << 8) | (p[o + 2] << 16) | (p[o + 3] << 24)) >>> 0;
}

/**
 * A popped chain, stamped with the queue's reset epoch so a stale element is never pushed.
 * It is also its own `pop` answer ({ kind: 'elem', elem }), so a pop makes one record, not two.
 */
class Elem implements VirtqElement {
  readonly kind = 'elem';
  readonly elem: VirtqElement = this;
  readonly in: SgElem[];
  constructor(
    readonly head: number,
    readonly out: SgElem[],
    inn: SgElem[],
    readonly ndescs: number,
    readonly epoch: number,
  ) {
    this.in = inn;
  }
}

const EMPTY: PopResult = { kind: 'empty' };

export class SplitVirtqueue implements DeviceVirtqueue {
  size: number;
  /** Guest-physical addresses of the three parts (valid while `ready`). */
  desc = 0;
  avail = 0;
  used = 0;
  ready = false;
  /** QEMU's VirtQueue fields, under QEMU's names. */
  lastAvailIdx = 0;
  shadowAvailIdx = 0;
  usedIdx = 0;
  signalledUsed = 0;
  signalledUsedValid = false;
  notification = true;
  inuse = 0;
  broken = false;
  brokenMessage = '';
  private epoch = 0;
  private pendingUsed = 0;
  /**
   * Where `walk` collects a chain's buffers before copying them into the element's
   * exactly-sized lists (a list grown by push from empty reserves room for 16).
   */
  private readonly walkOut: SgElem[] = [];
  private readonly walkIn: SgElem[] = [];
  private readonly popNs: number;
  private readonly descNs: number;
  private readonly pushNs: number;

  constructor(
    readonly index: number,
    readonly mem: GuestMemory,
    private readonly env: VirtqueueEnv,
    private readonly host: VirtqueueHost,
    readonly features: RingFeatures,
    size: number,
  ) {
    this.size = size;
    this.popNs = env.costs.ns('qemu.vq.pop');
    this.descNs = env.costs.ns('qemu.vq.desc');
    this.pushNs = env.costs.ns('qemu.vq.push');
  }

  /**
   * The driver enabled the queue with these addresses (virtio_queue_set_rings). A desc
   * address of 0 leaves the queue not set up, as in QEMU; parts outside RAM break the device.
   */
  setRings(size: number, desc: number, avail: number, used: number): void {
    this.size = size;
    this.desc = desc;
    this.avail = avail;
    this.used = used;
    this.ready = false;
    if (desc === 0 || size === 0) return;
    const mem = this.mem;
    if (!mem.contains(desc, descTableBytes(size))) return void this.fail('Cannot map desc');
    if (!mem.contains(used, usedRingBytes(size))) return void this.fail('Cannot map used');
    if (!mem.contains(avail, availRingBytes(size))) return void this.fail('Cannot map avail');
    this.ready = true;
  }

  /** virtio_reset for one queue: forget the rings and every index; in-flight elements go stale. */
  reset(size: number): void {
    this.size = size;
    this.desc = this.avail = this.used = 0;
    this.ready = false;
    this.lastAvailIdx = this.shadowAvailIdx = this.usedIdx = this.signalledUsed = 0;
    this.signalledUsedValid = false;
    this.notification = true;
    this.inuse = 0;
    this.broken = false;
    this.brokenMessage = '';
    this.pendingUsed = 0;
    this.epoch++;
  }

  /** Stop this queue because the device is broken (virtio_error on any queue). */
  markBroken(message: string): void {
    if (this.broken) return;
    this.broken = true;
    this.brokenMessage = message;
  }

  isEmpty(): boolean {
    if (!this.ready || this.broken) return true;
    if (this.shadowAvailIdx !== this.lastAvailIdx) return false;
    this.shadowAvailIdx = this.mem.read16(this.avail + 2);
    return this.shadowAvailIdx === this.lastAvailIdx;
  }

  pop(): PopResult {
    if (this.broken) return { kind: 'broken', message: this.brokenMessage };
    if (!this.ready) return EMPTY;
    const mem = this.mem;
    const size = this.size;
    const last = this.lastAvailIdx;
    const availIdx = mem.read16(this.avail + 2);
    this.shadowAvailIdx = availIdx;
    const pending = (availIdx - last) & 0xffff;
    if (pending === 0) return EMPTY;
    this.env.sim.advance(this.popNs);
    if (pending > size) return this.fail(`Guest moved index from ${last} to ${availIdx}`);
    if (this.inuse >= size) return this.fail('Virtqueue size exceeded');
    const head = mem.read16(this.avail + 4 + 2 * (last & (size - 1)));
    this.lastAvailIdx = (last + 1) & 0xffff;
    if (head >= size) return this.fail(`Guest says index ${head} is available`);
    if (this.features.eventIdx && this.notification) mem.write16(this.used + 4 + 8 * size, this.lastAvailIdx);
    return this.walk(head);
  }

  /** Collect one chain from `head`: direct descriptors, optionally ending in one indirect table. */
  private walk(head: number): PopResult {
    const mem = this.mem;
    const out = this.walkOut;
    const inn = this.walkIn;
    let nOut = 0;
    let nIn = 0;
    let table = this.desc;
    let max = this.size;
    let i = head;
    let count = 0;
    let ndescs = 0;
    let indirect = false;
    for (;;) {
      const a = table + 16 * i;
      // One page lookup per descriptor when it lies in one page (it does when the table is aligned as the spec says).
      const p = mem.pageForRead(a, 16);
      const o = a % PAGE_SIZE;
      const addr = p === undefined ? mem.read64(a) : le32(p, o + 4) * 0x1_0000_0000 + le32(p, o);
      const len = p === undefined ? mem.read32(a + 8) : le32(p, o + 8);
      const flags = p === undefined ? mem.read16(a + 12) : p[o + 12] | (p[o + 13] << 8);
      ndescs++;
      if (++count > max) return this.failWalk(ndescs, 'Looped descriptor');
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.features.indirectDesc) return this.failWalk(ndescs, 'Indirect descriptor but VIRTIO_F_INDIRECT_DESC was not negotiated');
        if (indirect) return this.failWalk(ndescs, 'Nested indirect descriptor');
        if (flags & VIRTQ_DESC_F_NEXT) return this.failWalk(ndescs, 'Indirect descriptor with VIRTQ_DESC_F_NEXT set');
        if (len === 0 || len % 16 !== 0) return this.failWalk(ndescs, 'Invalid size for indirect buffer table');
        if (!mem.contains(addr, len)) return this.failWalk(ndescs, 'Cannot map indirect buffer');
        table = addr;
        max = len / 16;
        i = 0;
        count = 0;
        indirect = true;
        continue;
      }
      if (len === 0) return this.failWalk(ndescs, 'virtio: zero sized buffers are not allowed');
      if (!mem.contains(addr, len)) return this.failWalk(ndescs, 'virtio: bogus descriptor or out of resources');
      if (nOut + nIn >= QEMU_VIRTQUEUE_MAX_SIZE) return this.failWalk(ndescs, `More than ${QEMU_VIRTQUEUE_MAX_SIZE} buffers in one chain`);
      if (flags & VIRTQ_DESC_F_WRITE) inn[nIn++] = { addr, len };
      else if (nIn > 0) return this.failWalk(ndescs, 'Incorrect order for descriptors');
      else out[nOut++] = { addr, len };
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      const next = p === undefined ? mem.read16(a + 14) : p[o + 14] | (p[o + 15] << 8);
      if (next >= max) return this.failWalk(ndescs, `Desc next is ${next}`);
      i = next;
    }
    this.env.sim.advance(ndescs * this.descNs);
    this.inuse++;
    return new Elem(head, out.slice(0, nOut), inn.slice(0, nIn), ndescs, this.epoch);
  }

  /**
   * virtqueue_push: write the used element and publish the used index. A no-op once the
   * device is broken or reset (an element from before a reset is never written back).
   */
  push(elem: VirtqElement, len: number): void {
    if (this.broken || !this.ready) return;
    const epoch = (elem as Partial<Elem>).epoch;
    if (epoch !== undefined && epoch !== this.epoch) return;
    const mem = this.mem;
    const old = this.usedIdx;
    const a = this.used + 4 + 8 * (old & (this.size - 1));
    mem.write32(a, elem.head);
    mem.write32(a + 4, len >>> 0);
    const nu = (old + 1) & 0xffff;
    mem.write16(this.used + 2, nu);
    this.usedIdx = nu;
    if (this.inuse > 0) this.inuse--;
    // virtqueue_flush: the used index passed the one we last signalled on → forget it.
    if (((((nu - this.signalledUsed) << 16) >> 16) | 0) < ((nu - old) & 0xffff)) this.signalledUsedValid = false;
    this.pendingUsed++;
    this.env.sim.advance(this.pushNs);
  }

  /**
   * virtio_notify: decide (virtio_split_should_notify), record the decision as a `used`
   * trace event, and raise the interrupt through the transport when it is wanted.
   */
  notify(): void {
    if (!this.ready) return;
    const interrupt = this.shouldNotify();
    const { trace, sim, devName } = this.env;
    if (trace.active) trace.emitUsed(sim.now, devName, this.index, this.pendingUsed, interrupt);
    this.pendingUsed = 0;
    if (interrupt) this.host.queueInterrupt(this);
  }

  private shouldNotify(): boolean {
    const mem = this.mem;
    if (this.features.notifyOnEmpty && this.inuse === 0 && this.isEmpty()) return true;
    if (!this.features.eventIdx) return (mem.read16(this.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const valid = this.signalledUsedValid;
    this.signalledUsedValid = true;
    const old = this.signalledUsed;
    const nu = (this.signalledUsed = this.usedIdx);
    return !valid || vringNeedEvent(mem.read16(this.avail + 4 + 2 * this.size), nu, old);
  }

  /**
   * virtio_queue_set_notification: with EVENT_IDX, enabling publishes avail_event = the
   * current avail idx (disabling writes nothing: the index simply stays behind);
   * without, set or clear VIRTQ_USED_F_NO_NOTIFY in used.flags.
   */
  setNotification(enable: boolean): void {
    this.notification = enable;
    if (!this.ready) return;
    const mem = this.mem;
    if (this.features.eventIdx) {
      this.shadowAvailIdx = mem.read16(this.avail + 2);
      if (enable) mem.write16(this.used + 4 + 8 * this.size, this.shadowAvailIdx);
    } else {
      const f = mem.read16(this.used);
      mem.write16(this.used, enable ? f & ~VIRTQ_USED_F_NO_NOTIFY : f | VIRTQ_USED_F_NO_NOTIFY);
    }
  }

  private failWalk(ndescs: number, message: string): PopResult {
    this.env.sim.advance(ndescs * this.descNs);
    return this.fail(message);
  }

  /** virtio_error: stop, tell the trace and the transport. */
  private fail(message: string): PopResult {
    this.markBroken(message);
    const { trace, sim, devName } = this.env;
    if (trace.active) trace.emit({ kind: 'device-error', t: sim.now, dev: devName, vq: this.index, message });
    this.host.deviceError(this, message);
    return { kind: 'broken', message };
  }
}
