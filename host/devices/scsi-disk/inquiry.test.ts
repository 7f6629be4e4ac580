/**
 * INQUIRY and READ CAPACITY answers, byte for byte as QEMU 7.2's scsi-disk gives them
 * (hw/scsi/scsi-disk.c scsi_disk_emulate_inquiry, scsi_disk_emulate_vpd_page,
 * hw/scsi/emulation.c scsi_emulate_block_limits, scsi_disk_emulate_command).
 */
import { describe, expect, it } from 'vitest';
import { SENSE } from '../scsi-bus/defs.js';
import { cdb, expectCheck, expectGood, inquiry, makeRig, run } from './test-utils.js';

const ascii = (s: string) => [...Buffer.from(s, 'latin1')];
const MiB = 1024 * 1024;

describe('scsi-hd: standard INQUIRY data', () => {
  it('36 bytes: disk, SPC-3, HiSup + format 2, additional length 31, Sync + CmdQue, QEMU / QEMU HARDDISK / 2.5+', () => {
    const a = run(makeRig(), inquiry(36));
    expectGood(a);
    // outbuf[2] = default_scsi_version (5); outbuf[3] = 2 | 0x10; outbuf[4] = 36 - 5;
    // outbuf[7] = 0x10 | (bus tcq ? 0x02 : 0); strpadcpy vendor/product with spaces; version copied into 4 zeroed bytes.
    expect([...a.data]).toEqual([0x00, 0x00, 0x05, 0x12, 31, 0, 0, 0x12, ...ascii('QEMU    '), ...ascii('QEMU HARDDISK   '), ...ascii('2.5+')]);
  });

  it('an allocation length of 96 gets 96 bytes, additional length 91, zeros after byte 35', () => {
    const a = run(makeRig(), inquiry(96));
    expect(a.data.length).toBe(96);
    expect(a.data[4]).toBe(91); // buflen - 5
    expect(a.data.subarray(36).every((b) => b === 0)).toBe(true);
  });

  it('above 256 the additional length stays 251 but the whole allocation length is transferred', () => {
    const a = run(makeRig(), inquiry(300));
    expect(a.data.length).toBe(300); // r->iov.iov_len = MIN(r->buflen, cmd.xfer)
    expect(a.data[4]).toBe(251); // SCSI_MAX_INQUIRY_LEN - 5
  });

  it('a short allocation length cuts the data; the additional length still says 31', () => {
    const a = run(makeRig(), inquiry(5));
    expect([...a.data]).toEqual([0, 0, 5, 0x12, 31]);
  });

  it('vendor, product, ver and removable come from the properties; long strings are cut', () => {
    const a = run(makeRig({ props: { vendor: 'ACME', product: 'A very long product name', ver: '9.9.9', removable: true } }), inquiry(36));
    expect(a.data[1]).toBe(0x80); // RMB
    expect([...a.data.subarray(8, 36)]).toEqual([...ascii('ACME    '), ...ascii('A very long prod'), ...ascii('9.9.')]);
  });

  it('without tagged queueing on the bus, no CmdQue bit', () => {
    const r = makeRig();
    (r.bus as { info: unknown }).info = { ...r.bus.info, tcq: false };
    expect(run(r, inquiry(36)).data[7]).toBe(0x10);
  });

  it('a page code without EVPD is INVALID FIELD IN CDB', () => {
    expectCheck(run(makeRig(), inquiry(36, 0, 0x80)), SENSE.INVALID_FIELD);
  });
});

