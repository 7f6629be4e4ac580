/**
 * MODE SENSE / MODE SELECT, UNMAP, WRITE SAME, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL,
 * REQUEST SENSE and the refusals, byte for byte as QEMU 7.2's scsi-disk
 * (hw/scsi/scsi-disk.c mode_sense_page, scsi_disk_emulate_mode_sense / _mode_select,
 * scsi_disk_emulate_unmap, scsi_disk_emulate_write_same, scsi_disk_emulate_command).
 */
import { describe, expect, it } from 'vitest';
import { SENSE } from '../scsi-bus/defs.js';
import { cdb, expectCheck, expectGood, makeRig, read10, run, unmapCdb, unmapParams, writeSame10, writeSame16, write10 } from './test-utils.js';

const modeSense6 = (page: number, pc = 0, alloc = 255, dbd = 0) => cdb(0x1a, dbd ? 8 : 0, (pc << 6) | page, 0, alloc, 0);
const modeSense10 = (page: number, pc = 0, alloc = 255) => cdb(0x5a, 0, (pc << 6) | page, 0, 0, 0, 0, 0, alloc, 0);
const modeSelect6 = (len: number, flags = 0x10) => cdb(0x15, flags, 0, 0, len, 0);

describe('scsi-hd: MODE SENSE', () => {
  it('(6) all pages of a 1 MiB disk: header, block descriptor, pages 0x01, 0x04, 0x05, 0x08', () => {
    const a = run(makeRig({ size: 1024 * 1024 }), modeSense6(0x3f));
    expectGood(a);
    const want = [
      99, 0, 0x00, 8, // mode data length 100 - 1, medium type, device-specific (no WP, no DPOFUA), block descriptor length
      0, 0x00, 0x08, 0x00, 0, 0, 0x02, 0x00, // 2048 blocks of 512 bytes
      0x01, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, // read-write error recovery: AWRE
      // rigid disk geometry: 2 cylinders (guess_chs_for_size), 16 heads, precomp and reduced current
      // at cylinder 2, step rate 200, landing zone 0xffffff, 5400 rpm
      0x04, 0x16, 0, 0, 2, 16, 0, 0, 2, 0, 0, 2, 0, 200, 0xff, 0xff, 0xff, 0, 0, 0, 0x15, 0x18, 0, 0,
      // flexible disk: 5000 kbit/s, 16 heads, 63 sectors, 512-byte sectors, 2 cylinders, timings, 5400 rpm
      0x05, 0x1e, 0x13, 0x88, 16, 63, 2, 0, 0, 2, 0, 2, 0, 2, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0x15, 0x18, 0, 0,
      0x08, 0x12, 0x04, ...new Array(17).fill(0), // caching: WCE (cache.writeback=on)
    ];
    expect([...a.data.subarray(0, 100)]).toEqual(want);
    expect(a.data.length).toBe(255); // the whole allocation length, zero-padded
  });

  it('(10) caching page, changeable values: WCE is the only changeable bit', () => {
    const a = run(makeRig({ size: 1024 * 1024 }), modeSense10(0x08, 1, 36));
    expect([...a.data]).toEqual([0, 34, 0, 0, 0, 0, 0, 8, 0, 0x00, 0x08, 0x00, 0, 0, 0x02, 0x00, 0x08, 0x12, 0x04, ...new Array(17).fill(0)]);
  });

  it('DBD drops the block descriptor; a read-only drive sets WP; dpofua sets DPOFUA', () => {
    expect([...run(makeRig(), modeSense6(0x08, 0, 24, 1)).data.subarray(0, 6)]).toEqual([23, 0, 0, 0, 0x08, 0x12]);
    expect(run(makeRig({ readOnly: true }), modeSense6(0x08)).data[2]).toBe(0x80);
    expect(run(makeRig({ props: { dpofua: true } }), modeSense6(0x08)).data[2]).toBe(0x10);
  });

  it('write cache off (cache=writethrough): WCE clear', () => {
    expect(run(makeRig({ cache: 'writethrough' }), modeSense6(0x08, 0, 255, 1)).data[6]).toBe(0);
  });

  it('saved values: SAVING PARAMETERS NOT SUPPORTED; an unknown page or a CD page: INVALID FIELD', () => {
    expectCheck(run(makeRig(), modeSense6(0x08, 3)), SENSE.SAVING_PARAMS_NOT_SUPPORTED);
    expectCheck(run(makeRig(), modeSense6(0x0a)), SENSE.INVALID_FIELD);
    expectCheck(run(makeRig(), modeSense6(0x2a)), SENSE.INVALID_FIELD);
  });
});

