/**
 * Properties of the device-side split virtqueue:
 * 1. hostile rings: arbitrary descriptor tables, avail rings and indexes never make it
 *    throw or touch memory outside RAM; `pop` writes nothing but avail_event; every
 *    answer is a well-formed element, `empty`, or `broken` (and broken stays broken);
 * 2. round trip (Firecracker's request-parsing property): chains the driver lays out —
 *    direct, indirect, or direct ending in indirect — pop as exactly their buffers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../hw/memory.js';
import { QEMU_VIRTQUEUE_MAX_SIZE } from './virtqueue.js';
import { MockSplitQueue, standaloneQueue, type MockBuf } from './test-utils.js';
import type { PopResult } from './types.js';

const RAM = 64 * 1024;

/** A descriptor whose address may be any le64 (split-ring's writeDesc takes a number). */
function putDesc(mem: GuestMemory, table: number, i: number, d: { addr: number | bigint; len: number; flags: number; next: number }): void {
  const a = table + 16 * i;
  mem.write64(a, d.addr);
  mem.write32(a + 8, d.len);
  mem.write16(a + 12, d.flags);
  mem.write16(a + 14, d.next);
}

/** Guest memory that records, instead of throwing on, any access outside RAM, and logs writes. */
class AuditedMemory extends GuestMemory {
  readonly violations: string[] = [];
  readonly writes: [number, number][] = [];
  audit = false;
  private ok(addr: number, len: number, what: string): boolean {
    if (this.contains(addr, len)) return true;
    this.violations.push(`${what} of ${len} at ${addr}`);
    return false;
  }
  override read8(a: number): number {
    return this.ok(a, 1, 'read') ? super.read8(a) : 0;
  }
  override read16(a: number): number {
    return this.ok(a, 2, 'read') ? super.read16(a) : 0;
  }
  override read32(a: number): number {
    return this.ok(a, 4, 'read') ? super.read32(a) : 0;
  }
  override readInto(a: number, dst: Uint8Array): void {
    if (this.ok(a, dst.length, 'read')) super.readInto(a, dst);
  }
  override write8(a: number, v: number): void {
    if (this.audit) this.writes.push([a, 1]);
    if (this.ok(a, 1, 'write')) super.write8(a, v);
  }
  override write16(a: number, v: number): void {
    if (this.audit) this.writes.push([a, 2]);
    if (this.ok(a, 2, 'write')) super.write16(a, v);
  }
  override write32(a: number, v: number): void {
    if (this.audit) this.writes.push([a, 4]);
    if (this.ok(a, 4, 'write')) super.write32(a, v);
  }
  override write(a: number, src: Uint8Array): void {
    if (this.audit) this.writes.push([a, src.length]);
    if (this.ok(a, src.length, 'write')) super.write(a, src);
  }
}

/** Mostly plausible values, sometimes anything: so chains get deep before something breaks. */
const arbAddr = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x2000, max: RAM - 0x2000 }) },
  { weight: 1, arbitrary: fc.integer({ min: RAM - 64, max: RAM + 64 }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
);
const arbLen = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 80 }) },
  { weight: 3, arbitrary: fc.constantFrom(0, 16, 32, 48, 64, 4096) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const arbDesc = (size: number) =>
  fc.record({
    addr: arbAddr,
    len: arbLen,
    flags: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 3) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
    next: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: size - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
  });

