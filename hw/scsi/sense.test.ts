import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { senseDataArb } from './arbitraries.js';
import {
  buildSense,
  convertSense,
  decodeSense,
  encodeSense,
  invalidFieldInCdb,
  parseSenseCode,
  senseOf,
  type SenseData,
} from './sense.js';
import { ascText, MEDIUM_ERROR, SENSE_CODE, senseCodeText, senseKeyName } from './sense-codes.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('sense codes', () => {
  it('keep QEMU’s triples and SPC’s texts', () => {
    expect(SENSE_CODE.CAPACITY_CHANGED).toEqual({ key: 6, asc: 0x2a, ascq: 0x09 });
    expect(SENSE_CODE.SPACE_ALLOC_FAILED).toEqual({ key: 7, asc: 0x27, ascq: 0x07 });
    expect(SENSE_CODE.IO_ERROR).toEqual({ key: 0xb, asc: 0x00, ascq: 0x06 });
    expect(senseCodeText(SENSE_CODE.INVALID_FIELD)).toBe('ILLEGAL REQUEST: INVALID FIELD IN CDB (24/00)');
    expect(ascText(0x77, 0x01)).toBe('ASC 0x77 ASCQ 0x01');
    expect(senseKeyName(0x3f)).toBe('COMPLETED');
  });
});

describe('fixed-format sense', () => {
  it('is QEMU’s 18 bytes for a bare code', () => {
    expect(hex(buildSense(SENSE_CODE.LBA_OUT_OF_RANGE, 'fixed'))).toBe('700005000000000a00000000210000000000');
    expect(hex(buildSense(SENSE_CODE.LBA_OUT_OF_RANGE, 'descriptor'))).toBe('7205210000000000');
    expect(buildSense(SENSE_CODE.LBA_OUT_OF_RANGE, 'fixed', 8)).toHaveLength(8);
  });

  it('puts INFORMATION with VALID and the field pointer where Linux puts them', () => {
    const b = encodeSense(senseOf(SENSE_CODE.READ_ERROR, { information: 0x12345678n }), 'fixed');
    expect(hex(b)).toBe('f0000312345678' + '0a' + '00000000' + '11' + '00' + '00' + '000000');
    const f = encodeSense(invalidFieldInCdb(1, 4), 'fixed');
    expect([f[15], f[16], f[17]]).toEqual([0x80 | 0x40 | 0x08 | 4, 0, 1]);
  });

  it('drops VALID for an INFORMATION beyond 32 bits, keeping its low bits', () => {
    const b = encodeSense(senseOf(SENSE_CODE.READ_ERROR, { information: 0x1_0000_0005n }), 'fixed');
    expect(b[0]).toBe(0x70);
    expect(hex(b.subarray(3, 7))).toBe('00000005');
    expect(E.map((d: { sense: SenseData }) => d.sense.information)(decodeSense(b))).toEqual(E.right(undefined));
  });

  it('reads a truncated buffer as Linux does: what is there, the rest zero', () => {
    const full = encodeSense(senseOf(SENSE_CODE.CAPACITY_CHANGED), 'fixed');
    expect(decodeSense(full.subarray(0, 3))).toEqual(E.right({ format: 'fixed', sense: { key: 6, asc: 0, ascq: 0 } }));
    expect(decodeSense(full.subarray(0, 13))).toEqual(E.right({ format: 'fixed', sense: { key: 6, asc: 0x2a, ascq: 0 } }));
    const short = full.slice();
    short[7] = 4; // additional length says the buffer ends at byte 11
    expect(decodeSense(short)).toEqual(E.right({ format: 'fixed', sense: { key: 6, asc: 0, ascq: 0 } }));
  });
});

describe('descriptor-format sense', () => {
  it('lays out the information and sense-key-specific descriptors as SPC-4 does', () => {
    const b = encodeSense(senseOf(SENSE_CODE.INVALID_FIELD, { information: 0x0102030405060708n, sks: { kind: 'field-pointer', cd: true, fieldPointer: 2 } }), 'descriptor');
    expect(hex(b)).toBe('72052400000000' + '14' + '000a8000' + '0102030405060708' + '02060000' + 'c00002' + '00');
  });

  it('skips unknown and overlong descriptors', () => {
    const b = Uint8Array.from([0x72, 3, 0x11, 0, 0, 0, 0, 16, 0x09, 2, 0xaa, 0xbb, 0x03, 2, 0, 7, 0x00, 0x0a, 0x80]);
    expect(decodeSense(b)).toEqual(E.right({ format: 'descriptor', sense: { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, fru: 7 } }));
  });
});

describe('sense round trips and totality', () => {
  it('decode(encode(s, format)) gives s back in either format', () => {
    fc.assert(
      fc.property(senseDataArb, fc.constantFrom('fixed' as const, 'descriptor' as const), (s, format) => {
        const fixedSafe = format === 'fixed' ? fitFixed(s) : s;
        expect(decodeSense(encodeSense(fixedSafe, format))).toEqual(E.right({ format, sense: fixedSafe }));
      }),
      RUNS,
    );
  });

  it('any bytes decode to a value or a typed refusal, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = decodeSense(b);
        if (E.isLeft(r)) expect(['Empty', 'UnknownResponseCode']).toContain(r.left._tag);
        else {
          // What was decoded re-encodes and decodes to itself in the same format when it fits there.
          const again = decodeSense(encodeSense(r.right.sense, 'descriptor'));
          expect(again).toEqual(E.right({ format: 'descriptor', sense: r.right.sense }));
        }
        const c = parseSenseCode(b);
        expect(c.key).toBeLessThan(16);
      }),
      RUNS,
    );
  });

  it('convertSense keeps key/ASC/ASCQ across formats and copies within one', () => {
    fc.assert(
      fc.property(senseDataArb, fc.constantFrom('fixed' as const, 'descriptor' as const), fc.integer({ min: 0, max: 120 }), (s, from, len) => {
        const input = encodeSense(s, from);
        const to = from === 'fixed' ? 'descriptor' : 'fixed';
        const same = convertSense(input, len, from);
        expect(same).toEqual(input.slice(0, Math.min(len, input.length)));
        const other = convertSense(input, len, to);
        expect(other).toEqual(buildSense({ key: s.key, asc: s.asc, ascq: s.ascq }, to, len));
        if (len >= 18) expect(parseSenseCode(other)).toEqual({ key: s.key, asc: s.asc, ascq: s.ascq });
      }),
      RUNS,
    );
    expect(hex(convertSense(new Uint8Array(0), 96, 'descriptor'))).toBe('7200000000000000');
  });
});

/** Fixed format carries 32 bits of INFORMATION and COMMAND-SPECIFIC INFORMATION, and zero means absent. */
function fitFixed(s: SenseData): SenseData {
  const out: Record<string, unknown> = { ...s };
  if (s.information !== undefined && s.information > 0xffff_ffffn) out.information = s.information & 0xffff_ffffn;
  if (s.commandSpecific !== undefined) {
    const c = s.commandSpecific & 0xffff_ffffn;
    if (c === 0n) delete out.commandSpecific;
    else out.commandSpecific = c;
  }
  if (s.fru === 0) delete out.fru;
  return out as unknown as SenseData;
}