describe('scsi-hd: MODE SELECT', () => {
  const caching = (wce: boolean) => Uint8Array.from([0, 0, 0, 0, 0x08, 0x12, wce ? 4 : 0, ...new Array(17).fill(0)]);

  it('clearing WCE turns the drive\'s write cache off and flushes; setting it turns it back on', () => {
    const r = makeRig();
    expect(r.backend!.writeCacheEnabled).toBe(true);
    expectGood(run(r, modeSelect6(24), { dataOut: caching(false) }));
    expect(r.disk.state.wce).toBe(false);
    expect(r.backend!.writeCacheEnabled).toBe(false);
    expect(run(r, modeSense6(0x08, 0, 255, 1)).data[6]).toBe(0);
    expectGood(run(r, modeSelect6(24), { dataOut: caching(true) }));
    expect(r.backend!.writeCacheEnabled).toBe(true);
  });

  it('changing a bit that is not changeable: INVALID FIELD IN PARAMETER LIST, nothing applied', () => {
    const r = makeRig();
    const p = Uint8Array.from([0, 0, 0, 0, 0x08, 0x12, 0, ...new Array(17).fill(0), 0x01, 0x0a, 0x00, ...new Array(9).fill(0)]);
    expectCheck(run(r, modeSelect6(p.length), { dataOut: p }), SENSE.INVALID_PARAM);
    expect(r.disk.state.wce).toBe(true);
  });

  it('PF=0 or SP=1 is INVALID FIELD IN CDB; a short list or a page longer than the list is PARAMETER LIST LENGTH ERROR', () => {
    const r = makeRig();
    expectCheck(run(r, modeSelect6(24, 0x00), { dataOut: caching(true) }), SENSE.INVALID_FIELD);
    expectCheck(run(r, modeSelect6(24, 0x11), { dataOut: caching(true) }), SENSE.INVALID_FIELD);
    expectCheck(run(r, modeSelect6(3), { dataOut: new Uint8Array(3) }), SENSE.INVALID_PARAM_LEN);
    expectCheck(run(r, modeSelect6(10), { dataOut: caching(true).subarray(0, 10) }), SENSE.INVALID_PARAM_LEN);
  });

  it('a block descriptor may set the block size (bits 8-15 only); the length then counts new blocks', () => {
    const r = makeRig();
    const p = Uint8Array.from([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0x00]);
    expectGood(run(r, modeSelect6(p.length), { dataOut: p }));
    expect(r.disk.blocksize).toBe(4096);
    expect(run(r, read10(0, 1), { dataIn: 4096 }).xfer).toBe(4096);
  });
});

describe('scsi-hd: UNMAP and WRITE SAME', () => {
  const filled = (r: ReturnType<typeof makeRig>, lba: number, n: number, v: number) => expectGood(run(r, write10(lba, n), { dataOut: new Uint8Array(n * 512).fill(v) }));
  const readBack = (r: ReturnType<typeof makeRig>, lba: number, n: number) => run(r, read10(lba, n), { dataIn: n * 512 }).data;

  it('UNMAP discards each range (the memory drive reads zeros after)', () => {
    const r = makeRig();
    filled(r, 0, 16, 0xaa);
    const p = unmapParams([[2, 3], [10, 1]]);
    expectGood(run(r, unmapCdb(p.length), { dataOut: p }));
    const d = readBack(r, 0, 16);
    for (let b = 0; b < 16; b++) expect(d[b * 512]).toBe((b >= 2 && b < 5) || b === 10 ? 0 : 0xaa);
  });

  it('UNMAP refusals: ANCHOR, bad lengths, read-only, out of range', () => {
    const p = unmapParams([[0, 1]]);
    expectCheck(run(makeRig(), unmapCdb(p.length, 1), { dataOut: p }), SENSE.INVALID_FIELD);
    expectCheck(run(makeRig(), unmapCdb(7), { dataOut: p.subarray(0, 7) }), SENSE.INVALID_PARAM_LEN);
    const odd = Uint8Array.from(p);
    odd[3] = 15;
    expectCheck(run(makeRig(), unmapCdb(odd.length), { dataOut: odd }), SENSE.INVALID_PARAM_LEN);
    expectCheck(run(makeRig({ readOnly: true }), unmapCdb(p.length), { dataOut: p }), SENSE.WRITE_PROTECTED);
    const far = unmapParams([[2047, 2]]);
    expectCheck(run(makeRig(), unmapCdb(far.length), { dataOut: far }), SENSE.LBA_OUT_OF_RANGE);
  });

  it('WRITE SAME(10) replicates a block; a zero block with UNMAP becomes write-zeroes', () => {
    const r = makeRig();
    const block = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
    expectGood(run(r, writeSame10(4, 3), { dataOut: block }));
    const d = readBack(r, 4, 3);
    for (let b = 0; b < 3; b++) expect(d.subarray(b * 512, b * 512 + 512)).toEqual(block);
    expectGood(run(r, writeSame16(5, 1, 0x08), { dataOut: new Uint8Array(512) }));
    expect(readBack(r, 5, 1).every((x) => x === 0)).toBe(true);
    expect(readBack(r, 6, 1)).toEqual(block);
  });

  it('WRITE SAME refusals: 0 blocks (WSNZ), PBDATA/LBDATA/ANCHOR, read-only, out of range', () => {
    const b = new Uint8Array(512);
    expectCheck(run(makeRig(), writeSame10(0, 0), { dataOut: b }), SENSE.INVALID_FIELD);
    expectCheck(run(makeRig(), writeSame10(0, 1, 0x04), { dataOut: b }), SENSE.INVALID_FIELD);
    expectCheck(run(makeRig({ readOnly: true }), writeSame10(0, 1), { dataOut: b }), SENSE.WRITE_PROTECTED);
    expectCheck(run(makeRig(), writeSame10(2040, 9), { dataOut: b }), SENSE.LBA_OUT_OF_RANGE);
  });

  it('WRITE SAME with NDOB has no data phase and completes GOOD without writing (as QEMU 7.2)', () => {
    const r = makeRig();
    filled(r, 0, 1, 0x55);
    const a = run(r, writeSame16(0, 1, 0x01), { dataOut: new Uint8Array(0) });
    expect(a.xfer).toBe(0);
    expectGood(a);
    expect(readBack(r, 0, 1)[0]).toBe(0x55);
  });
});

