import { describe, expect, it } from 'vitest';
import { SAM_STAT_CHECK_CONDITION, SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import {
  VIRTIO_SCSI_S_BAD_TARGET,
  VIRTIO_SCSI_S_FAILURE,
  VIRTIO_SCSI_S_OK,
  VIRTIO_SCSI_S_OVERRUN,
} from '../../../hw/virtio/scsi.js';
import { parseSense, SENSE } from '../scsi-bus/defs.js';
import { inquiry, read10, write10 } from '../scsi-disk/test-utils.js';
import { makeScsiRig } from './test-utils.js';

const pattern = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe('virtio-scsi request queue: commands to scsi-hd', () => {
  it('INQUIRY: standard data of a QEMU HARDDISK, response OK / GOOD, residual of the unused buffer', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const c = r.command({ target: 0, lun: 0, cdb: inquiry(96), dataIn: 96 });
    r.kick(2);
    const a = r.response(c);
    expect({ response: a.response, status: a.status, senseLen: a.senseLen }).toEqual({ response: VIRTIO_SCSI_S_OK, status: SAM_STAT_GOOD, senseLen: 0 });
    expect(a.data[0]).toBe(0x00); // TYPE_DISK, peripheral qualifier 0
    expect(new TextDecoder().decode(a.data.subarray(8, 16))).toBe('QEMU    ');
    expect(new TextDecoder().decode(a.data.subarray(16, 32))).toBe('QEMU HARDDISK   ');
    expect(a.resid).toBe(96 - (a.data[4] + 5));
    // Used length: every data byte plus the whole response header (12 + sense_size).
    expect(r.used(2)).toEqual([{ id: c.head, len: 96 + 12 + 96 }]);
    expect(r.interrupts[2]).toHaveLength(1);
  });

  it('WRITE(10) then READ(10) round-trips the data through the drive, completing later', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const data = pattern(4096, 3);
    const w = r.command({ target: 0, lun: 0, cdb: write10(16, 8), dataOut: data, tag: 5n });
    let atKick = { used: -1, inFlight: -1 };
    r.ctx.run('kick', () => {
      r.hba.handleOutput(r.vqs[2]);
      atKick = { used: r.drv[2].usedIdx(), inFlight: r.hba.inFlight };
    });
    r.env.sim.run();
    expect(atKick).toEqual({ used: 0, inFlight: 1 }); // at the drive, not answered inline
    expect(r.hba.inFlight).toBe(0);
    expect(r.response(w)).toMatchObject({ response: VIRTIO_SCSI_S_OK, status: SAM_STAT_GOOD, resid: 0 });
    expect(r.used(2)).toEqual([{ id: w.head, len: 4096 + 108 }]);
    const rd = r.command({ target: 0, lun: 0, cdb: read10(16, 8), dataIn: 4096, tag: 6n });
    r.kick(2);
    const a = r.response(rd);
    expect(a).toMatchObject({ response: VIRTIO_SCSI_S_OK, status: SAM_STAT_GOOD, resid: 0 });
    expect(a.data).toEqual(data);
  });

  it('several commands popped in one kick are all answered, on any request queue', () => {
    const r = makeScsiRig({ props: { num_queues: 2 }, disks: [{ id: 0, lun: 0 }, { id: 1, lun: 3 }] });
    const a = r.command({ target: 0, lun: 0, cdb: write10(0, 1), dataOut: pattern(512), q: 3 });
    const b = r.command({ target: 1, lun: 3, cdb: write10(0, 1), dataOut: pattern(512, 9), q: 3 });
    r.kick(3);
    expect(r.used(3).map((u) => u.id)).toEqual(expect.arrayContaining([a.head, b.head]));
    const ra = r.command({ target: 0, lun: 0, cdb: read10(0, 1), dataIn: 512, q: 3 });
    const rb = r.command({ target: 1, lun: 3, cdb: read10(0, 1), dataIn: 512, q: 3 });
    r.kick(3);
    expect(r.response(ra).data).toEqual(pattern(512));
    expect(r.response(rb).data).toEqual(pattern(512, 9));
  });

  it('a read past the end is CHECK CONDITION with LBA OUT OF RANGE sense, sense_len and no residual', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0, size: 64 * 1024 }] });
    const c = r.command({ target: 0, lun: 0, cdb: read10(200, 1), dataIn: 512 });
    r.kick(2);
    const a = r.response(c);
    expect({ response: a.response, status: a.status, resid: a.resid }).toEqual({ response: VIRTIO_SCSI_S_OK, status: SAM_STAT_CHECK_CONDITION, resid: 0 });
    expect(a.senseLen).toBe(18);
    expect(parseSense(a.sense)).toEqual(SENSE.LBA_OUT_OF_RANGE);
  });

  it('sense is cut to the sense_size the driver set, and sense_len says what was written', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0, size: 64 * 1024 }] });
    r.hba.writeConfig(0x14, 4, 8);
    const c = r.command({ target: 0, lun: 0, cdb: read10(200, 1), dataIn: 512 });
    expect(c.respLen).toBe(20);
    r.kick(2);
    const a = r.response(c);
    expect(a.senseLen).toBe(8);
    expect(r.used(2)).toEqual([{ id: c.head, len: 512 + 20 }]);
  });

  it('the first command after the disk joined the bus reports the RESET unit attention', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }], keepUa: true });
    const c = r.command({ target: 0, lun: 0, cdb: read10(0, 1), dataIn: 512 });
    r.kick(2);
    const a = r.response(c);
    expect(a.status).toBe(SAM_STAT_CHECK_CONDITION);
    expect(parseSense(a.sense)?.key).toBe(6);
    const again = r.command({ target: 0, lun: 0, cdb: read10(0, 1), dataIn: 512 });
    r.kick(2);
    expect(r.response(again).status).toBe(SAM_STAT_GOOD);
  });
});