describe('scsi-hd: VPD pages', () => {
  it('0x00 without a serial: 0x00, 0x83, 0xb0, 0xb1, 0xb2', () => {
    expect([...run(makeRig(), inquiry(255, 1, 0x00)).data.subarray(0, 9)]).toEqual([0, 0, 0, 5, 0x00, 0x83, 0xb0, 0xb1, 0xb2]);
  });

  it('0x00 with a serial lists 0x80', () => {
    expect([...run(makeRig({ props: { serial: 'SN1' } }), inquiry(255, 1, 0x00)).data.subarray(0, 10)]).toEqual([0, 0, 0, 6, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
  });

  it('0x80: the serial, at most 36 bytes; refused without a serial', () => {
    expect([...run(makeRig({ props: { serial: 'SN123' } }), inquiry(255, 1, 0x80)).data.subarray(0, 9)]).toEqual([0, 0x80, 0, 5, ...ascii('SN123')]);
    const long = 'X'.repeat(40);
    expect(run(makeRig({ props: { serial: long } }), inquiry(255, 1, 0x80)).data[3]).toBe(36);
    expectCheck(run(makeRig(), inquiry(255, 1, 0x80)), SENSE.INVALID_FIELD);
  });

  it('0x83: the drive id as an ASCII vendor-specific designator, then the NAA WWN', () => {
    const a = run(makeRig({ driveId: 'drive0', props: { wwn: 0x5000c50015ea71acn } }), inquiry(255, 1, 0x83));
    expect([...a.data.subarray(0, 26)]).toEqual([
      0, 0x83, 0, 22,
      0x02, 0x00, 0x00, 6, ...ascii('drive0'),
      0x01, 0x03, 0x00, 8, 0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xac,
    ]);
  });

  it('0x83: the serial (cut to 20) wins over the drive id; port_wwn and port_index descriptors', () => {
    const a = run(makeRig({ driveId: 'drive0', props: { serial: 'S'.repeat(25), port_wwn: 0x1122334455667788n, port_index: 0x0102 } }), inquiry(255, 1, 0x83));
    expect([...a.data.subarray(0, 48)]).toEqual([
      0, 0x83, 0, 44,
      0x02, 0, 0, 20, ...ascii('S'.repeat(20)),
      0x61, 0x93, 0, 8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
      0x61, 0x94, 0, 4, 0, 0, 0x01, 0x02,
    ]);
  });

  it('0x83 with nothing to say: an empty page', () => {
    expect([...run(makeRig(), inquiry(255, 1, 0x83)).data.subarray(0, 4)]).toEqual([0, 0x83, 0, 0]);
  });

  it('0xb0 block limits: WSNZ, max transfer 0x3fffff, max unmap 1 GiB in blocks, 255 descriptors, granularity 8', () => {
    const a = run(makeRig(), inquiry(255, 1, 0xb0));
    const page = new Uint8Array(64);
    page.set([0, 0xb0, 0, 0x3c, 1]);
    page.set([0x00, 0x3f, 0xff, 0xff], 8); // INT_MAX / 512 (max_io_size), = blk max transfer / 512
    page.set([0x00, 0x20, 0x00, 0x00], 20); // DEFAULT_MAX_UNMAP_SIZE / 512
    page.set([0, 0, 0, 255], 24);
    page.set([0, 0, 0, 8], 28); // discard_granularity max(512, 4 KiB) / 512
    page.set([0x00, 0x3f, 0xff, 0xff], 40); // max write same = max transfer
    expect(a.data.subarray(0, 64)).toEqual(page);
  });

  it('0xb0 with 4 KiB blocks, min/opt I/O sizes and a smaller max_io_size', () => {
    const a = run(makeRig({ props: { logical_block_size: 4096, physical_block_size: 4096, min_io_size: 8192, opt_io_size: 65536, max_io_size: 1024 * 1024 } }), inquiry(255, 1, 0xb0));
    // OTLG 8 KiB / 4 KiB = 2; max transfer 1 MiB / 4 KiB = 256; OTL 64 KiB / 4 KiB = 16.
    expect([...a.data.subarray(6, 16)]).toEqual([0, 2, 0, 0, 1, 0, 0, 0, 0, 16]);
    expect([...a.data.subarray(20, 24)]).toEqual([0, 4, 0, 0]); // 1 GiB / 4 KiB
    expect([...a.data.subarray(28, 32)]).toEqual([0, 0, 0, 1]);
  });

  it('0xb1: 64 bytes, the rotation rate at bytes 4-5', () => {
    const a = run(makeRig({ props: { rotation_rate: 1 } }), inquiry(255, 1, 0xb1));
    const page = new Uint8Array(64);
    page.set([0, 0xb1, 0, 0x3c, 0, 1]);
    expect(a.data.subarray(0, 64)).toEqual(page);
  });

  it('0xb2: LBPU, LBPWS, LBPWS10; thin provisioned unless discard_granularity=0', () => {
    expect([...run(makeRig(), inquiry(255, 1, 0xb2)).data.subarray(0, 8)]).toEqual([0, 0xb2, 0, 4, 0, 0xe0, 2, 0]);
    expect([...run(makeRig({ props: { discard_granularity: 0 } }), inquiry(255, 1, 0xb2)).data.subarray(0, 8)]).toEqual([0, 0xb2, 0, 4, 0, 0xe0, 1, 0]);
  });

  it('an unknown VPD page is INVALID FIELD IN CDB', () => {
    expectCheck(run(makeRig(), inquiry(255, 1, 0x81)), SENSE.INVALID_FIELD);
  });
});

describe('scsi-hd: READ CAPACITY', () => {
  const rc16 = (alloc = 32, lba = 0, pmi = 0) => cdb(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, lba, 0, 0, 0, alloc, pmi, 0);

  it('(10): the last LBA and the block size', () => {
    const a = run(makeRig({ size: MiB }), cdb(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    expectGood(a);
    expect([...a.data]).toEqual([0, 0, 0x07, 0xff, 0, 0, 0x02, 0x00]);
  });

  it('(10): an LBA without PMI is INVALID FIELD; with PMI it is accepted', () => {
    expectCheck(run(makeRig(), cdb(0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0)), SENSE.INVALID_FIELD);
    expectGood(run(makeRig(), cdb(0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0)));
  });

  it('(16): last LBA, block size, physical block exponent 0, TPE, 32 bytes', () => {
    const a = run(makeRig({ size: MiB }), rc16());
    const want = new Uint8Array(32);
    want.set([0, 0, 0, 0, 0, 0, 0x07, 0xff, 0, 0, 0x02, 0x00, 0, 0, 0x80]);
    expect(a.data).toEqual(want);
  });

  it('(16): 512e (physical 4 KiB) has exponent 3; discard_granularity=0 clears TPE; 4Kn has 256 blocks', () => {
    expect([...run(makeRig({ props: { physical_block_size: 4096 } }), rc16()).data.subarray(12, 15)]).toEqual([0, 3, 0x80]);
    expect(run(makeRig({ props: { discard_granularity: 0 } }), rc16()).data[14]).toBe(0);
    const a = run(makeRig({ size: MiB, props: { logical_block_size: 4096, physical_block_size: 4096 } }), rc16());
    expect([...a.data.subarray(0, 14)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x10, 0, 0, 0]);
  });

  it('SERVICE ACTION IN(16) with another service action is INVALID FIELD', () => {
    const c = rc16();
    c[1] = 0x11;
    expectCheck(run(makeRig(), c), SENSE.INVALID_FIELD);
  });
});
