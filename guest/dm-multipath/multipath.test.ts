import { describe, expect, it } from 'vitest';
import { writeBio } from '../blockdev/bio.js';
import { SENSE_CODE, type SenseCode } from '../../hw/scsi/sense-codes.js';
import { VIRTIO_SCSI_S_TRANSPORT_FAILURE } from '../../hw/virtio/scsi.js';
import type { BlkStatus } from '../blockdev/request.js';
import { blkPathError } from './path.js';
import { mapBio, mpathRig } from './testing.js';

const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe('multipathd discovery', () => {
  it('groups the two SCSI disks of one LUN by WWID into mpatha over sda and sdb', () => {
    const r = mpathRig();
    expect([...r.sd.disks.keys()]).toEqual(['sda', 'sdb']);
    expect(r.map.alias).toBe('mpatha');
    expect(r.map.name).toBe('dm-0');
    expect(r.map.wwid).toBe('35000c50015ea71ac');
    expect(r.map.paths.map((p) => [p.name, p.state])).toEqual([
      ['sda', 'active'],
      ['sdb', 'active'],
    ]);
    expect(r.map.capacitySectors).toBe(4096);
  });
});

describe('I/O over the map', () => {
  it('writes and reads back through either path; service-time spreads I/O over both', () => {
    const r = mpathRig();
    const data = pattern(8192, 3);
    expect(mapBio(r, 'write', 16, data).status).toBe('ok');
    expect(r.lun.data.subarray(16 * 512, 16 * 512 + 8192)).toEqual(data);
    const back = mapBio(r, 'read', 16, new Uint8Array(8192));
    expect(back).toEqual({ status: 'ok', data });
    expect(r.map.paths.every((p) => p.completed > 0)).toBe(true);
  });

  it('a path whose link is cut fails on its first I/O error; the bio is retried on the other path', () => {
    const r = mpathRig({ selector: 'round-robin' });
    r.links[0].cut();
    for (let i = 0; i < 4; i++) expect(mapBio(r, 'write', i * 8, pattern(4096, i)).status).toBe('ok');
    expect(r.map.paths.map((p) => [p.name, p.state, p.failCount])).toEqual([
      ['sda', 'failed', 1],
      ['sdb', 'active', 0],
    ]);
    for (let i = 0; i < 4; i++) expect(r.lun.data.subarray(i * 4096, (i + 1) * 4096)).toEqual(pattern(4096, i));
    expect(r.links[0].failed).toBeGreaterThan(0);
  });

  it('a write in flight when its path is cut is acknowledged only after the other path completed it', () => {
    const r = mpathRig({ selector: 'round-robin' });
    const { kernel, sim, tasks } = r.tk;
    const data = pattern(4096, 9);
    const buf = kernel.alloc.alloc(4096, 4096);
    kernel.mem.write(buf, data);
    const statuses: BlkStatus[] = [];
    tasks[0].run('io', () => r.map.submitBioCb(tasks[0], writeBio(64, [{ addr: buf, len: 4096 }]), (s) => statuses.push(s)));
    // The write reaches the target (and lands); its answer is lost when the link goes.
    sim.run({ stop: () => r.lun.data[64 * 512] === data[0], until: sim.now + 1e9 });
    const first = r.map.paths.find((p) => p.inFlight === 1)!;
    r.links[r.map.paths.indexOf(first)].cut();
    expect(statuses).toEqual([]);
    sim.run({ stop: () => statuses.length > 0, until: sim.now + 10e9 });
    expect(statuses).toEqual(['ok']);
    expect(first.state).toBe('failed');
    expect(r.map.paths.find((p) => p !== first)!.completed).toBe(1);
  });
});

