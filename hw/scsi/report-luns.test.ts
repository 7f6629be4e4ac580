import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { u64Big } from './arbitraries.js';
import {
  decodeLunAddress,
  decodeReportLuns,
  encodeLunAddress,
  encodeReportLuns,
  intToScsilun,
  isSingleLevelLun,
  qemuLun,
  scsilunToInt,
  type LunAddress,
} from './report-luns.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('LUN formats', () => {
  it('scsilun_to_int and int_to_scsilun match Linux’s documented example', () => {
    const lun = Uint8Array.from([0xd2, 0x04, 0x0b, 0x03, 0, 0, 0, 0]);
    expect(scsilunToInt(lun)).toBe(0x0b03d204n);
    expect(hex(intToScsilun(0x0b03d204n))).toBe('d2040b0300000000');
  });

  it('QEMU reports LUN 5 peripheral and LUN 300 flat; Linux numbers the flat one 0x4000 | 300', () => {
    expect(hex(qemuLun(5))).toBe('0005000000000000');
    expect(hex(qemuLun(300))).toBe('412c000000000000');
    expect(scsilunToInt(qemuLun(300))).toBe(BigInt(0x4000 | 300));
    expect(decodeLunAddress(qemuLun(300))).toEqual({ method: 'flat', lun: 300 });
    expect(decodeLunAddress(Uint8Array.from([0xc1, 0x01, 0, 0, 0, 0, 0, 0]))).toEqual({ method: 'well-known', wlun: 1 });
    expect(isSingleLevelLun(qemuLun(16383))).toBe(true);
    expect(isSingleLevelLun(Uint8Array.from([0, 1, 0, 2, 0, 0, 0, 0]))).toBe(false);
  });

  it('int_to_scsilun inverts scsilun_to_int for every 64-bit value', () => {
    fc.assert(
      fc.property(u64Big, (v) => {
        expect(scsilunToInt(intToScsilun(v))).toBe(v);
      }),
      RUNS,
    );
  });

  it('first-level addresses round-trip', () => {
    const addr: fc.Arbitrary<LunAddress> = fc.oneof(
      fc.record({ method: fc.constant('peripheral' as const), bus: fc.integer({ min: 0, max: 63 }), lun: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ method: fc.constant('flat' as const), lun: fc.integer({ min: 0, max: 16383 }) }),
      fc.record({ method: fc.constant('logical-unit' as const), target: fc.integer({ min: 0, max: 63 }), bus: fc.integer({ min: 0, max: 7 }), lun: fc.integer({ min: 0, max: 31 }) }),
      fc.record({ method: fc.constant('well-known' as const), wlun: fc.integer({ min: 0, max: 255 }) }),
      fc
        .tuple(fc.integer({ min: 0, max: 63 }).filter((b) => b !== 1), fc.integer({ min: 0, max: 255 }))
        .map(([a, b]) => ({ method: 'extended' as const, bytes: [0xc0 | a, b] as const })),
    );
    fc.assert(
      fc.property(addr, (a) => {
        expect(decodeLunAddress(encodeLunAddress(a))).toEqual(a);
      }),
      RUNS,
    );
  });
});

describe('REPORT LUNS data', () => {
  it('is a list length and 8-byte LUNs', () => {
    expect(hex(encodeReportLuns([qemuLun(0), qemuLun(1)]))).toBe('00000010' + '00000000' + '0000000000000000' + '0001000000000000');
  });

  it('round-trips, and a cut buffer keeps the list length and the whole LUNs only', () => {
    const lun = fc.uint8Array({ minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(fc.array(lun, { maxLength: 20 }), fc.nat(200), (luns, cut) => {
        const b = encodeReportLuns(luns);
        expect(decodeReportLuns(b)).toEqual(E.right({ listLength: 8 * luns.length, luns }));
        const part = decodeReportLuns(b.subarray(0, cut));
        if (cut < 8) expect(E.isLeft(part)).toBe(true);
        else expect(part).toEqual(E.right({ listLength: 8 * luns.length, luns: luns.slice(0, Math.floor((Math.min(cut, b.length) - 8) / 8)) }));
      }),
      RUNS,
    );
  });

  it('never trusts the list length beyond the bytes present', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const r = decodeReportLuns(b);
        if (E.isRight(r)) expect(r.right.luns.length).toBeLessThanOrEqual(Math.floor((b.length - 8) / 8));
      }),
      RUNS,
    );
  });
});
