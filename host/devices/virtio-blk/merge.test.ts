import { describe, expect, it } from 'vitest';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../../../hw/virtio/blk.js';
import { isFrozen } from '../../../hw/frozen.js';
import { VIRTIO_BLK_MAX_MERGE_REQS } from './multireq.js';
import { buildRequest, makeRig, readInData, type Rig } from './test-utils.js';

const block = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

function writes(r: Rig, sectors: number[], bytes = 4096) {
  return sectors.map((sector, i) => {
    const q = buildRequest(r.alloc, { head: i, type: VIRTIO_BLK_T_OUT, sector, outData: block(bytes, i + 1) });
    r.vq.avail.push(q.elem);
    return q;
  });
}

describe('virtio-blk: request merging (virtio_blk_submit_multireq)', () => {
  it('N contiguous writes popped together become one backend write; each request completes OK on its own', () => {
    const r = makeRig();
    const reqs = writes(r, [0, 8, 16, 24]);
    r.kick();
    expect(r.backend.calls).toEqual([{ op: 'write', offset: 0, bytes: 4 * 4096, fua: false }]);
    for (let i = 0; i < 4; i++) {
      expect(r.backend.data.subarray(i * 4096, (i + 1) * 4096).every((b) => b === i + 1)).toBe(true);
      expect(r.mem.read8(reqs[i].statusAddr)).toBe(VIRTIO_BLK_S_OK);
    }
    expect(r.vq.used).toEqual([0, 1, 2, 3].map((head) => ({ head, len: 1 })));
  });

  it('non-contiguous writes are not merged', () => {
    const r = makeRig();
    writes(r, [0, 16, 40]);
    r.kick();
    expect(r.backend.calls.map((c) => [c.offset, c.bytes])).toEqual([
      [0, 4096],
      [16 * 512, 4096],
      [40 * 512, 4096],
    ]);
    expect(r.vq.used).toHaveLength(3);
  });

  it('requests are sorted by sector before merging (popped 16, 0, 8 → one write at 0)', () => {
    const r = makeRig();
    writes(r, [16, 0, 8]);
    r.kick();
    expect(r.backend.calls).toEqual([{ op: 'write', offset: 0, bytes: 3 * 4096, fua: false }]);
    expect(r.backend.data[0]).toBe(2);
    expect(r.backend.data[4096]).toBe(3);
    expect(r.backend.data[8192]).toBe(1);
    expect(r.vq.used.map((u) => u.head)).toEqual([1, 2, 0]);
  });

  it('contiguous reads merge into one backend read and each guest buffer gets its own bytes', () => {
    const r = makeRig();
    for (let i = 0; i < 3 * 4096; i++) r.backend.data[i] = (i >> 12) + 10;
    const reqs = [0, 8, 16].map((sector, i) => {
      const q = buildRequest(r.alloc, { head: i, type: VIRTIO_BLK_T_IN, sector, inLen: 4096, chunk: 1000 });
      r.vq.avail.push(q.elem);
      return q;
    });
    r.kick();
    expect(r.backend.calls).toEqual([{ op: 'read', offset: 0, bytes: 3 * 4096 }]);
    reqs.forEach((q, i) => expect(readInData(r.mem, q).every((b) => b === i + 10)).toBe(true));
    expect(r.vq.used.map((u) => u.len)).toEqual([4097, 4097, 4097]);
  });

  it(`at most ${VIRTIO_BLK_MAX_MERGE_REQS} requests per merge: 33 contiguous writes → 2 backend writes`, () => {
    const r = makeRig();
    writes(
      r,
      Array.from({ length: 33 }, (_, i) => i),
      512,
    );
    r.kick();
    expect(r.backend.calls.map((c) => [c.offset, c.bytes])).toEqual([
      [0, 32 * 512],
      [32 * 512, 512],
    ]);
    expect(r.vq.used).toHaveLength(33);
  });

  it('a direction change submits the pending batch first', () => {
    const r = makeRig();
    writes(r, [0, 8]);
    r.vq.avail.push(buildRequest(r.alloc, { head: 9, type: VIRTIO_BLK_T_IN, sector: 16, inLen: 4096 }).elem);
    writes(r, [24, 32]);
    r.kick();
    expect(r.backend.calls.map((c) => [c.op, c.offset, c.bytes])).toEqual([
      ['write', 0, 8192],
      ['read', 16 * 512, 4096],
      ['write', 24 * 512, 8192],
    ]);
  });

  it('a FLUSH submits pending writes before the flush; other types leave the batch alone', () => {
    const r = makeRig();
    writes(r, [0]);
    r.vq.avail.push(buildRequest(r.alloc, { head: 20, type: VIRTIO_BLK_T_GET_ID, inLen: 20 }).elem);
    writes(r, [8]);
    r.vq.avail.push(buildRequest(r.alloc, { head: 21, type: VIRTIO_BLK_T_FLUSH }).elem);
    r.kick();
    expect(r.backend.calls.map((c) => [c.op, c.offset, c.bytes])).toEqual([
      ['write', 0, 8192],
      ['flush', 0, 0],
    ]);
  });

  it('request-merging=off submits each request on its own', () => {
    const r = makeRig({ props: { 'request-merging': false } });
    writes(r, [0, 8, 16, 24]);
    r.kick();
    expect(r.backend.calls.map((c) => c.offset)).toEqual([0, 4096, 8192, 12288]);
    expect(r.vq.used).toHaveLength(4);
  });

  it('respects the max transfer and max iov of the backend', () => {
    const r = makeRig({ maxTransfer: 8192 });
    writes(r, [0, 8, 16]);
    r.kick();
    expect(r.backend.calls.map((c) => c.bytes)).toEqual([8192, 4096]);
    const r2 = makeRig({ maxIov: 2 });
    writes(r2, [0, 8, 16]);
    r2.kick();
    expect(r2.backend.calls.map((c) => c.bytes)).toEqual([8192, 4096]);
  });

  it('a failed merged write fails every request in it', () => {
    const r = makeRig();
    r.backend.failWith = () => ({ errno: 'EIO', message: 'bad' });
    const reqs = writes(r, [0, 8]);
    r.kick();
    expect(reqs.map((q) => r.mem.read8(q.statusAddr))).toEqual([1, 1]);
    expect(r.vq.used).toHaveLength(2);
  });

  it('werror=enospc (the default) stops every request of a merged write that ran out of space; resume() retries them', () => {
    const r = makeRig();
    let fail = true;
    r.backend.failWith = () => (fail ? { errno: 'ENOSPC', message: 'full' } : null);
    const reqs = writes(r, [0, 8]);
    r.kick();
    expect(r.vq.used).toHaveLength(0);
    expect(r.dev.stoppedRequests).toBe(2);
    fail = false;
    r.dev.resume();
    r.sim.run();
    expect(reqs.map((q) => r.mem.read8(q.statusAddr))).toEqual([0, 0]);
    expect(r.vq.used).toHaveLength(2);
    expect(r.dev.stoppedRequests).toBe(0);
  });

  it('a buffer of several whole pages is handed over as those pages, lent: the guest rewriting it afterwards changes nothing the backend was given', () => {
    const r = makeRig({ ioVec: true });
    const data = 0x100000; // page-aligned: three physically contiguous pages in one descriptor
    const odd = 0x200100; // not page-aligned: one copied piece
    const content = (fill: number, n: number) => new Uint8Array(n).map((_, i) => (fill + i) & 0xff);
    r.mem.write(data, content(1, 3 * 4096));
    r.mem.write(odd, content(7, 2 * 4096));
    const chain = (head: number, sector: number, addr: number, len: number) => {
      const q = buildRequest(r.alloc, { head, type: VIRTIO_BLK_T_OUT, sector });
      return { ...q.elem, out: [...q.elem.out, { addr, len }], ndescs: q.elem.ndescs + 1 };
    };
    r.vq.avail.push(chain(0, 0, data, 3 * 4096), chain(1, 24, odd, 2 * 4096));
    r.kick();
    expect(r.backend.calls).toEqual([{ op: 'write', offset: 0, bytes: 5 * 4096, fua: false }]);
    const [parts] = r.backend.pieces;
    expect(parts.map((p) => [p.length, isFrozen(p)])).toEqual([
      [4096, true],
      [4096, true],
      [4096, true],
      [8192, false],
    ]);
    expect(r.backend.data.subarray(0, 5 * 4096)).toEqual(new Uint8Array([...content(1, 3 * 4096), ...content(7, 2 * 4096)]));
    r.mem.write(data + 4096, new Uint8Array(10).fill(0xee));
    expect(parts[1]).toEqual(content(1, 3 * 4096).subarray(4096, 8192));
    expect(r.mem.read(data + 4096, 10).every((b) => b === 0xee)).toBe(true);
  });
});
