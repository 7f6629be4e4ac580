import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../hw/memory.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../hw/virtio/constants.js';
import { writeDesc } from '../../../hw/virtio/split-ring.js';
import { CostModel } from '../../../sim/costs.js';
import { Recorder } from '../../../sim/trace.js';
import { MockSplitQueue, standaloneQueue } from './test-utils.js';
import type { PopResult, VirtqElement } from './types.js';

const RAM = 1 << 20;

function setup(size = 8, features = {}) {
  const mem = new GuestMemory(RAM);
  const drv = new MockSplitQueue(mem, { size });
  const q = standaloneQueue(mem, drv.ring, { features });
  const rec = new Recorder();
  q.trace.attach(rec.sink);
  return { mem, drv, ...q, rec };
}

function elem(r: PopResult): VirtqElement {
  if (r.kind !== 'elem') throw new Error(`expected an element, got ${JSON.stringify(r)}`);
  return r.elem;
}

describe('pop: valid chains', () => {
  it('returns a direct chain as exactly its buffers, readable then writable', () => {
    const { drv, vq } = setup();
    expect(vq.pop()).toEqual({ kind: 'empty' });
    const head = drv.addChain([{ len: 16, addr: 0x20000 }, { len: 512, addr: 0x30000, write: true }, { len: 1, addr: 0x30200, write: true }]);
    drv.publish(head);
    const e = elem(vq.pop());
    expect(e.head).toBe(head);
    expect(e.out).toEqual([{ addr: 0x20000, len: 16 }]);
    expect(e.in).toEqual([{ addr: 0x30000, len: 512 }, { addr: 0x30200, len: 1 }]);
    expect(e.ndescs).toBe(3);
    expect(vq.pop()).toEqual({ kind: 'empty' });
    expect(vq.inuse).toBe(1);
  });

  it('returns an indirect chain, counting the table entries as descriptors', () => {
    const { drv, vq } = setup();
    const head = drv.addIndirect([{ len: 16, addr: 0x20000 }, { len: 4096, addr: 0x40000 }, { len: 1, addr: 0x50000, write: true }]);
    drv.publish(head);
    const e = elem(vq.pop());
    expect(e.out).toEqual([{ addr: 0x20000, len: 16 }, { addr: 0x40000, len: 4096 }]);
    expect(e.in).toEqual([{ addr: 0x50000, len: 1 }]);
    expect(e.ndescs).toBe(4);
  });

  it('follows direct descriptors into a final indirect table (spec: device MUST handle it)', () => {
    const { drv, vq } = setup();
    const head = drv.addIndirect([{ len: 512, addr: 0x40000, write: true }, { len: 1, addr: 0x50000, write: true }], [{ len: 16, addr: 0x20000 }]);
    drv.publish(head);
    const e = elem(vq.pop());
    expect(e.out).toEqual([{ addr: 0x20000, len: 16 }]);
    expect(e.in).toEqual([{ addr: 0x40000, len: 512 }, { addr: 0x50000, len: 1 }]);
  });

  it('pops several chains in avail order across the 16-bit index wrap', () => {
    const { drv, vq } = setup(4);
    drv.startAt(0xfffe);
    vq.lastAvailIdx = vq.shadowAvailIdx = 0xfffe;
    vq.usedIdx = 0xfffe;
    const heads = [drv.addChain([{ len: 8, addr: 0x20000 }]), drv.addChain([{ len: 8, addr: 0x20100 }]), drv.addChain([{ len: 8, addr: 0x20200 }])];
    drv.publish(...heads);
    expect(drv.mem.read16(drv.ring.avail + 2)).toBe(1);
    const got = [elem(vq.pop()), elem(vq.pop()), elem(vq.pop())];
    expect(got.map((e) => e.out[0].addr)).toEqual([0x20000, 0x20100, 0x20200]);
    expect(vq.lastAvailIdx).toBe(1);
    for (const e of got) vq.push(e, 0);
    expect(drv.usedIdx()).toBe(1);
    expect(drv.takeUsed().map((u) => u.id)).toEqual(heads);
  });

  it('charges qemu.vq.pop plus qemu.vq.desc per descriptor, and qemu.vq.push', () => {
    const { drv, vq, sim } = setup();
    const c = new CostModel();
    drv.publish(drv.addChain([{ len: 16 }, { len: 16 }, { len: 1, write: true }]));
    const t0 = sim.now;
    const e = elem(vq.pop());
    expect(sim.now - t0).toBe(c.ns('qemu.vq.pop') + 3 * c.ns('qemu.vq.desc'));
    vq.push(e, 1);
    expect(sim.now - t0).toBe(c.ns('qemu.vq.pop') + 3 * c.ns('qemu.vq.desc') + c.ns('qemu.vq.push'));
  });
});

describe('push', () => {
  it('writes the used element and the used index; the driver reads them back', () => {
    const { drv, vq } = setup();
    const a = drv.addChain([{ len: 16 }, { len: 1, write: true }]);
    const b = drv.addChain([{ len: 16 }, { len: 1, write: true }]);
    drv.publish(a, b);
    const ea = elem(vq.pop());
    const eb = elem(vq.pop());
    vq.push(eb, 1);
    vq.push(ea, 513);
    expect(drv.takeUsed()).toEqual([{ id: b, len: 1 }, { id: a, len: 513 }]);
    expect(vq.inuse).toBe(0);
  });

  it('never writes back an element popped before a reset', () => {
    const { drv, vq } = setup();
    drv.publish(drv.addChain([{ len: 16 }]));
    const e = elem(vq.pop());
    vq.reset(8);
    vq.setRings(8, drv.ring.desc, drv.ring.avail, drv.ring.used);
    vq.push(e, 4);
    expect(drv.usedIdx()).toBe(0);
  });
});

