/**
 * Error paths end to end (sd → midlayer → virtio-scsi → fake device → fake target):
 * check conditions retried or failed per their sense, and timeouts — left to the host as
 * Linux's virtio-scsi does, or escalated ABORT TASK → LOGICAL UNIT RESET → offline
 * through TMFs on the control queue.
 */
import { describe, expect, it } from 'vitest';
import { SENSE_CODE } from '../../hw/scsi/sense-codes.js';
import * as V from '../../hw/virtio/scsi.js';
import { bio, bootSd, type SdBooted } from '../virtio-drivers/virtio-scsi/testing.js';

const read = (b: SdBooted, limitNs?: number) => {
  const a = b.tk.kernel.alloc.alloc(4096, 4096);
  return bio(b, 'sda', { op: 'read', sector: 0, sectors: 8, segments: [{ addr: a, len: 4096 }] }, limitNs);
};
const reads = (b: SdBooted): number => b.target.log.filter((l) => l.op === 'READ').length;

describe('check conditions', () => {
  it('UNIT ATTENTION is retried and the read succeeds', () => {
    const b = bootSd([[0, 0]]);
    b.target.luns.get('0:0')!.ua = SENSE_CODE.CAPACITY_CHANGED;
    expect(read(b)).toBe('ok');
    expect(reads(b)).toBe(2);
  });

  it('NOT READY: becoming ready is retried at once; format in progress after a delay', () => {
    const b = bootSd([[0, 0]]);
    b.target.inject((c) => c.op === 'READ', { sense: SENSE_CODE.LUN_BECOMING_READY }, 2);
    let t0 = b.tk.sim.now;
    expect(read(b)).toBe('ok');
    expect(reads(b)).toBe(3);
    expect(b.tk.sim.now - t0).toBeLessThan(3_000_000);
    b.target.inject((c) => c.op === 'READ', { sense: { key: 0x2, asc: 0x04, ascq: 0x04 } }, 2);
    t0 = b.tk.sim.now;
    expect(read(b)).toBe('ok');
    expect(reads(b)).toBe(6);
    expect(b.tk.sim.now - t0).toBeGreaterThanOrEqual(6_000_000);
  });

  it('MEDIUM ERROR (unrecovered read error) fails at once with BLK_STS_MEDIUM', () => {
    const b = bootSd([[0, 0]]);
    b.target.inject((c) => c.op === 'READ', { sense: SENSE_CODE.READ_ERROR }, 10);
    expect(read(b)).toBe('medium');
    expect(reads(b)).toBe(1);
  });

  it('ILLEGAL REQUEST fails without retry; INVALID FIELD IN CDB is BLK_STS_TARGET', () => {
    const b = bootSd([[0, 0]]);
    b.target.inject((c) => c.op === 'READ', { sense: SENSE_CODE.INVALID_FIELD }, 10);
    expect(read(b)).toBe('target');
    expect(reads(b)).toBe(1);
  });

  it('ABORTED COMMAND is retried up to allowed (5) times, then fails', () => {
    const b = bootSd([[0, 0]]);
    b.target.inject((c) => c.op === 'READ', { sense: SENSE_CODE.IO_ERROR }, 100);
    expect(read(b)).toBe('ioerr');
    expect(reads(b)).toBe(6);
  });

  it('BUSY from the transport (VIRTIO_SCSI_S_BUSY) is retried', () => {
    const b = bootSd([[0, 0]]);
    b.target.inject((c) => c.op === 'READ', { response: V.VIRTIO_SCSI_S_BUSY }, 2);
    expect(read(b)).toBe('ok');
    expect(reads(b)).toBe(3);
  });

  it('BAD TARGET fails at once', () => {
    const b = bootSd([[0, 0]]);
    b.target.inject((c) => c.op === 'READ', { response: V.VIRTIO_SCSI_S_BAD_TARGET }, 10);
    expect(read(b)).toBe('ioerr');
  });
});

describe('timeouts', () => {
  it('Linux virtio-scsi leaves them to the host: no TMF, the request keeps waiting', () => {
    const b = bootSd([[0, 0]]);
    b.target.inject((c) => c.op === 'READ', { hang: true });
    expect(read(b, 200e9)).toBe('pending');
    expect(b.drv.tmf.sent).toEqual([]);
  });

  it('with the midlayer handling them: ABORT TASK, then the command is retried and succeeds', () => {
    const b = bootSd([[0, 0]], { hostHandlesTimeouts: false });
    b.target.inject((c) => c.op === 'READ', { hang: true });
    expect(read(b)).toBe('ok');
    expect(b.drv.tmf.sent).toEqual(['ABORT_TASK']);
    expect(reads(b)).toBe(2);
  });

  it('abort refused: the error handler resets the LUN, checks it with TEST UNIT READY, retries', () => {
    const b = bootSd([[0, 0]], { hostHandlesTimeouts: false, tmf: (sub) => (sub === V.VIRTIO_SCSI_T_TMF_ABORT_TASK ? V.VIRTIO_SCSI_S_FUNCTION_REJECTED : V.VIRTIO_SCSI_S_FUNCTION_COMPLETE) });
    b.target.inject((c) => c.op === 'READ', { hang: true });
    expect(read(b)).toBe('ok');
    expect(b.drv.tmf.sent).toEqual(['ABORT_TASK', 'ABORT_TASK', 'LOGICAL_UNIT_RESET']);
    expect(b.drv.host.eh.runs).toBe(1);
    expect(b.target.log.at(-2)!.op).toBe('TEST_UNIT_READY');
  });

  it('nothing works: the device is taken offline and the request fails; later ones fail at once', () => {
    const b = bootSd([[0, 0]], { hostHandlesTimeouts: false, tmf: () => V.VIRTIO_SCSI_S_FUNCTION_REJECTED });
    b.target.inject((c) => c.op === 'READ', { hang: true });
    expect(read(b)).toBe('ioerr');
    expect(b.drv.tmf.sent).toEqual(['ABORT_TASK', 'ABORT_TASK', 'LOGICAL_UNIT_RESET']);
    const sdev = b.sd.disks.get('sda')!.disk.sdev;
    expect(sdev.state).toBe('offline');
    const n = b.target.log.length;
    expect(read(b)).toBe('ioerr');
    expect(b.target.log.length).toBe(n);
  });
});