describe('scsi-hd: other commands', () => {
  it('TEST UNIT READY, VERIFY(10) without BYTCHK, SEEK(10), RESERVE/RELEASE, FORMAT UNIT: GOOD', () => {
    const r = makeRig();
    for (const c of [cdb(0, 0, 0, 0, 0, 0), cdb(0x2f, 0, 0, 0, 0, 0, 0, 0, 1, 0), cdb(0x2b, 0, 0, 0, 7, 0xff, 0, 0, 0, 0), cdb(0x16, 0, 0, 0, 0, 0), cdb(0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0), cdb(0x04, 0, 0, 0, 0, 0)]) {
      expectGood(run(r, c));
    }
  });

  it('VERIFY with BYTCHK, SEEK past the end, RESERVE with a third party: refused', () => {
    const r = makeRig();
    expectCheck(run(r, cdb(0x2f, 0x02, 0, 0, 0, 0, 0, 0, 1, 0), { dataOut: new Uint8Array(512) }), SENSE.INVALID_FIELD);
    expectCheck(run(r, cdb(0x2b, 0, 0, 0, 8, 0, 0, 0, 0, 0)), SENSE.LBA_OUT_OF_RANGE);
    expectCheck(run(r, cdb(0x16, 1, 0, 0, 0, 0)), SENSE.INVALID_FIELD);
  });

  it('REQUEST SENSE to the disk: NO SENSE, fixed or descriptor', () => {
    const r = makeRig();
    expect([...run(r, cdb(0x03, 0, 0, 0, 18, 0)).data]).toEqual([0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...run(r, cdb(0x03, 1, 0, 0, 8, 0)).data]).toEqual([0x72, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('REQUEST SENSE after a CHECK CONDITION returns that sense, once', () => {
    const r = makeRig();
    run(r, cdb(0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    const a = run(r, cdb(0x03, 0, 0, 0, 18, 0));
    expect([...a.data.subarray(0, 14)]).toEqual([0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0x00]);
  });

  it('an unknown opcode is INVALID COMMAND OPERATION CODE; a length above 64 KiB is INVALID FIELD first', () => {
    expectCheck(run(makeRig(), cdb(0x4d, 0, 0, 0, 0, 0, 0, 0, 16, 0)), SENSE.INVALID_OPCODE); // LOG SENSE
    expectCheck(run(makeRig(), cdb(0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), SENSE.INVALID_OPCODE);
    expectCheck(run(makeRig(), cdb(0xa3, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0)), SENSE.INVALID_FIELD); // 65537 bytes
  });

  it('START STOP UNIT with LoEj on a removable disk opens the tray (NOT READY, MEDIUM NOT PRESENT) and closes it', () => {
    const r = makeRig({ props: { removable: true } });
    expectGood(run(r, cdb(0x1b, 0, 0, 0, 0x02, 0)));
    expectCheck(run(r, cdb(0, 0, 0, 0, 0, 0)), SENSE.NO_MEDIUM);
    expectGood(run(r, cdb(0x1b, 0, 0, 0, 0x03, 0)));
    expectGood(run(r, cdb(0, 0, 0, 0, 0, 0)));
  });

  it('PREVENT MEDIUM REMOVAL blocks the eject: ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED', () => {
    const r = makeRig({ props: { removable: true } });
    expectGood(run(r, cdb(0x1e, 0, 0, 0, 1, 0)));
    expectCheck(run(r, cdb(0x1b, 0, 0, 0, 0x02, 0)), SENSE.ILLEGAL_REQ_REMOVAL_PREVENTED);
    expectGood(run(r, cdb(0x1e, 0, 0, 0, 0, 0)));
    expectGood(run(r, cdb(0x1b, 0, 0, 0, 0x02, 0)));
  });

  it('a device reset: the next command gets POWER ON, RESET OR BUS DEVICE RESET OCCURRED', () => {
    const r = makeRig();
    r.bus.reset();
    expectCheck(run(r, cdb(0, 0, 0, 0, 0, 0)), SENSE.RESET);
    expectGood(run(r, cdb(0, 0, 0, 0, 0, 0)));
  });
});
