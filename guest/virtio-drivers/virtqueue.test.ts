/**
 * DriverVirtqueue: what addSgs writes into guest memory (byte for byte, at the offsets
 * of virtio 1.x §2.7 / facts.md §1.2), free-descriptor accounting, ENOSPC, getBuf and
 * the "id is not a head" rule. The device side is played by raw writes to the used ring.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory, type SgElem } from '../../hw/memory.js';
import { DmaAllocator } from '../kernel/dma-alloc.js';
import { DriverVirtqueue } from './virtqueue.js';

const NEXT = 1;
const WRITE = 2;
const INDIRECT = 4;

/** An allocator that remembers what is live, to see indirect tables come and go. */
class TrackingAlloc extends DmaAllocator {
  readonly live = new Map<number, number>();
  override alloc(bytes: number, align = 8): number {
    const a = super.alloc(bytes, align);
    this.live.set(a, bytes);
    return a;
  }
  override free(addr: number, bytes: number, align = 8): void {
    expect(this.live.get(addr)).toBe(bytes);
    this.live.delete(addr);
    super.free(addr, bytes, align);
  }
}

function setup(o: { size?: number; indirect?: boolean; eventIdx?: boolean } = {}) {
  const mem = new GuestMemory(1 << 22);
  const alloc = new TrackingAlloc(0x1000, 0x100000);
  const calls = { notify: 0, charged: 0 };
  const vq = new DriverVirtqueue<string>(mem, alloc, 0, o.size ?? 8, {
    eventIdx: o.eventIdx ?? false,
    indirect: o.indirect ?? false,
    chargeDescs: (n) => void (calls.charged += n),
    notify: () => void calls.notify++,
  });
  return { mem, alloc, vq, calls };
}

/** The 16 bytes of a struct virtq_desc, little-endian. */
function descBytes(addr: number, len: number, flags: number, next: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(addr), true);
  v.setUint32(8, len, true);
  v.setUint16(12, flags, true);
  v.setUint16(14, next, true);
  return b;
}

const flagsOf = (mem: GuestMemory, table: number, i: number): number => mem.read16(table + 16 * i + 12);
const nextOf = (mem: GuestMemory, table: number, i: number): number => mem.read16(table + 16 * i + 14);
const availIdx = (mem: GuestMemory, vq: DriverVirtqueue<string>): number => mem.read16(vq.ring.avail + 2);
const availSlot = (mem: GuestMemory, vq: DriverVirtqueue<string>, slot: number): number => mem.read16(vq.ring.avail + 4 + 2 * slot);

/** The device's side: write used.ring[idx % size] = {id, len}, then used.idx = idx + 1. */
function devicePush(mem: GuestMemory, vq: DriverVirtqueue<string>, id: number, len: number): void {
  const idx = mem.read16(vq.ring.used + 2);
  const e = vq.ring.used + 4 + 8 * (idx % vq.size);
  mem.write32(e, id);
  mem.write32(e + 4, len);
  mem.write16(vq.ring.used + 2, (idx + 1) & 0xffff);
}

const bufs = (base: number, lens: number[]): SgElem[] => lens.map((len, i) => ({ addr: base + i * 0x1000, len }));

describe('DriverVirtqueue ring placement', () => {
  it('allocates the three parts with the spec alignments and zeroes them', () => {
    const { vq, mem } = setup({ size: 16 });
    expect(vq.ring.desc % 16).toBe(0);
    expect(vq.ring.avail % 2).toBe(0);
    expect(vq.ring.used % 4).toBe(0);
    expect(vq.numFree).toBe(16);
    expect(mem.read(vq.ring.avail, 6 + 2 * 16).every((b) => b === 0)).toBe(true);
    expect(mem.read(vq.ring.used, 6 + 8 * 16).every((b) => b === 0)).toBe(true);
  });
});