describe('path errors and target errors (blk_path_error)', () => {
  const reads = (r: ReturnType<typeof mpathRig>): number => r.target.log.filter((c) => c.op === 'READ').length;

  it("a medium error is the logical unit's: returned to the caller, no path failed, not retried on the other path", () => {
    const r = mpathRig({ selector: 'round-robin' });
    expect(mapBio(r, 'write', 0, pattern(4096, 1)).status).toBe('ok');
    const before = reads(r);
    r.target.inject((c) => c.op === 'READ', { sense: SENSE_CODE.READ_ERROR });
    expect(mapBio(r, 'read', 0, new Uint8Array(4096)).status).toBe('medium');
    expect(reads(r) - before).toBe(1);
    expect(r.map.paths.map((p) => [p.state, p.failCount])).toEqual([
      ['active', 0],
      ['active', 0],
    ]);
    // The next read of the same blocks works, over either path.
    expect(mapBio(r, 'read', 0, new Uint8Array(4096))).toEqual({ status: 'ok', data: pattern(4096, 1) });
  });

  it('so are target failures, reservation conflicts, thin-provisioning exhaustion and integrity errors', () => {
    const cases: [SenseCode, BlkStatus][] = [
      [SENSE_CODE.TARGET_FAILURE, 'target'],
      [SENSE_CODE.SPACE_ALLOC_FAILED, 'nospc'],
      [{ key: 0x0b, asc: 0x10, ascq: 0x01 }, 'protection'],
    ];
    for (const [sense, status] of cases) {
      const r = mpathRig();
      r.target.inject((c) => c.op === 'WRITE', { sense });
      expect(mapBio(r, 'write', 8, pattern(4096, 2)).status, status).toBe(status);
      expect(r.map.validPaths).toBe(2);
    }
    for (const st of ['medium', 'target', 'nexus', 'nospc', 'protection', 'notsupp'] as const) expect(blkPathError(st), st).toBe(false);
    for (const st of ['ioerr', 'transport', 'timeout', 'resource'] as const) expect(blkPathError(st), st).toBe(true);
  });

  it('a transport failure is the path\'s: the path fails and the I/O completes on the other one', () => {
    const r = mpathRig({ selector: 'round-robin' });
    r.target.inject((c) => c.op === 'WRITE', { response: VIRTIO_SCSI_S_TRANSPORT_FAILURE }, 6);
    expect(mapBio(r, 'write', 16, pattern(4096, 3)).status).toBe('ok');
    expect(r.map.paths.filter((p) => p.state === 'failed')).toHaveLength(1);
    expect(r.map.validPaths).toBe(1);
    expect(r.lun.data.subarray(16 * 512, 16 * 512 + 4096)).toEqual(pattern(4096, 3));
  });
});

describe('no path left', () => {
  it("no_path_retry fail: I/O fails at once with both paths down", () => {
    const r = mpathRig({ noPathRetry: 'fail' });
    r.links.forEach((l) => l.cut());
    expect(mapBio(r, 'write', 0, pattern(4096, 1)).status).toBe('ioerr');
    expect(r.map.validPaths).toBe(0);
  });

  it('queue: I/O waits for a path, and the checker reinstating one lets it complete', () => {
    const r = mpathRig({ noPathRetry: 'queue', pollingIntervalNs: 1e9 });
    r.links.forEach((l) => l.cut());
    r.mpd.start();
    const { sim } = r.tk;
    const p = mapBio(r, 'write', 0, pattern(4096, 2), 3e9);
    expect(p.status).toBe('pending');
    expect(r.map.queuedBios).toBe(1);
    r.links[1].restore();
    let done = false;
    sim.run({ stop: () => (done = r.map.queuedBios === 0 && r.map.validPaths === 1), until: sim.now + 3e9 });
    r.mpd.stop();
    expect(done).toBe(true);
    sim.run({ until: sim.now + 1e9 });
    expect(r.lun.data.subarray(0, 4096)).toEqual(pattern(4096, 2));
    expect(r.map.paths.map((x) => x.state)).toEqual(['failed', 'active']);
  });

  it('no_path_retry 2: queued I/O fails after two checker intervals without a path', () => {
    const r = mpathRig({ noPathRetry: 2, pollingIntervalNs: 1e9 });
    r.links.forEach((l) => l.cut());
    r.mpd.start();
    const t0 = r.tk.sim.now;
    const res = mapBio(r, 'write', 0, pattern(4096, 4), 10e9);
    r.mpd.stop();
    expect(res.status).toBe('ioerr');
    const waited = r.tk.sim.now - t0;
    expect(waited).toBeGreaterThan(2e9);
    expect(waited).toBeLessThan(4e9);
    expect(r.map.queueIfNoPath).toBe(false);
  });
});

describe('the path checker', () => {
  it('fails an idle path whose link is down and reinstates it when the link is back', () => {
    const r = mpathRig({ pollingIntervalNs: 1e9 });
    const { sim } = r.tk;
    r.mpd.start();
    r.links[0].cut();
    sim.run({ until: sim.now + 1.5e9 });
    expect(r.map.paths.map((p) => p.state)).toEqual(['failed', 'active']);
    r.links[0].restore();
    sim.run({ until: sim.now + 1e9 });
    r.mpd.stop();
    expect(r.map.paths.map((p) => p.state)).toEqual(['active', 'active']);
    expect(r.target.log.filter((c) => c.op === 'TEST_UNIT_READY').length).toBeGreaterThanOrEqual(3);
  });

  it('a removed disk leaves the map; I/O goes on over the rest', () => {
    const r = mpathRig({ paths: 3 });
    expect(r.map.paths.map((p) => p.name)).toEqual(['sda', 'sdb', 'sdc']);
    r.mpd.removePath('sdb');
    expect(r.map.paths.map((p) => p.name)).toEqual(['sda', 'sdc']);
    expect(mapBio(r, 'write', 0, pattern(4096, 5)).status).toBe('ok');
  });
});
