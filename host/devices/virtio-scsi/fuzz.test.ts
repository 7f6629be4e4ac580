/**
 * Whatever a guest puts in a chain — header bytes, LUNs, CDBs, tags, buffer layouts,
 * on any queue, with any sense_size / cdb_size — the device never throws: every chain is
 * answered (a used entry), or the device reports virtio_error() with QEMU's message and
 * stops answering.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MockBuf } from '../virtio/test-utils.js';
import { MSG_BAD_HEADERS } from './request.js';
import { makeScsiRig } from './test-utils.js';

const lun = fc.oneof(
  fc.constantFrom(Uint8Array.of(1, 0, 0x40, 0, 0, 0, 0, 0), Uint8Array.of(1, 0, 0, 1, 0, 0, 0, 0), Uint8Array.of(1, 1, 0x41, 0x2c, 0, 0, 0, 0)),
  fc.uint8Array({ minLength: 8, maxLength: 8 }),
);
const cdb = fc.oneof(
  fc.constantFrom(
    Uint8Array.of(0x12, 0, 0, 0, 36, 0),
    Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0),
    Uint8Array.of(0x2a, 0, 0, 0, 0, 8, 0, 0, 1, 0),
    Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0),
    Uint8Array.of(0x03, 0, 0, 0, 18, 0),
  ),
  fc.uint8Array({ minLength: 0, maxLength: 40 }),
);
/** The readable bytes of a chain: a plausible command header and payload, or noise. */
const readable = fc.oneof(
  fc.tuple(lun, fc.uint8Array({ minLength: 11, maxLength: 11 }), cdb, fc.uint8Array({ maxLength: 600 })).map(([l, mid, c, p]) => {
    const hdr = new Uint8Array(19 + 32);
    hdr.set(l);
    hdr.set(mid, 8);
    hdr.set(c.subarray(0, 32), 19);
    return Uint8Array.from([...hdr, ...p]);
  }),
  fc.tuple(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 9 }), lun, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([type, sub, l, tag]) => {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, sub, true);
    b.set(l, 8);
    v.setBigUint64(16, tag, true);
    return b;
  }),
  fc.uint8Array({ maxLength: 120 }),
);
const chain = fc.record({
  queue: fc.constantFrom(0, 1, 2, 3),
  bytes: readable,
  cuts: fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 3 }),
  writable: fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 4 }),
});

function bufsOf(c: { bytes: Uint8Array; cuts: number[]; writable: number[] }): MockBuf[] {
  const points = [...new Set(c.cuts.filter((x) => x < c.bytes.length))].sort((a, b) => a - b);
  const out: MockBuf[] = [];
  let at = 0;
  for (const p of [...points, c.bytes.length]) {
    if (p > at) out.push({ len: p - at, data: c.bytes.subarray(at, p) });
    at = p;
  }
  return [...out, ...c.writable.map((len) => ({ len, write: true }))];
}

const KNOWN = [MSG_BAD_HEADERS, 'bad data written to virtio-scsi configuration space'];

describe('virtio-scsi under arbitrary chains', () => {
  it('never throws; answers every chain or stops with QEMU\'s virtio_error()', () => {
    fc.assert(
      fc.property(
        fc.array(chain, { minLength: 1, maxLength: 8 }),
        fc.option(fc.record({ sense: fc.integer({ min: 0, max: 70000 }), cdb: fc.integer({ min: 0, max: 300 }) })),
        fc.boolean(),
        (chains, sizes, events) => {
          const r = makeScsiRig({ props: { num_queues: 2, virtqueue_size: 64 }, disks: [{ id: 0, lun: 0, size: 64 * 1024 }, { id: 1, lun: 300, size: 64 * 1024 }] });
          if (sizes) {
            r.hba.writeConfig(0x14, 4, sizes.sense);
            r.hba.writeConfig(0x18, 4, sizes.cdb);
          }
          if (events) r.hba.hotplug(r.makeDisk({ id: 2, lun: 0 }));
          const heads: number[][] = [[], [], [], []];
          for (const c of chains) {
            const bufs = bufsOf(c);
            if (bufs.length === 0) continue;
            const d = r.drv[c.queue];
            const h = d.addChain(bufs);
            d.publish(h);
            heads[c.queue].push(h);
          }
          for (const q of [0, 1, 2, 3]) r.kick(q);
          if (events) r.hba.hotunplug(r.disks.find((x) => x.common.id === 2) ?? r.makeDisk({ id: 2, lun: 0 }));
          r.env.sim.run();
          for (const e of r.errors) expect(KNOWN).toContain(e);
          if (r.errors.length === 0) {
            for (const q of [0, 2, 3]) expect(r.used(q).map((u) => u.id).sort()).toEqual([...heads[q]].sort());
            expect(r.hba.inFlight).toBe(0);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a header shorter than 19 + cdb_size bytes, or a response buffer shorter than 12 + sense_size, is virtio_error()', () => {
    for (const bufs of [
      [{ len: 50, data: new Uint8Array(50) }, { len: 108, write: true }],
      [{ len: 51, data: new Uint8Array(51) }, { len: 107, write: true }],
      [{ len: 51, data: new Uint8Array(51) }],
    ]) {
      const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
      const ok = r.command({ target: 0, lun: 0, cdb: Uint8Array.of(0, 0, 0, 0, 0, 0) });
      r.drv[2].publish(r.drv[2].addChain(bufs));
      r.kick(2);
      expect(r.errors).toEqual([MSG_BAD_HEADERS]);
      // Everything prepared before the broken chain in the same kick is dropped too, as QEMU does.
      expect(r.used(2).map((u) => u.id)).not.toContain(ok.head);
      r.command({ target: 0, lun: 0, cdb: Uint8Array.of(0, 0, 0, 0, 0, 0) });
      r.kick(2);
      expect(r.used(2)).toEqual([]);
    }
  });

  it('without ANY_LAYOUT a header split over two buffers puts its tail in the data: a READ then fails as bidirectional', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const hdr = new Uint8Array(51);
    hdr.set([1, 0, 0x40, 0], 0);
    hdr.set([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], 19);
    const resp = r.drv[2].alloc(108);
    r.drv[2].publish(r.drv[2].addChain([{ len: 20, data: hdr.subarray(0, 20) }, { len: 31, data: hdr.subarray(20) }, { len: 108, write: true, addr: resp }, { len: 512, write: true }]));
    r.kick(2);
    expect(r.mem.read8(resp + 11)).toBe(9); // VIRTIO_SCSI_S_FAILURE
    const any = makeScsiRig({ disks: [{ id: 0, lun: 0 }], accept: (f) => f });
    const resp2 = any.drv[2].alloc(108);
    any.drv[2].publish(any.drv[2].addChain([{ len: 20, data: hdr.subarray(0, 20) }, { len: 31, data: hdr.subarray(20) }, { len: 108, write: true, addr: resp2 }, { len: 512, write: true }]));
    any.kick(2);
    expect([any.mem.read8(resp2 + 11), any.mem.read8(resp2 + 10)]).toEqual([0, 0]);
  });
});