describe('addSgs: direct chains', () => {
  it('lays out readable then writable descriptors linked by NEXT, last one without NEXT', () => {
    const { vq, mem, calls } = setup({ size: 8 });
    const out = bufs(0x200000, [16, 512]);
    const inb = bufs(0x300000, [512, 1]);
    expect(vq.addSgs(out, inb, 'a')).toBe(true);
    const d = vq.ring.desc;
    expect(mem.read(d, 16)).toEqual(descBytes(0x200000, 16, NEXT, 1));
    expect(mem.read(d + 16, 16)).toEqual(descBytes(0x201000, 512, NEXT, 2));
    expect(mem.read(d + 32, 16)).toEqual(descBytes(0x300000, 512, NEXT | WRITE, 3));
    // The last one: WRITE, no NEXT (its next field is not looked at).
    expect(mem.read64(d + 48)).toBe(0x301000);
    expect(mem.read32(d + 56)).toBe(1);
    expect(flagsOf(mem, d, 3)).toBe(WRITE);
    expect(vq.numFree).toBe(4);
    // avail: flags 0, idx 1, ring[0] = head 0.
    expect(mem.read16(vq.ring.avail)).toBe(0);
    expect(availIdx(mem, vq)).toBe(1);
    expect(availSlot(mem, vq, 0)).toBe(0);
    expect(calls.charged).toBeGreaterThan(0);
    expect(calls.notify).toBe(0); // adding never notifies by itself
  });

  it('a chain of only readable or only writable buffers has no WRITE or all WRITE', () => {
    const { vq, mem } = setup({ size: 8 });
    vq.addSgs(bufs(0x200000, [8, 8]), [], 'out-only');
    vq.addSgs([], bufs(0x300000, [8, 8]), 'in-only');
    const d = vq.ring.desc;
    expect([0, 1].map((i) => flagsOf(mem, d, i))).toEqual([NEXT, 0]);
    expect(availSlot(mem, vq, 1)).toBe(2);
    expect([2, 3].map((i) => flagsOf(mem, d, i))).toEqual([WRITE | NEXT, WRITE]);
    expect(nextOf(mem, d, 2)).toBe(3);
  });

  it('publishes each head in the next avail slot and bumps avail idx once per chain', () => {
    const { vq, mem } = setup({ size: 8 });
    for (let i = 0; i < 4; i++) expect(vq.addSgs(bufs(0x200000, [4]), bufs(0x300000, [1]), `t${i}`)).toBe(true);
    expect(availIdx(mem, vq)).toBe(4);
    expect([0, 1, 2, 3].map((s) => availSlot(mem, vq, s))).toEqual([0, 2, 4, 6]);
    expect(vq.numFree).toBe(0);
  });

  it('refuses a chain that does not fit (ENOSPC) without touching the ring, and a chain that does still fits', () => {
    const { vq, mem } = setup({ size: 4 });
    expect(vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [512, 1]), 'a')).toBe(true);
    expect(vq.numFree).toBe(1);
    const before = mem.read(vq.ring.desc, 16 * 4);
    expect(vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [1]), 'b')).toBe(false);
    expect(vq.numFree).toBe(1);
    expect(availIdx(mem, vq)).toBe(1);
    expect(mem.read(vq.ring.desc, 16 * 4)).toEqual(before);
    expect(vq.addSgs([], bufs(0x300000, [1]), 'c')).toBe(true);
    expect(vq.numFree).toBe(0);
    expect(availIdx(mem, vq)).toBe(2);
    // A chain longer than the whole ring never fits.
    const big = setup({ size: 2 });
    expect(big.vq.addSgs(bufs(0x200000, [1, 1]), bufs(0x300000, [1]), 'x')).toBe(false);
  });

  it('refuses an empty chain', () => {
    const { vq } = setup();
    expect(vq.addSgs([], [], 'empty')).toBe(false);
    expect(vq.numFree).toBe(8);
  });
});

describe('addSgs: indirect tables', () => {
  it('takes one ring descriptor pointing at a table of N descriptors', () => {
    const { vq, mem, alloc } = setup({ size: 8, indirect: true });
    expect(vq.addSgs(bufs(0x200000, [16, 4096]), bufs(0x300000, [4096, 1]), 'a')).toBe(true);
    expect(vq.numFree).toBe(7);
    const d = vq.ring.desc;
    const table = mem.read64(d);
    expect(table % 16).toBe(0);
    expect(mem.read(d, 16)).toEqual(descBytes(table, 64, INDIRECT, 0));
    expect(alloc.live.get(table)).toBe(64);
    expect(mem.read(table, 16)).toEqual(descBytes(0x200000, 16, NEXT, 1));
    expect(mem.read(table + 16, 16)).toEqual(descBytes(0x201000, 4096, NEXT, 2));
    expect(mem.read(table + 32, 16)).toEqual(descBytes(0x300000, 4096, NEXT | WRITE, 3));
    expect(mem.read64(table + 48)).toBe(0x301000);
    expect(mem.read32(table + 56)).toBe(1);
    expect(flagsOf(mem, table, 3)).toBe(WRITE);
    expect(availSlot(mem, vq, 0)).toBe(0);
    expect(availIdx(mem, vq)).toBe(1);
  });

  it('a single buffer goes direct even when indirect is negotiated', () => {
    const { vq, mem, alloc } = setup({ size: 8, indirect: true });
    const tables = alloc.live.size;
    expect(vq.addSgs([], bufs(0x300000, [512]), 'one')).toBe(true);
    expect(mem.read(vq.ring.desc, 16)).toEqual(descBytes(0x300000, 512, WRITE, 0));
    expect(alloc.live.size).toBe(tables);
    expect(vq.numFree).toBe(7);
  });

  it('as many chains as ring slots fit, whatever their length; the next one is refused', () => {
    const { vq } = setup({ size: 4, indirect: true });
    for (let i = 0; i < 4; i++) expect(vq.addSgs(bufs(0x200000, [16, 512, 512]), bufs(0x300000, [1]), `t${i}`)).toBe(true);
    expect(vq.numFree).toBe(0);
    expect(vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [1]), 'x')).toBe(false);
  });
});

