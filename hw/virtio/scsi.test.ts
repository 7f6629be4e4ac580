import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { encodeCdb } from '../scsi/cdb.js';
import { encodeSense, senseOf } from '../scsi/sense.js';
import { SENSE_CODE } from '../scsi/sense-codes.js';
import { SAM_STAT_CHECK_CONDITION } from '../scsi/status.js';
import * as S from './scsi.js';
import * as Q from './scsi-req.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u8 = fc.integer({ min: 0, max: 255 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const lun8 = fc.uint8Array({ minLength: 8, maxLength: 8 });

describe('virtio-scsi LUN', () => {
  it('is written as Linux and QEMU write it', () => {
    expect(hex(S.encodeVirtioScsiLun(0, 0))).toBe('0100400000000000');
    expect(hex(S.encodeVirtioScsiLun(3, 300))).toBe('0103412c00000000');
    expect(hex(S.encodeVirtioScsiLun(0, 5, 'qemu-event'))).toBe('0100000500000000');
    expect(hex(S.encodeVirtioScsiLun(0, 300, 'qemu-event'))).toBe('0100412c00000000');
  });

  it('is read as QEMU reads it', () => {
    expect(S.decodeVirtioScsiLun(Uint8Array.of(1, 2, 0x40, 5, 9, 9, 9, 9))).toEqual({ kind: 'lu', target: 2, lun: 5 });
    expect(S.decodeVirtioScsiLun(Uint8Array.of(1, 2, 0, 5, 0, 0, 0, 0))).toEqual({ kind: 'lu', target: 2, lun: 5 });
    expect(S.decodeVirtioScsiLun(Uint8Array.of(1, 2, 0x3f, 5, 0, 0, 0, 0))).toEqual({ kind: 'invalid' });
    expect(S.decodeVirtioScsiLun(Uint8Array.of(2, 0, 0x40, 0, 0, 0, 0, 0))).toEqual({ kind: 'invalid' });
    expect(S.decodeVirtioScsiLun(S.REPORT_LUNS_WLUN_BYTES)).toEqual({ kind: 'report-luns' });
    expect(S.decodeVirtioScsiLun(Uint8Array.of(1, 0, 0x40))).toEqual({ kind: 'invalid' });
  });

  it('round-trips every target and LUN in both styles', () => {
    fc.assert(
      fc.property(u8, fc.integer({ min: 0, max: S.VIRTIO_SCSI_MAX_LUN }), fc.constantFrom('linux' as const, 'qemu-event' as const), (t, l, style) => {
        expect(S.decodeVirtioScsiLun(S.encodeVirtioScsiLun(t, l, style))).toEqual({ kind: 'lu', target: t, lun: l });
      }),
      RUNS,
    );
  });
});

describe('virtio_scsi_config', () => {
  const qemu: S.VirtioScsiConfig = { numQueues: 1, segMax: 254, maxSectors: 0xffff, cmdPerLun: 128, eventInfoSize: 16, senseSize: 96, cdbSize: 32, maxChannel: 0, maxTarget: 255, maxLun: 16383 };

  it('is 36 little-endian bytes at the spec offsets', () => {
    const b = S.encodeVirtioScsiConfig(qemu);
    expect(hex(b)).toBe('01000000' + 'fe000000' + 'ffff0000' + '80000000' + '10000000' + '60000000' + '20000000' + '0000' + 'ff00' + 'ff3f0000');
    expect(S.decodeVirtioScsiConfig(b)).toEqual(E.right(qemu));
    expect(E.isLeft(S.decodeVirtioScsiConfig(b.subarray(0, 35)))).toBe(true);
  });
});

