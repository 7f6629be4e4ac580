import { describe, expect, it } from 'vitest';
import { VIRTIO_BLK_CFG_WRITEBACK, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../../../hw/virtio/blk.js';
import { featureBits, withFeature } from '../../../hw/virtio/constants.js';
import { FakeVirtqueue, buildRequest, makeRig, type Rig } from './test-utils.js';

function write(r: Rig, head: number, sector: number, vq = r.vq) {
  const q = buildRequest(r.alloc, { head, type: VIRTIO_BLK_T_OUT, sector, outData: new Uint8Array(512).fill(head + 1) });
  vq.avail.push(q.elem);
  return q;
}

describe('virtio-blk: reset', () => {
  it('drops completions that arrive after reset: no guest memory, no used ring, no notify', () => {
    const r = makeRig();
    r.backend.data.fill(0x42);
    const rd = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 });
    const wr = write(r, 1, 8);
    r.vq.avail.unshift(rd.elem);
    r.ctx.run('kick', () => r.dev.handleOutput(r.vq));
    r.sim.run({ until: 500 }); // submitted, backend not done (latency 1000 ns)
    expect(r.dev.inFlight).toBe(2);
    r.dev.reset();
    expect(r.dev.inFlight).toBe(0);
    r.sim.run();
    expect(r.mem.read(rd.inData[0].addr, 512).every((b) => b === 0)).toBe(true);
    expect(r.mem.read8(rd.statusAddr)).toBe(0xee);
    expect(r.mem.read8(wr.statusAddr)).toBe(0xee);
    expect(r.vq.used).toEqual([]);
    expect(r.vq.notifies).toBe(0);
    expect(r.rec.events.filter((e) => e.kind === 'device-complete')).toEqual([]);
  });

  it('drops completions queued for the context when the reset comes before the completion work runs', () => {
    const r = makeRig();
    const rd = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 });
    r.vq.avail.push(rd.elem);
    r.ctx.run('kick', () => r.dev.handleOutput(r.vq));
    r.sim.run({ until: 1000 });
    // The device context is busy from 1000 to 6000; the backend calls back at 1400 and its
    // completion work waits for the context; the reset comes at 1500, before that work runs.
    r.ctx.run('busy', () => r.sim.advance(5000));
    r.sim.at(1500, () => {
      expect(r.dev.inFlight).toBe(0);
      r.dev.reset();
    });
    r.sim.run();
    expect(r.vq.used).toEqual([]);
    expect(r.mem.read8(rd.statusAddr)).toBe(0xee);
  });
});

describe('virtio-blk: virtio_blk_handle_vq notification loop', () => {
  it('disables notifications while popping, re-enables, and re-checks the ring', () => {
    const r = makeRig();
    write(r, 0, 0);
    let raced = false;
    r.vq.onEnable = () => {
      if (raced) return;
      raced = true;
      write(r, 1, 64); // the driver published a request just as notifications came back on
    };
    r.kick();
    expect(r.vq.notificationLog).toEqual([false, true, false, true]);
    expect(r.vq.used.map((u) => u.head)).toEqual([0, 1]);
  });
});

describe('virtio-blk: notification batching', () => {
  const reads = (r: Rig) => {
    for (let i = 0; i < 4; i++) r.vq.avail.push(buildRequest(r.alloc, { head: i, type: VIRTIO_BLK_T_IN, sector: i * 16, inLen: 512 }).elem);
  };

  it('main loop: one virtio_notify per completed request', () => {
    const r = makeRig();
    reads(r);
    r.kick();
    expect(r.backend.calls).toHaveLength(4);
    expect(r.vq.notifies).toBe(4);
    // All four backend callbacks came at the same instant and were handled in one piece of work.
    expect(r.rec.events.filter((e) => e.kind === 'work' && e.what === 'virtio-blk complete')).toHaveLength(1);
  });

  it('iothread: completions handled together signal the queue once (defer_call)', () => {
    const r = makeRig({ ctxKind: 'iothread' });
    reads(r);
    r.kick();
    expect(r.vq.used).toHaveLength(4);
    expect(r.vq.notifies).toBe(1);
  });

  it('iothread: completions arriving while the context is busy wait and are batched', () => {
    const r = makeRig({ ctxKind: 'iothread' });
    for (let i = 0; i < 4; i++) write(r, i, i * 16); // submitted 51 ns apart (copy cost)
    r.kick();
    // The first completes alone at once; the other three arrive during its 250 ns of work.
    expect(r.vq.notifies).toBe(2);
    expect(r.vq.used).toHaveLength(4);
  });
});