describe('getBuf', () => {
  it('returns tokens in used order with the used length, and undefined when nothing is used', () => {
    const { vq, mem } = setup({ size: 8 });
    expect(vq.getBuf()).toBeUndefined();
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [1]), 'a'); // head 0
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [1]), 'b'); // head 2
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [1]), 'c'); // head 4
    devicePush(mem, vq, 4, 11);
    devicePush(mem, vq, 0, 22);
    expect(vq.moreUsed()).toBe(true);
    expect(vq.getBuf()).toEqual({ token: 'c', len: 11 });
    expect(vq.getBuf()).toEqual({ token: 'a', len: 22 });
    expect(vq.getBuf()).toBeUndefined();
    expect(vq.moreUsed()).toBe(false);
    expect(vq.numFree).toBe(6);
    devicePush(mem, vq, 2, 33);
    expect(vq.getBuf()).toEqual({ token: 'b', len: 33 });
    expect(vq.numFree).toBe(8);
  });

  it('frees a chain for reuse: the next chain starts at the freed head', () => {
    const { vq, mem } = setup({ size: 8 });
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [512, 1]), 'a'); // 0,1,2
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [512, 1]), 'b'); // 3,4,5
    devicePush(mem, vq, 3, 0);
    vq.getBuf();
    expect(vq.addSgs(bufs(0x400000, [16]), bufs(0x500000, [512, 1]), 'c')).toBe(true);
    expect(availSlot(mem, vq, 2)).toBe(3);
    expect(mem.read64(vq.ring.desc + 16 * 3)).toBe(0x400000);
    // Chains of other lengths interleave with the freed ones without overlap.
    expect(vq.numFree).toBe(2);
    expect(vq.addSgs(bufs(0x600000, [16]), bufs(0x700000, [1]), 'd')).toBe(true);
    expect(vq.addSgs([], bufs(0x700000, [1]), 'e')).toBe(false);
  });

  it('frees the indirect table, which the next indirect chain of that size reuses', () => {
    const { vq, mem, alloc } = setup({ size: 8, indirect: true });
    const base = alloc.live.size;
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [512, 1]), 'a');
    const table = mem.read64(vq.ring.desc);
    expect(alloc.live.size).toBe(base + 1);
    devicePush(mem, vq, 0, 513);
    expect(vq.getBuf()).toEqual({ token: 'a', len: 513 });
    expect(alloc.live.size).toBe(base);
    expect(vq.numFree).toBe(8);
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [512, 1]), 'b');
    expect(mem.read64(vq.ring.desc + 16 * mem.read16(vq.ring.avail + 4 + 2))).toBe(table);
  });
});

describe('a device that returns a bad id breaks the queue for good', () => {
  const cases: [string, (vq: DriverVirtqueue<string>, mem: GuestMemory) => void][] = [
    ['a descriptor inside a chain', (vq, mem) => devicePush(mem, vq, 1, 0)],
    ['an id past the ring', (vq, mem) => devicePush(mem, vq, 8, 0)],
    ['a free descriptor', (vq, mem) => devicePush(mem, vq, 6, 0)],
    [
      'a head already returned',
      (vq, mem) => {
        devicePush(mem, vq, 0, 0);
        expect(vq.getBuf()?.token).toBe('a');
        devicePush(mem, vq, 0, 0);
      },
    ],
  ];
  it.each(cases)('%s', (_name, push) => {
    const { vq, mem, calls } = setup({ size: 8 });
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [512, 1]), 'a'); // 0,1,2
    vq.addSgs(bufs(0x200000, [16]), bufs(0x300000, [1]), 'b'); // 3,4
    push(vq, mem);
    expect(vq.isBroken()).toBe(false);
    expect(vq.getBuf()).toBeUndefined();
    expect(vq.isBroken()).toBe(true);
    // Broken: nothing more is added, collected or notified.
    const idx = availIdx(mem, vq);
    expect(vq.addSgs([], bufs(0x300000, [1]), 'c')).toBe(false);
    expect(availIdx(mem, vq)).toBe(idx);
    devicePush(mem, vq, 3, 0);
    expect(vq.moreUsed()).toBe(false);
    expect(vq.getBuf()).toBeUndefined();
    vq.notify();
    expect(calls.notify).toBe(0);
  });
});
