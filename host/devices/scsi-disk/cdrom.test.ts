/**
 * scsi-cd: 2048-byte blocks, read-only, no block descriptors, and the MMC commands, byte for
 * byte as QEMU 7.2 (hw/scsi/scsi-disk.c, hw/block/cdrom.c).
 */
import { describe, expect, it } from 'vitest';
import { SENSE } from '../scsi-bus/defs.js';
import { cdb, expectCheck, expectGood, inquiry, makeRig, read10, run, write10 } from './test-utils.js';

const MiB = 1024 * 1024;
const cd = (o: Parameters<typeof makeRig>[0] = {}) => makeRig({ kind: 'scsi-cd', size: 4 * MiB, ...o });
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];

describe('scsi-cd', () => {
  it('INQUIRY: type 5, removable, QEMU CD-ROM; VPD page 0 lists 0x00 and 0x83 only; no block limits', () => {
    const a = run(cd(), inquiry(36));
    expect([...a.data.subarray(0, 32)]).toEqual([0x05, 0x80, 5, 0x12, 31, 0, 0, 0x12, ...ascii('QEMU    '), ...ascii('QEMU CD-ROM     ')]);
    expect([...run(cd(), inquiry(255, 1, 0)).data.subarray(0, 6)]).toEqual([0x05, 0, 0, 2, 0x00, 0x83]);
    expectCheck(run(cd(), inquiry(255, 1, 0xb0)), SENSE.INVALID_FIELD);
  });

  it('READ CAPACITY(10): 2048-byte blocks', () => {
    expect([...run(cd(), cdb(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0)).data]).toEqual([0, 0, 0x07, 0xff, 0, 0, 0x08, 0]);
  });

  it('reads 2048-byte blocks; writes are WRITE PROTECTED', () => {
    const r = cd();
    const a = run(r, read10(1, 2), { dataIn: 4096 });
    expect(a.xfer).toBe(4096);
    expectGood(a);
    expectCheck(run(r, write10(0, 1), { dataOut: new Uint8Array(2048) }), SENSE.WRITE_PROTECTED);
  });

  it('MODE SENSE(10) capabilities page, no block descriptor', () => {
    const a = run(cd(), cdb(0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 30, 0));
    expect([...a.data]).toEqual([
      0, 28, 0, 0, 0, 0, 0, 0,
      0x2a, 0x14, 0x3b, 0, 0x7f, 0xff, 0x2d, 0, 0x22, 0x60, 0, 2, 0x08, 0x00, 0x0b, 0x00, 0, 0, 0x0b, 0x00, 0x0b, 0x00,
    ]);
  });

  it('READ TOC format 0 (LBA and MSF) and format 1', () => {
    const r = cd();
    // 4 MiB = 2048 blocks of 2 KiB: lead-out at LBA 2048 = MSF 00:29:23 (2048 + 150 frames).
    expect([...run(r, cdb(0x43, 0, 0, 0, 0, 0, 0, 0, 20, 0)).data]).toEqual([0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x16, 0xaa, 0, 0, 0, 0x08, 0x00]);
    expect([...run(r, cdb(0x43, 2, 0, 0, 0, 0, 0, 0, 20, 0)).data]).toEqual([0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 2, 0, 0, 0x16, 0xaa, 0, 0, 0, 29, 23]);
    expect([...run(r, cdb(0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0)).data]).toEqual([0, 0x0a, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expectCheck(run(r, cdb(0x43, 0, 0, 0, 0, 0, 2, 0, 20, 0)), SENSE.INVALID_FIELD);
  });

  it('GET EVENT STATUS NOTIFICATION (polled, media class): no change, medium present; asynchronous is refused', () => {
    const r = cd();
    expect([...run(r, cdb(0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0)).data]).toEqual([0, 4, 4, 0x10, 0, 2, 0, 0]);
    expectCheck(run(r, cdb(0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8, 0)), SENSE.INVALID_FIELD);
  });

  it('GET CONFIGURATION: current profile CD-ROM', () => {
    const a = run(cd(), cdb(0x46, 0, 0, 0, 0, 0, 0, 0, 40, 0));
    expect([...a.data.subarray(0, 20)]).toEqual([0, 0, 0, 36, 0, 0, 0, 0x08, 0, 0, 0x03, 8, 0, 0x10, 0, 0, 0, 0x08, 1, 0]);
  });

  it('an empty drive: TEST UNIT READY is NOT READY, MEDIUM NOT PRESENT; INQUIRY works', () => {
    const r = cd({ backend: null });
    expectCheck(run(r, cdb(0, 0, 0, 0, 0, 0)), SENSE.NO_MEDIUM);
    expectGood(run(r, inquiry(36)));
    expectCheck(run(r, read10(0, 1), { dataIn: 2048 }), SENSE.NO_MEDIUM);
  });
});