describe('request queue structs', () => {
  it('a READ(10) request header is 51 bytes: lun, tag, attr, prio, crn, cdb[32]', () => {
    const cdb = encodeCdb({ op: 'READ', size: 10, lba: 0x12345678, transferLength: 8, protect: 0, dpo: false, fua: true, rarc: false, group: 0, control: 0 });
    const req: Q.VirtioScsiCmdReq = { lun: S.encodeVirtioScsiLun(0, 1), tag: 0xffff_8880_1234_5678n, taskAttr: S.VIRTIO_SCSI_S_SIMPLE, prio: 0, crn: 0, cdb: padded(cdb, 32) };
    const b = Q.encodeVirtioScsiCmdReq(req, S.VIRTIO_SCSI_CDB_DEFAULT_SIZE);
    expect(b).toHaveLength(51);
    expect(hex(b.subarray(0, 29))).toBe('0100400100000000' + '785634128088ffff' + '000000' + '28081234567800000800');
    expect(Q.decodeVirtioScsiCmdReq(b, 32, false)).toEqual(E.right(req));
    const pi = Q.encodeVirtioScsiCmdReq({ ...req, pi: { bytesOut: 8, bytesIn: 0 } }, 32);
    expect(pi).toHaveLength(59);
    expect(hex(pi.subarray(19, 28))).toBe('08000000' + '00000000' + '28');
  });

  it('a CHECK CONDITION response carries sense_len and the sense in sense[96]', () => {
    const sense = encodeSense(senseOf(SENSE_CODE.LBA_OUT_OF_RANGE), 'fixed');
    const r = Q.cmdResp({ resid: 4096, status: SAM_STAT_CHECK_CONDITION, response: S.VIRTIO_SCSI_S_OK, sense });
    const b = Q.encodeVirtioScsiCmdResp(r, 96);
    expect(b).toHaveLength(108);
    expect(hex(b.subarray(0, 14))).toBe('12000000' + '00100000' + '0000' + '02' + '00' + '7000');
    expect(Q.decodeVirtioScsiCmdResp(b, 96)).toEqual(E.right(r));
  });

  it('takes sense_size and cdb_size only up to QEMU’s limits, whatever the driver wrote', () => {
    expect(S.validVirtioScsiSizes(96, 32)).toBe(true);
    expect(S.validVirtioScsiSizes(65536, 32)).toBe(false);
    expect(S.validVirtioScsiSizes(96, 256)).toBe(false);
    expect(Q.encodeVirtioScsiCmdResp(Q.cmdResp({ resid: 0, status: 0, response: 0 }), 2 ** 40)).toHaveLength(12 + 65535);
    expect(Q.virtioScsiCmdReqSize(Number.NaN, false)).toBe(19);
    expect(Q.encodeVirtioScsiCmdReq({ lun: new Uint8Array(8), tag: 0n, taskAttr: 0, prio: 0, crn: 0, cdb: new Uint8Array(6) }, 1e9)).toHaveLength(19 + 255);
    expect(E.isLeft(Q.decodeVirtioScsiCmdReq(new Uint8Array(100), 2 ** 31, false))).toBe(true);
  });

  it('reads no more sense than sense_size and the bytes present allow', () => {
    const b = Q.encodeVirtioScsiCmdResp({ senseLen: 200, resid: 0, statusQualifier: 0, status: 2, response: 0, sense: new Uint8Array(96).fill(7) }, 96);
    const r = Q.decodeVirtioScsiCmdResp(b.subarray(0, 40), 96);
    expect(E.isRight(r) && [r.right.senseLen, r.right.sense.length]).toEqual([200, 28]);
  });
});

describe('control and event queue structs', () => {
  it('a LOGICAL UNIT RESET TMF is 24 bytes; its response one', () => {
    const tmf: Q.VirtioScsiCtrlReq = { kind: 'tmf', subtype: S.VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, lun: S.encodeVirtioScsiLun(0, 0), tag: 0n };
    expect(hex(Q.encodeVirtioScsiCtrlReq(tmf))).toBe('00000000' + '05000000' + '0100400000000000' + '0000000000000000');
    expect(hex(Q.encodeVirtioScsiTmfResp(S.VIRTIO_SCSI_S_FUNCTION_REJECTED))).toBe('0b');
    expect(S.virtioScsiTmfName(5)).toBe('LOGICAL_UNIT_RESET');
    expect(S.virtioScsiResponseName(12)).toBe('INCORRECT_LUN');
  });

  it('an AN subscribe is 16 bytes; its response 5', () => {
    const an: Q.VirtioScsiCtrlReq = { kind: 'an-subscribe', lun: S.encodeVirtioScsiLun(0, 0), eventRequested: S.VIRTIO_SCSI_EVT_ASYNC_MEDIA_CHANGE };
    expect(hex(Q.encodeVirtioScsiCtrlReq(an))).toBe('02000000' + '0100400000000000' + '10000000');
    expect(hex(Q.encodeVirtioScsiAnResp({ eventActual: 0, response: 0 }))).toBe('0000000000');
    expect(Q.decodeVirtioScsiCtrlReq(Uint8Array.of(9, 0, 0, 0))).toEqual(E.right({ kind: 'unsupported', type: 9 }));
  });

  it('a PARAM_CHANGE event for CAPACITY DATA HAS CHANGED after missed events', () => {
    const ev: Q.VirtioScsiEvent = { event: S.VIRTIO_SCSI_T_PARAM_CHANGE, eventsMissed: true, lun: S.encodeVirtioScsiLun(0, 0, 'qemu-event'), reason: Q.paramChangeReason(0x2a, 0x09) };
    expect(hex(Q.encodeVirtioScsiEvent(ev))).toBe('03000080' + '0100000000000000' + '2a090000');
    expect(Q.decodeVirtioScsiEvent(Q.encodeVirtioScsiEvent(ev))).toEqual(E.right(ev));
  });
});