describe('pop: malformed rings break the device, never throw', () => {
  type Case = [string, (s: ReturnType<typeof setup>) => void, RegExp];
  const cases: Case[] = [
    ['avail idx runs more than size ahead', (s) => s.drv.setAvailIdx(9), /Guest moved index from 0 to 9/],
    ['head out of range', (s) => { s.drv.publish(0); s.mem.write16(s.drv.ring.avail + 4, 8); }, /Guest says index 8 is available/],
    ['next out of range', (s) => { s.drv.writeDesc(0, { addr: 0x20000, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 8 }); s.drv.publish(0); }, /Desc next is 8/],
    ['a loop', (s) => { s.drv.writeDesc(0, { addr: 0x20000, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 1 }); s.drv.writeDesc(1, { addr: 0x20000, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 0 }); s.drv.publish(0); }, /Looped descriptor/],
    ['buffer outside RAM', (s) => { s.drv.writeDesc(0, { addr: RAM - 4, len: 8, flags: 0, next: 0 }); s.drv.publish(0); }, /bogus descriptor/],
    ['buffer address above 2^53', (s) => { s.mem.write64(s.drv.ring.desc, 0xffff_ffff_ffff_f000n); s.mem.write32(s.drv.ring.desc + 8, 16); s.drv.publish(0); }, /bogus descriptor/],
    ['zero-length buffer', (s) => { s.drv.writeDesc(0, { addr: 0x20000, len: 0, flags: 0, next: 0 }); s.drv.publish(0); }, /zero sized/],
    ['readable after writable', (s) => s.drv.publish(s.drv.addChain([{ len: 8, write: true }, { len: 8 }])), /Incorrect order for descriptors/],
    ['indirect table length not a multiple of 16', (s) => { s.drv.writeDesc(0, { addr: 0x20000, len: 24, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }); s.drv.publish(0); }, /Invalid size for indirect/],
    ['indirect table of length 0', (s) => { s.drv.writeDesc(0, { addr: 0x20000, len: 0, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }); s.drv.publish(0); }, /Invalid size for indirect/],
    ['indirect table outside RAM', (s) => { s.drv.writeDesc(0, { addr: RAM - 16, len: 32, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }); s.drv.publish(0); }, /Cannot map indirect buffer/],
    ['nested indirect', (s) => { writeDesc(s.mem, 0x20000, 0, { addr: 0x30000, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }); s.drv.writeDesc(0, { addr: 0x20000, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }); s.drv.publish(0); }, /Nested indirect/],
    ['INDIRECT with NEXT', (s) => { s.drv.writeDesc(0, { addr: 0x20000, len: 16, flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, next: 1 }); s.drv.publish(0); }, /INDIRECT|NEXT/i],
    ['loop inside an indirect table', (s) => { writeDesc(s.mem, 0x20000, 0, { addr: 0x30000, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 1 }); writeDesc(s.mem, 0x20000, 1, { addr: 0x30000, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 0 }); s.drv.writeDesc(0, { addr: 0x20000, len: 32, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }); s.drv.publish(0); }, /Looped descriptor/],
    ['next past an indirect table', (s) => { writeDesc(s.mem, 0x20000, 0, { addr: 0x30000, len: 8, flags: VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, next: 2 }); s.drv.writeDesc(0, { addr: 0x20000, len: 32, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }); s.drv.publish(0); }, /Desc next is 2/],
  ];

  it.each(cases)('%s', (_name, build, message) => {
    const s = setup();
    build(s);
    let r: PopResult | undefined;
    expect(() => (r = s.vq.pop())).not.toThrow();
    expect(r?.kind).toBe('broken');
    expect(r?.kind === 'broken' && r.message).toMatch(message);
    expect(s.errors).toHaveLength(1);
    expect(s.rec.events.filter((e) => e.kind === 'device-error')).toHaveLength(1);
    // The queue refuses everything until reset, without reporting again.
    expect(s.vq.pop().kind).toBe('broken');
    expect(s.vq.isEmpty()).toBe(true);
    expect(s.errors).toHaveLength(1);
  });

  it('refuses INDIRECT when VIRTIO_F_INDIRECT_DESC was not negotiated', () => {
    const s = setup(8, { indirectDesc: false });
    s.drv.publish(s.drv.addIndirect([{ len: 16 }]));
    const r = s.vq.pop();
    expect(r.kind === 'broken' && r.message).toMatch(/VIRTIO_F_INDIRECT_DESC/);
  });

  it('refuses more chains in flight than the queue size', () => {
    const s = setup(2);
    const a = s.drv.addChain([{ len: 8 }]);
    const b = s.drv.addChain([{ len: 8 }]);
    s.drv.publish(a, b);
    elem(s.vq.pop());
    elem(s.vq.pop());
    s.drv.publish(a);
    const r = s.vq.pop();
    expect(r.kind === 'broken' && r.message).toBe('Virtqueue size exceeded');
  });

  it('refuses to set up rings that leave RAM', () => {
    const mem = new GuestMemory(RAM);
    const { vq, errors } = standaloneQueue(mem, { size: 256, desc: RAM - 0x800, avail: 0x1000, used: 0x2000 });
    expect(vq.ready).toBe(false);
    expect(errors).toEqual(['Cannot map desc']);
    expect(vq.pop().kind).toBe('broken');
  });

  it('a push after the device broke writes nothing', () => {
    const s = setup();
    s.drv.publish(s.drv.addChain([{ len: 8 }]));
    const e = elem(s.vq.pop());
    s.drv.setAvailIdx(100);
    expect(s.vq.pop().kind).toBe('broken');
    s.vq.push(e, 8);
    expect(s.drv.usedIdx()).toBe(0);
  });
});
