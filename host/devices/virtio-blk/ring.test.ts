/**
 * virtio-blk over a real split ring in guest memory (host/devices/virtio's SplitVirtqueue
 * and its driver-side mock), as Linux lays requests out: direct and indirect chains.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../hw/memory.js';
import { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../../../hw/virtio/blk.js';
import { ExecutionContext } from '../../../sim/context.js';
import { CostModel } from '../../../sim/costs.js';
import { Recorder } from '../../../sim/trace.js';
import { MockSplitQueue, standaloneQueue } from '../virtio/test-utils.js';
import { createVirtioBlk } from './device.js';
import { FakeBackend } from './test-utils.js';

const hdr = (type: number, sector: number): Uint8Array => {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(8, sector, true);
  return b;
};

function rig(eventIdx: boolean) {
  const mem = new GuestMemory(16 * 1024 * 1024);
  const drv = new MockSplitQueue(mem, { size: 64 });
  const { vq, sim, trace, interrupts, errors } = standaloneQueue(mem, drv.ring, { features: { eventIdx } });
  const rec = new Recorder();
  trace.attach(rec.sink);
  const ctx = new ExecutionContext(sim, trace, 'main-loop', 'main-loop');
  const backend = new FakeBackend(sim, 1024 * 1024);
  const r = createVirtioBlk({ sim, trace, costs: new CostModel(), context: ctx, backend, devName: 'vda' });
  if (r._tag === 'Left') throw new Error('realize');
  const dev = r.right;
  dev.setFeatures(dev.hostFeatures());
  dev.start([vq]);
  const kick = (): void => {
    ctx.run('kick', () => dev.handleOutput(vq));
    sim.run();
  };
  return { mem, drv, vq, sim, rec, backend, dev, interrupts, errors, kick };
}

describe('virtio-blk over a split ring', () => {
  it('a write then a read of the same blocks, through direct and indirect chains', () => {
    const r = rig(false);
    const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff);
    const wStatus = r.drv.alloc(1);
    const w = r.drv.addChain([{ len: 16, data: hdr(VIRTIO_BLK_T_OUT, 40) }, { len: 4096, data }, { len: 1, write: true, addr: wStatus }]);
    r.drv.publish(w);
    r.kick();
    expect(r.drv.takeUsed()).toEqual([{ id: w, len: 1 }]);
    expect(r.mem.read8(wStatus)).toBe(0);
    expect(Buffer.compare(r.backend.data.subarray(40 * 512, 40 * 512 + 4096), data)).toBe(0);

    const buf = r.drv.alloc(4096);
    const rStatus = r.drv.alloc(1);
    const rd = r.drv.addIndirect([
      { len: 16, data: hdr(VIRTIO_BLK_T_IN, 40) },
      { len: 2048, write: true, addr: buf },
      { len: 2048, write: true, addr: buf + 2048 },
      { len: 1, write: true, addr: rStatus },
    ]);
    r.drv.publish(rd);
    r.kick();
    expect(r.drv.takeUsed()).toEqual([{ id: rd, len: 4097 }]);
    expect(r.mem.read8(rStatus)).toBe(0);
    expect(Buffer.compare(r.mem.read(buf, 4096), data)).toBe(0);
    expect(r.errors).toEqual([]);
  });

  it('a batch of 8 contiguous writes: one backend write, 8 used entries, notifications off while popping', () => {
    const r = rig(true);
    const heads: number[] = [];
    for (let i = 0; i < 8; i++) {
      heads.push(r.drv.addChain([{ len: 16, data: hdr(VIRTIO_BLK_T_OUT, i * 8) }, { len: 4096, data: new Uint8Array(4096).fill(i) }, { len: 1, write: true }]));
    }
    r.drv.publish(...heads);
    r.drv.setUsedEvent(0);
    r.kick();
    expect(r.backend.calls).toEqual([{ op: 'write', offset: 0, bytes: 8 * 4096, fua: false }]);
    expect(r.drv.takeUsed().map((u) => u.id)).toEqual(heads);
    // EVENT_IDX: the driver asked for an interrupt at used idx 0 → one interrupt for the batch.
    expect(r.interrupts).toHaveLength(1);
    expect(r.drv.availEvent()).toBe(8);
  });
});