describe('virtio-scsi struct properties', () => {
  const cdbSize = fc.integer({ min: 1, max: 64 });

  it('command requests and responses round-trip for any cdb_size / sense_size', () => {
    const req = (n: number) =>
      fc.record(
        { lun: lun8, tag: u64, taskAttr: u8, prio: u8, crn: u8, cdb: fc.uint8Array({ minLength: n, maxLength: n }), pi: fc.record({ bytesOut: u32, bytesIn: u32 }) },
        { requiredKeys: ['lun', 'tag', 'taskAttr', 'prio', 'crn', 'cdb'] },
      );
    fc.assert(
      fc.property(cdbSize.chain((n) => fc.tuple(fc.constant(n), req(n))), ([n, r]) => {
        expect(Q.decodeVirtioScsiCmdReq(Q.encodeVirtioScsiCmdReq(r, n), n, r.pi !== undefined)).toEqual(E.right(r));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 128 }).chain((size) => fc.tuple(fc.constant(size), fc.uint8Array({ maxLength: size }))), u32, u8, u8, fc.integer({ min: 0, max: 0xffff }), ([size, sense], resid, status, response, sq) => {
        const r: Q.VirtioScsiCmdResp = { senseLen: sense.length, resid, statusQualifier: sq, status, response, sense };
        expect(Q.decodeVirtioScsiCmdResp(Q.encodeVirtioScsiCmdResp(r, size), size)).toEqual(E.right(r));
      }),
      RUNS,
    );
  });

  it('control requests, responses and events round-trip', () => {
    const ctrl: fc.Arbitrary<Q.VirtioScsiCtrlReq> = fc.oneof(
      fc.record({ kind: fc.constant('tmf' as const), subtype: u32, lun: lun8, tag: u64 }),
      fc.record({ kind: fc.constantFrom('an-query' as const, 'an-subscribe' as const), lun: lun8, eventRequested: u32 }),
      fc.record({ kind: fc.constant('unsupported' as const), type: u32.filter((t) => t > 2) }),
    );
    fc.assert(
      fc.property(ctrl, (r) => {
        expect(Q.decodeVirtioScsiCtrlReq(Q.encodeVirtioScsiCtrlReq(r))).toEqual(E.right(r));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fff_ffff }), fc.boolean(), lun8, u32, u32, u8, (event, eventsMissed, lun, reason, eventActual, response) => {
        const ev = { event, eventsMissed, lun, reason };
        expect(Q.decodeVirtioScsiEvent(Q.encodeVirtioScsiEvent(ev))).toEqual(E.right(ev));
        expect(Q.decodeVirtioScsiAnResp(Q.encodeVirtioScsiAnResp({ eventActual, response }))).toEqual(E.right({ eventActual, response }));
        expect(Q.decodeVirtioScsiTmfResp(Q.encodeVirtioScsiTmfResp(response))).toEqual(E.right(response));
      }),
      RUNS,
    );
  });

  it('any bytes decode to a value or a Truncated error, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), cdbSize, fc.boolean(), (b, n, pi) => {
        const results = [
          Q.decodeVirtioScsiCmdReq(b, n, pi),
          Q.decodeVirtioScsiCmdResp(b, n),
          Q.decodeVirtioScsiCtrlReq(b),
          Q.decodeVirtioScsiTmfResp(b),
          Q.decodeVirtioScsiAnResp(b),
          Q.decodeVirtioScsiEvent(b),
          S.decodeVirtioScsiConfig(b),
        ];
        for (const r of results) if (E.isLeft(r)) expect(r.left._tag).toBe('Truncated');
        expect(['lu', 'report-luns', 'invalid']).toContain(S.decodeVirtioScsiLun(b).kind);
      }),
      RUNS,
    );
  });
});

function padded(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

describe('pageOffset', () => {
  it('is addr % 4096 for every guest-physical address, as an integer or as a double built from two halves (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x1f_ffff }), fc.integer({ min: 0, max: 0xffff_ffff }), (hi, lo) => {
        const addr = hi * 0x1_0000_0000 + lo;
        expect(Q.pageOffset(addr)).toBe(addr % 4096);
        expect(Q.pageOffset(lo)).toBe(lo % 4096);
      }),
    );
  });
});
