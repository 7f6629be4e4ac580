import { describe, expect, it } from 'vitest';
import {
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  encodeDwzSegments,
  type DwzSegment,
} from '../../../hw/virtio/blk.js';
import { MSG_DWZ_HEADER_TOO_SHORT, MSG_ZONE_REPORT_TOO_SMALL } from './handle.js';
import { MSG_INHDR_TOO_SHORT, MSG_MISSING_HEADERS, MSG_OUTHDR_TOO_SHORT, VIRTIO_BLK_T_SCSI_CMD, VIRTIO_BLK_T_ZONE_REPORT } from './request.js';
import { buildRequest, makeRig, type RigOptions, type RequestSpec } from './test-utils.js';

/** Run one request on a fresh device and return its status byte (and the rig). */
function statusOf(spec: Omit<RequestSpec, 'head'>, o: RigOptions = {}) {
  const r = makeRig(o);
  const req = buildRequest(r.alloc, { head: 0, ...spec });
  r.vq.avail.push(req.elem);
  r.kick();
  expect(r.errors).toEqual([]);
  expect(r.vq.used).toHaveLength(1);
  return { status: r.mem.read8(req.statusAddr), r };
}

const dwz = (type: number, s: DwzSegment[]) => ({ type, outData: encodeDwzSegments(s) });
const MiB = 1024 * 1024;