describe('virtio-blk: write cache (config-wce, blk_set_enable_write_cache)', () => {
  const CONFIG_WCE_AND_FLUSH = featureBits(VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_FLUSH);

  it('the driver toggles writeback through config space when CONFIG_WCE is negotiated; writes become FUA', () => {
    const r = makeRig();
    r.dev.reset();
    r.dev.setFeatures(CONFIG_WCE_AND_FLUSH);
    r.dev.start([r.vq]);
    expect(r.dev.readConfig(VIRTIO_BLK_CFG_WRITEBACK, 1)).toBe(1);
    r.dev.writeConfig(VIRTIO_BLK_CFG_WRITEBACK, 1, 0);
    expect(r.dev.readConfig(VIRTIO_BLK_CFG_WRITEBACK, 1)).toBe(0);
    write(r, 0, 0);
    r.kick();
    expect(r.backend.calls[0].fua).toBe(true);
    r.dev.writeConfig(VIRTIO_BLK_CFG_WRITEBACK - 1, 2, 0x0100); // a 16-bit write covering the byte
    expect(r.dev.writeCacheEnabled).toBe(true);
    r.dev.reset();
    expect(r.dev.writeCacheEnabled).toBe(true);
  });

  it('without CONFIG_WCE negotiated the byte is read-only, and DRIVER_OK sets the cache to "FLUSH negotiated"', () => {
    const r = makeRig();
    r.dev.reset();
    r.dev.setFeatures(featureBits(VIRTIO_BLK_F_FLUSH));
    r.dev.start([r.vq]);
    r.dev.writeConfig(VIRTIO_BLK_CFG_WRITEBACK, 1, 0);
    expect(r.dev.writeCacheEnabled).toBe(true);
    r.dev.reset();
    r.dev.setFeatures(withFeature(0n, VIRTIO_BLK_F_FLUSH, false));
    r.dev.start([r.vq]);
    expect(r.dev.writeCacheEnabled).toBe(false);
    write(r, 0, 0);
    r.kick();
    expect(r.backend.calls[0].fua).toBe(true);
  });

  it('a writethrough drive starts with writeback = 0 and the driver may turn it on', () => {
    const r = makeRig({ writeCache: false });
    r.dev.reset();
    expect(r.dev.readConfig(VIRTIO_BLK_CFG_WRITEBACK, 1)).toBe(0);
    r.dev.setFeatures(CONFIG_WCE_AND_FLUSH);
    r.dev.start([r.vq]);
    r.dev.writeConfig(VIRTIO_BLK_CFG_WRITEBACK, 1, 1);
    expect(r.dev.writeCacheEnabled).toBe(true);
  });
});

describe('virtio-blk: several queues', () => {
  it('each request completes on the queue it came from', () => {
    const r = makeRig({ props: { 'num-queues': 2 } });
    expect(r.dev.numQueues()).toBe(2);
    const vq1 = new FakeVirtqueue(r.mem, 1);
    write(r, 0, 0);
    write(r, 0, 8, vq1);
    r.kick();
    r.kick(vq1);
    expect(r.vq.used).toEqual([{ head: 0, len: 1 }]);
    expect(vq1.used).toEqual([{ head: 0, len: 1 }]);
    expect(r.rec.events.filter((e) => e.kind === 'device-complete').map((e) => (e.kind === 'device-complete' ? e.vq : -1))).toEqual([0, 1]);
  });
});