describe('virtio-scsi request queue: addressing and transport responses', () => {
  it('a target with no device is VIRTIO_SCSI_S_BAD_TARGET, nothing reaches the bus', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const c = r.command({ target: 5, lun: 0, cdb: inquiry(36), dataIn: 36 });
    r.kick(2);
    expect(r.response(c)).toMatchObject({ response: VIRTIO_SCSI_S_BAD_TARGET, status: 0, senseLen: 0, resid: 0 });
    expect(r.used(2)).toEqual([{ id: c.head, len: 36 + 108 }]);
  });

  it('a malformed LUN field (lun[0] != 1, the REPORT LUNS well-known LU, a bad address method) is BAD_TARGET', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const bad = [Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of(0xc1, 1, 0, 0, 0, 0, 0, 0), Uint8Array.of(1, 0, 0x80, 0, 0, 0, 0, 0)];
    const cs = bad.map((lunBytes) => r.command({ target: 0, lun: 0, lunBytes, cdb: inquiry(36), dataIn: 36 }));
    r.kick(2);
    for (const c of cs) expect(r.response(c).response).toBe(VIRTIO_SCSI_S_BAD_TARGET);
  });

  it('an absent LUN of a present target is answered by the bus: INQUIRY qualifier 3, others LOGICAL UNIT NOT SUPPORTED', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const i = r.command({ target: 0, lun: 7, cdb: inquiry(36), dataIn: 36 });
    const rd = r.command({ target: 0, lun: 7, cdb: read10(0, 1), dataIn: 512 });
    r.kick(2);
    expect(r.response(i)).toMatchObject({ response: VIRTIO_SCSI_S_OK, status: SAM_STAT_GOOD });
    expect(r.response(i).data[0]).toBe(0x7f);
    const a = r.response(rd);
    expect(a.status).toBe(SAM_STAT_CHECK_CONDITION);
    expect(parseSense(a.sense)).toEqual(SENSE.LUN_NOT_SUPPORTED);
  });

  it('a buffer smaller than the command transfers, or in the wrong direction, is VIRTIO_SCSI_S_OVERRUN', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const small = r.command({ target: 0, lun: 0, cdb: read10(0, 2), dataIn: 512 });
    const wrongWay = r.command({ target: 0, lun: 0, cdb: read10(0, 1), dataOut: pattern(512) });
    r.kick(2);
    expect(r.response(small).response).toBe(VIRTIO_SCSI_S_OVERRUN);
    expect(r.response(wrongWay).response).toBe(VIRTIO_SCSI_S_OVERRUN);
    expect(r.drives[0]).toBeDefined();
    expect(r.hba.inFlight).toBe(0);
  });

  it('data in both directions (no VIRTIO_SCSI_F_INOUT) is VIRTIO_SCSI_S_FAILURE', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    const c = r.command({ target: 0, lun: 0, cdb: write10(0, 1), dataOut: pattern(512), dataIn: 512 });
    r.kick(2);
    expect(r.response(c).response).toBe(VIRTIO_SCSI_S_FAILURE);
    expect(r.used(2)).toEqual([{ id: c.head, len: 512 + 512 + 108 }]);
  });

  it('an empty queue kick does nothing; notifications are disabled while popping and enabled after', () => {
    const r = makeScsiRig({ disks: [{ id: 0, lun: 0 }] });
    r.kick(2);
    expect(r.used(2)).toEqual([]);
    expect(r.drv[2].usedFlags()).toBe(0);
  });
});