describe('virtio-blk: IOERR', () => {
  it.each([
    ['a read past the end', { type: VIRTIO_BLK_T_IN, sector: MiB / 512 - 1, inLen: 1024 }],
    ['a read starting past the end', { type: VIRTIO_BLK_T_IN, sector: MiB / 512 + 1, inLen: 0 }],
    ['a sector beyond 2^53', { type: VIRTIO_BLK_T_IN, sector: 2 ** 60, inLen: 512 }],
    ['a read of 100 bytes', { type: VIRTIO_BLK_T_IN, sector: 0, inLen: 100 }],
    ['a write of 513 bytes', { type: VIRTIO_BLK_T_OUT, sector: 0, outData: new Uint8Array(513) }],
    ['a write past the end', { type: VIRTIO_BLK_T_OUT, sector: MiB / 512, outData: new Uint8Array(512) }],
  ] as const)('%s', (_, spec) => {
    const { status, r } = statusOf(spec);
    expect(status).toBe(VIRTIO_BLK_S_IOERR);
    expect(r.backend.calls).toEqual([]);
  });

  it('a 512-byte read or a misaligned sector with logical_block_size=4096', () => {
    const o = { props: { logical_block_size: 4096, physical_block_size: 4096 } };
    expect(statusOf({ type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 }, o).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(statusOf({ type: VIRTIO_BLK_T_IN, sector: 4, inLen: 4096 }, o).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(statusOf({ type: VIRTIO_BLK_T_IN, sector: 8, inLen: 4096 }, o).status).toBe(VIRTIO_BLK_S_OK);
  });

  it('writes, discards and write-zeroes on a read-only drive; reads still work', () => {
    const o = { readOnly: true };
    expect(statusOf({ type: VIRTIO_BLK_T_OUT, sector: 0, outData: new Uint8Array(512) }, o).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(statusOf(dwz(VIRTIO_BLK_T_DISCARD, [{ sector: 0, numSectors: 1, flags: 0 }]), o).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(statusOf(dwz(VIRTIO_BLK_T_WRITE_ZEROES, [{ sector: 0, numSectors: 1, flags: 0 }]), o).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(statusOf({ type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 }, o).status).toBe(VIRTIO_BLK_S_OK);
  });

  it('a backend error (werror/rerror=report), without touching the read buffer', () => {
    const r = makeRig();
    r.backend.failWith = (c) => (c.op === 'read' || c.op === 'flush' ? { errno: 'EIO', message: 'injected' } : null);
    const rd = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 });
    r.mem.fill(rd.inData[0].addr, 512, 0x77);
    const fl = buildRequest(r.alloc, { head: 1, type: 4 });
    const wr = buildRequest(r.alloc, { head: 2, type: VIRTIO_BLK_T_OUT, sector: 0, outData: new Uint8Array(512) });
    r.vq.avail.push(rd.elem, fl.elem, wr.elem);
    r.kick();
    expect([rd, fl, wr].map((q) => r.mem.read8(q.statusAddr))).toEqual([VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK]);
    expect(r.mem.read(rd.inData[0].addr, 512).every((b) => b === 0x77)).toBe(true);
    expect(r.vq.used.map((u) => u.head).sort()).toEqual([0, 1, 2]);
  });

  it('discard / write-zeroes: too many sectors or out of range', () => {
    const small = { props: { 'max-discard-sectors': 8, 'max-write-zeroes-sectors': 8 } };
    expect(statusOf(dwz(VIRTIO_BLK_T_DISCARD, [{ sector: 0, numSectors: 9, flags: 0 }]), small).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(statusOf(dwz(VIRTIO_BLK_T_WRITE_ZEROES, [{ sector: 0, numSectors: 9, flags: 0 }]), small).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(statusOf(dwz(VIRTIO_BLK_T_DISCARD, [{ sector: MiB / 512 - 1, numSectors: 2, flags: 0 }])).status).toBe(VIRTIO_BLK_S_IOERR);
  });
});

describe('virtio-blk: UNSUPP', () => {
  it.each([
    ['an unknown type', { type: 99, inLen: 512 }],
    ['GET_LIFETIME (10)', { type: 10, inLen: 16 }],
    ['SECURE_ERASE (14)', { type: 14, outData: new Uint8Array(16) }],
    ['ZONE_APPEND (15)', { type: 15, outData: new Uint8Array(512) }],
    ['ZONE_OPEN (18)', { type: 18 }],
    ['ZONE_RESET_ALL (26)', { type: 26 }],
    ['ZONE_REPORT with a big enough buffer', { type: VIRTIO_BLK_T_ZONE_REPORT, inLen: 80 }],
    ['DISCARD with the unmap flag', dwz(VIRTIO_BLK_T_DISCARD, [{ sector: 0, numSectors: 1, flags: 1 }])],
    ['DISCARD with an unknown flag', dwz(VIRTIO_BLK_T_DISCARD, [{ sector: 0, numSectors: 1, flags: 2 }])],
    ['WRITE_ZEROES with an unknown flag', dwz(VIRTIO_BLK_T_WRITE_ZEROES, [{ sector: 0, numSectors: 1, flags: 4 }])],
    ['DISCARD with two segments (max_discard_seg = 1)', dwz(VIRTIO_BLK_T_DISCARD, [{ sector: 0, numSectors: 1, flags: 0 }, { sector: 8, numSectors: 1, flags: 0 }])],
  ] as const)('%s', (_, spec) => {
    const { status, r } = statusOf(spec);
    expect(status).toBe(VIRTIO_BLK_S_UNSUPP);
    expect(r.backend.calls).toEqual([]);
  });

  it('DISCARD with discard=off, WRITE_ZEROES with write-zeroes=off', () => {
    const seg = [{ sector: 0, numSectors: 1, flags: 0 }];
    expect(statusOf(dwz(VIRTIO_BLK_T_DISCARD, seg), { props: { discard: false } }).status).toBe(VIRTIO_BLK_S_UNSUPP);
    expect(statusOf(dwz(VIRTIO_BLK_T_WRITE_ZEROES, seg), { props: { 'write-zeroes': false } }).status).toBe(VIRTIO_BLK_S_UNSUPP);
  });

  it('SCSI_CMD: IOERR without enough buffers; otherwise UNSUPP with errors = 255 in the scsi inhdr', () => {
    expect(statusOf({ type: VIRTIO_BLK_T_SCSI_CMD, inLen: 96 }).status).toBe(VIRTIO_BLK_S_IOERR);
    const r = makeRig();
    const req = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_SCSI_CMD, outData: new Uint8Array(6), inLen: 96 + 16, chunk: 96 });
    expect(req.elem.in.length).toBe(3);
    r.vq.avail.push(req.elem);
    r.kick();
    expect(r.mem.read8(req.statusAddr)).toBe(VIRTIO_BLK_S_UNSUPP);
    expect(r.mem.read32(req.elem.in[1].addr)).toBe(255);
  });
});

describe('virtio-blk: chains that are not requests → virtio_error, never a throw', () => {
  const cases: [string, (b: ReturnType<typeof buildRequest>) => void, string][] = [
    ['no readable buffer', (b) => b.elem.out.splice(0), MSG_MISSING_HEADERS],
    ['no writable buffer', (b) => b.elem.in.splice(0), MSG_MISSING_HEADERS],
    ['a 15-byte header', (b) => (b.elem.out[0] = { addr: b.elem.out[0].addr, len: 15 }), MSG_OUTHDR_TOO_SHORT],
    ['an empty last writable buffer', (b) => b.elem.in.push({ addr: 0x2000, len: 0 }), MSG_INHDR_TOO_SHORT],
  ];
  it.each(cases)('%s', (_, mangle, message) => {
    const r = makeRig();
    const bad = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 });
    mangle(bad);
    const next = buildRequest(r.alloc, { head: 1, type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 });
    r.vq.avail.push(bad.elem, next.elem);
    r.kick();
    expect(r.errors).toEqual([message]);
    expect(r.dev.broken).toBe(true);
    expect(r.vq.used).toEqual([]);
    expect(r.backend.calls).toEqual([]);
    expect(r.rec.events.filter((e) => e.kind === 'device-error')).toMatchObject([{ dev: 'vda', vq: 0, message }]);
    r.kick(); // a broken device ignores kicks
    expect(r.vq.avail).toHaveLength(1);
    r.dev.reset();
    r.dev.setFeatures(r.dev.hostFeatures());
    r.kick();
    expect(r.vq.used).toEqual([{ head: 1, len: 513 }]);
  });

  it('a discard payload shorter than one segment', () => {
    const r = makeRig();
    r.vq.avail.push(buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_DISCARD, outData: new Uint8Array(8) }).elem);
    r.kick();
    expect(r.errors).toEqual([MSG_DWZ_HEADER_TOO_SHORT]);
  });

  it('a zone report into fewer than 81 writable bytes (checked before "is it zoned?")', () => {
    const r = makeRig();
    r.vq.avail.push(buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_ZONE_REPORT, inLen: 79 }).elem);
    r.kick();
    expect(r.errors).toEqual([MSG_ZONE_REPORT_TOO_SMALL]);
  });

  it('requests merged before the bad chain are still submitted; in-flight ones complete to memory but not the ring', () => {
    const r = makeRig();
    const ok = buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_OUT, sector: 0, outData: new Uint8Array(512).fill(9) });
    const bad = buildRequest(r.alloc, { head: 1, type: VIRTIO_BLK_T_IN, sector: 0, inLen: 512 });
    bad.elem.out.splice(0);
    r.vq.avail.push(ok.elem, bad.elem);
    r.kick();
    expect(r.backend.calls.map((c) => c.op)).toEqual(['write']);
    expect(r.backend.data[0]).toBe(9);
    expect(r.mem.read8(ok.statusAddr)).toBe(VIRTIO_BLK_S_OK);
    expect(r.vq.used).toEqual([]);
  });

  it('a broken ring reported by the queue stops the handler without calling onError', () => {
    const r = makeRig();
    r.vq.avail.push('broken', buildRequest(r.alloc, { head: 0, type: VIRTIO_BLK_T_IN, inLen: 512 }).elem);
    r.kick();
    expect(r.errors).toEqual([]);
    expect(r.dev.broken).toBe(true);
    expect(r.vq.used).toEqual([]);
  });
});