describe('hostile rings', () => {
  it('never throw, never leave RAM, write only avail_event, and answer elem | empty | broken', () => {
    const arbCase = fc.constantFrom(4, 8, 16).chain((size) =>
      fc.record({
        size: fc.constant(size),
        descs: fc.array(arbDesc(size), { minLength: size, maxLength: size }),
        /** Descriptors scattered over RAM, for indirect tables to land on. */
        scattered: fc.array(fc.tuple(fc.integer({ min: 0x200, max: RAM / 16 - 1 }), arbDesc(size)), { maxLength: 200 }),
        ring: fc.array(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: size - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }), { minLength: size, maxLength: size }),
        lastAvail: fc.integer({ min: 0, max: 0xffff }),
        ahead: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: size }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
        eventIdx: fc.boolean(),
        indirectDesc: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(arbCase, (c) => {
        const mem = new AuditedMemory(RAM);
        const ring = { size: c.size, desc: 0x100, avail: 0x100 + 16 * c.size, used: 0x800 };
        for (const [slot, d] of c.scattered) putDesc(mem, 0, slot, d);
        c.descs.forEach((d, i) => putDesc(mem, ring.desc, i, d));
        c.ring.forEach((h, i) => mem.write16(ring.avail + 4 + 2 * i, h));
        mem.write16(ring.avail + 2, (c.lastAvail + c.ahead) & 0xffff);
        const { vq, errors } = standaloneQueue(mem, ring, { features: { eventIdx: c.eventIdx, indirectDesc: c.indirectDesc } });
        vq.lastAvailIdx = vq.shadowAvailIdx = c.lastAvail;
        mem.audit = true;
        let broken = false;
        for (let n = 0; n < 3 * c.size; n++) {
          const r: PopResult = vq.pop();
          if (broken) expect(r.kind).toBe('broken');
          if (r.kind === 'empty') break;
          if (r.kind === 'broken') {
            broken = true;
            continue;
          }
          const e = r.elem;
          expect(e.head).toBeLessThan(c.size);
          expect(e.out.length + e.in.length).toBeLessThanOrEqual(QEMU_VIRTQUEUE_MAX_SIZE);
          expect(e.ndescs).toBeGreaterThanOrEqual(e.out.length + e.in.length);
          for (const sg of [...e.out, ...e.in]) {
            expect(sg.len).toBeGreaterThan(0);
            expect(mem.contains(sg.addr, sg.len)).toBe(true);
          }
        }
        expect(mem.violations).toEqual([]);
        const availEvent = ring.used + 4 + 8 * c.size;
        for (const [a, len] of mem.writes) expect([a, len]).toEqual([availEvent, 2]);
        expect(errors.length).toBe(broken ? 1 : 0);
      }),
      { numRuns: 400 },
    );
  });
});

describe('round trip', () => {
  const arbBuf = fc.record({ len: fc.integer({ min: 1, max: 9000 }), write: fc.boolean() });
  /** A chain as a driver builds it: readable buffers first, then writable ones. */
  const arbChain = fc.record({
    bufs: fc.array(arbBuf, { minLength: 1, maxLength: 6 }).map((bs) => [...bs.filter((b) => !b.write), ...bs.filter((b) => b.write)]),
    shape: fc.constantFrom('direct', 'indirect', 'mixed'),
  });

  it('pops exactly the buffers the driver published, in order, across index wrap', () => {
    fc.assert(
      fc.property(fc.array(arbChain, { minLength: 1, maxLength: 10 }), fc.integer({ min: 0, max: 0xffff }), (chains, start) => {
        const mem = new GuestMemory(4 << 20);
        const size = 64;
        const drv = new MockSplitQueue(mem, { size });
        drv.startAt(start);
        const { vq, errors } = standaloneQueue(mem, drv.ring, { features: { indirectDesc: true } });
        vq.lastAvailIdx = vq.shadowAvailIdx = vq.usedIdx = start;
        const expected: { head: number; bufs: (MockBuf & { addr: number })[] }[] = [];
        for (const ch of chains) {
          const bufs = ch.bufs.map((b) => ({ ...b, addr: drv.alloc(b.len) }));
          const split = ch.shape === 'mixed' ? Math.floor(bufs.length / 2) : 0;
          const head =
            ch.shape === 'direct' ? drv.addChain(bufs) : drv.addIndirect(bufs.slice(split), bufs.slice(0, split));
          expected.push({ head, bufs });
        }
        drv.publish(...expected.map((e) => e.head));
        for (const exp of expected) {
          const r = vq.pop();
          expect(r.kind).toBe('elem');
          if (r.kind !== 'elem') return;
          expect(r.elem.head).toBe(exp.head);
          expect(r.elem.out).toEqual(exp.bufs.filter((b) => !b.write).map(({ addr, len }) => ({ addr, len })));
          expect(r.elem.in).toEqual(exp.bufs.filter((b) => b.write).map(({ addr, len }) => ({ addr, len })));
          vq.push(r.elem, 7);
        }
        expect(vq.pop().kind).toBe('empty');
        expect(drv.takeUsed()).toEqual(expected.map((e) => ({ id: e.head, len: 7 })));
        expect(errors).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
