import { describe, expect, it } from 'vitest';
import {
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  encodeDwzSegments,
} from '../../../hw/virtio/blk.js';
import { buildRequest, makeRig, readInData } from './test-utils.js';

const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe('virtio-blk: request types, happy paths', () => {
  it('IN reads the backend into the guest buffers, byte for byte, used len = data + status', () => {
    const r = makeRig();
    r.backend.data.set(pattern(4096, 3), 8 * 512);
    const req = buildRequest(r.alloc, { head: 5, type: VIRTIO_BLK_T_IN, sector: 8, inLen: 4096 });
    r.vq.avail.push(req.elem);
    r.kick();
    expect(readInData(r.mem, req)).toEqual(pattern(4096, 3));
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
    expect(r.vq.used).toEqual([{ head: 5, len: 4097 }]);
    expect(r.vq.notifies).toBe(1);
    expect(r.backend.calls).toEqual([{ op: 'read', offset: 4096, bytes: 4096 }]);
    const kinds = r.rec.events.filter((e) => e.kind === 'device-request' || e.kind === 'device-complete');
    expect(kinds).toMatchObject([
      { kind: 'device-request', dev: 'vda', vq: 0, head: 5, type: 'IN', sector: 8, bytes: 4096 },
      { kind: 'device-complete', dev: 'vda', vq: 0, head: 5, status: 'OK' },
    ]);
  });

  it('IN with the header split over descriptors, data in 100-byte pieces and the status sharing the last buffer', () => {
    const r = makeRig();
    r.backend.data.set(pattern(1024, 9), 0);
    const req = buildRequest(r.alloc, { head: 1, type: VIRTIO_BLK_T_IN, sector: 0, inLen: 1024, chunk: 100, statusWithData: true });
    expect(req.elem.out.length).toBe(1);
    r.vq.avail.push(req.elem);
    r.kick();
    expect(readInData(r.mem, req)).toEqual(pattern(1024, 9));
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
    expect(r.vq.used).toEqual([{ head: 1, len: 1025 }]);
  });

  it('gathers a 16-byte header that spans four descriptors', () => {
    const r = makeRig();
    r.backend.data.set(pattern(512, 1), 3 * 512);
    const req = buildRequest(r.alloc, { head: 2, type: VIRTIO_BLK_T_IN, sector: 3, inLen: 512, chunk: 4 });
    expect(req.elem.out.length).toBe(4);
    r.vq.avail.push(req.elem);
    r.kick();
    expect(r.backend.calls[0]).toEqual({ op: 'read', offset: 1536, bytes: 512 });
    expect(readInData(r.mem, req)).toEqual(pattern(512, 1));
  });

  it('OUT writes the guest buffers after the header to the backend; used len = 1', () => {
    const r = makeRig();
    const data = pattern(8192, 5);
    const req = buildRequest(r.alloc, { head: 3, type: VIRTIO_BLK_T_OUT, sector: 16, outData: data, chunk: 3000 });
    r.vq.avail.push(req.elem);
    r.kick();
    expect(r.backend.data.subarray(16 * 512, 16 * 512 + 8192)).toEqual(data);
    expect(r.backend.calls).toEqual([{ op: 'write', offset: 8192, bytes: 8192, fua: false }]);
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
    expect(r.vq.used).toEqual([{ head: 3, len: 1 }]);
  });

  it('FLUSH calls the backend flush and completes OK', () => {
    const r = makeRig();
    const req = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_FLUSH });
    r.vq.avail.push(req.elem);
    r.kick();
    expect(r.backend.calls).toEqual([{ op: 'flush', offset: 0, bytes: 0 }]);
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
    expect(r.vq.used).toEqual([{ head: 0, len: 1 }]);
  });

  it('FLUSH still succeeds with the write cache turned off', () => {
    const r = makeRig({ writeCache: false, props: { 'config-wce': false, 'x-enable-wce-if-config-wce': false } });
    expect(r.dev.writeCacheEnabled).toBe(false);
    const req = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_FLUSH });
    r.vq.avail.push(req.elem);
    r.kick();
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
  });

  it('GET_ID writes the serial and its NUL, leaving the rest of the buffer alone', () => {
    const r = makeRig({ props: { serial: 'disk-1' } });
    const req = buildRequest(r.alloc, { head: 4, type: VIRTIO_BLK_T_GET_ID, inLen: 20 });
    r.mem.fill(req.inData[0].addr, 20, 0xaa);
    r.vq.avail.push(req.elem);
    r.kick();
    const got = readInData(r.mem, req);
    expect(Array.from(got.subarray(0, 7))).toEqual([...'disk-1'].map((c) => c.charCodeAt(0)).concat([0]));
    expect(got.subarray(7).every((b) => b === 0xaa)).toBe(true);
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
    expect(r.vq.used).toEqual([{ head: 4, len: 21 }]);
    expect(r.backend.calls).toEqual([]);
  });

  it('GET_ID with a 20-byte serial has no NUL; a longer serial is cut; a short buffer gets a prefix', () => {
    const r = makeRig({ props: { serial: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' } });
    const full = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_GET_ID, inLen: 20 });
    const short = buildRequest(r.alloc, { head: 1, type: VIRTIO_BLK_T_GET_ID, inLen: 5 });
    r.vq.avail.push(full.elem, short.elem);
    r.kick();
    expect(new TextDecoder().decode(readInData(r.mem, full))).toBe('ABCDEFGHIJKLMNOPQRST');
    expect(new TextDecoder().decode(readInData(r.mem, short))).toBe('ABCDE');
    expect(r.vq.used.map((u) => u.len)).toEqual([21, 6]);
  });

  it('DISCARD of one segment reaches the backend with byte offset and length', () => {
    const r = makeRig();
    const seg = encodeDwzSegments([{ sector: 64, numSectors: 16, flags: 0 }]);
    const req = buildRequest(r.alloc, { head: 7, type: VIRTIO_BLK_T_DISCARD, outData: seg });
    r.vq.avail.push(req.elem);
    r.kick();
    expect(r.backend.calls).toEqual([{ op: 'discard', offset: 64 * 512, bytes: 16 * 512 }]);
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
    expect(r.vq.used).toEqual([{ head: 7, len: 1 }]);
  });

  it('WRITE_ZEROES zeroes the range; the unmap flag becomes mayUnmap', () => {
    const r = makeRig();
    r.backend.data.fill(0x55);
    const a = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_WRITE_ZEROES, outData: encodeDwzSegments([{ sector: 2, numSectors: 2, flags: 0 }]) });
    const b = buildRequest(r.alloc, { head: 1, type: VIRTIO_BLK_T_WRITE_ZEROES, outData: encodeDwzSegments([{ sector: 10, numSectors: 1, flags: 1 }]) });
    r.vq.avail.push(a.elem, b.elem);
    r.kick();
    expect(r.backend.calls).toEqual([
      { op: 'write-zeroes', offset: 1024, bytes: 1024, mayUnmap: false },
      { op: 'write-zeroes', offset: 5120, bytes: 512, mayUnmap: true },
    ]);
    expect(r.backend.data.subarray(1024, 2048).every((x) => x === 0)).toBe(true);
    expect(r.backend.data[1023]).toBe(0x55);
    expect(r.backend.data[2048]).toBe(0x55);
    expect(r.backend.data.subarray(5120, 5632).every((x) => x === 0)).toBe(true);
    expect([r.mem.read8(a.statusAddr), r.mem.read8(b.statusAddr)]).toEqual([0, 0]);
  });

  it('the legacy BARRIER flag is ignored: IN|BARRIER reads', () => {
    const r = makeRig();
    r.backend.data.set(pattern(512, 2), 0);
    const req = buildRequest(r.alloc, { head: 0, type: 0x80000000, sector: 0, inLen: 512 });
    r.vq.avail.push(req.elem);
    r.kick();
    expect(readInData(r.mem, req)).toEqual(pattern(512, 2));
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_OK);
  });

  it('charges qemu.blk.request per request and qemu.blk.complete + copy per completion on the device context', () => {
    const r = makeRig();
    const req = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_OUT, sector: 0, outData: pattern(4096, 0) });
    r.vq.avail.push(req.elem);
    r.kick();
    const work = r.rec.events.filter((e) => e.kind === 'work');
    expect(work.map((w) => (w.kind === 'work' ? [w.what, w.durNs] : []))).toEqual([
      ['kick', 400 + 410],
      ['virtio-blk complete', 250],
    ]);
  });
});
