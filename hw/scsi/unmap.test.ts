import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { safeU64, u32 } from './arbitraries.js';
import { SENSE_CODE } from './sense-codes.js';
import { decodeUnmapParameterList, encodeUnmapParameterList, unmapParamErrorMessage, unmapParamErrorSense } from './unmap.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('UNMAP parameter list', () => {
  it('has SBC-3’s header and 16-byte descriptors', () => {
    const b = encodeUnmapParameterList([{ lba: 0x1000, numberOfBlocks: 8 }]);
    expect(hex(b)).toBe('0016' + '0010' + '00000000' + '0000000000001000' + '00000008' + '00000000');
  });

  it('round-trips any descriptors', () => {
    const desc = fc.record({ lba: safeU64, numberOfBlocks: u32 });
    fc.assert(
      fc.property(fc.array(desc, { maxLength: 40 }), (ds) => {
        expect(decodeUnmapParameterList(encodeUnmapParameterList(ds))).toEqual(E.right(ds));
      }),
      RUNS,
    );
  });

  it('refuses lists shorter than their length fields claim, as QEMU does', () => {
    const b = encodeUnmapParameterList([{ lba: 1, numberOfBlocks: 1 }, { lba: 9, numberOfBlocks: 2 }]);
    expect(decodeUnmapParameterList(b, 0)).toEqual(E.right([]));
    const short = decodeUnmapParameterList(b, 30);
    expect(E.isLeft(short) && short.left._tag).toBe('ParameterListLength');
    if (E.isLeft(short)) {
      expect(unmapParamErrorSense(short.left)).toEqual({ ...SENSE_CODE.INVALID_PARAM_LEN });
      expect(unmapParamErrorMessage(short.left)).toContain('exceeds');
    }
    const odd = b.slice();
    odd[3] = 0x18; // 24: not a multiple of 16
    expect(E.isLeft(decodeUnmapParameterList(odd))).toBe(true);
    expect(E.isLeft(decodeUnmapParameterList(b.subarray(0, 7)))).toBe(true);
    const far = b.slice();
    far[8] = 0xff;
    expect(decodeUnmapParameterList(far)).toEqual(E.left({ _tag: 'LbaOutOfRange', index: 0, lba: 0xff00_0000_0000_0001n }));
  });

  it('never throws on any bytes and never reads past them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: -5, max: 70000 }), (b, len) => {
        const r = decodeUnmapParameterList(b, len);
        if (E.isRight(r)) expect(r.right.length * 16 + 8).toBeLessThanOrEqual(Math.max(8, b.length));
      }),
      RUNS,
    );
  });
});
