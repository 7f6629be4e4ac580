import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeReadCapacity10, decodeReadCapacity16, encodeReadCapacity10, encodeReadCapacity16, readCapacity10For, type ReadCapacity16Data } from './capacity.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('READ CAPACITY data', () => {
  it('(10) clips the last LBA to 0xffffffff for a big disk', () => {
    expect(readCapacity10For(2 ** 33, 512)).toEqual({ lastLba: 0xffff_ffff, blockLength: 512 });
    expect(hex(encodeReadCapacity10(readCapacity10For(2048, 512)))).toBe('000007ff00000200');
    expect(decodeReadCapacity10(Uint8Array.from([0, 0, 7, 0xff, 0, 0, 2, 0]))).toEqual(E.right({ lastLba: 2047, blockLength: 512 }));
    expect(E.isLeft(decodeReadCapacity10(new Uint8Array(7)))).toBe(true);
  });

  it('(16) places LBPME, LBPRZ and the physical block exponent as SBC-3 does', () => {
    const d: ReadCapacity16Data = { lastLba: 0x1_0000_0000, blockLength: 512, pType: 0, protEn: false, pIExponent: 0, lbPerPbExponent: 3, lbpme: true, lbprz: true, lowestAlignedLba: 0 };
    expect(hex(encodeReadCapacity16(d).subarray(0, 16))).toBe('0000000100000000' + '00000200' + '00' + '03' + 'c0' + '00');
    expect(encodeReadCapacity16(d)).toHaveLength(32);
  });

  it('(16) round-trips and refuses what it cannot hold', () => {
    const arb = fc.record({
      lastLba: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      blockLength: fc.integer({ min: 0, max: 0xffff_ffff }),
      pType: fc.integer({ min: 0, max: 7 }),
      protEn: fc.boolean(),
      pIExponent: fc.integer({ min: 0, max: 15 }),
      lbPerPbExponent: fc.integer({ min: 0, max: 15 }),
      lbpme: fc.boolean(),
      lbprz: fc.boolean(),
      lowestAlignedLba: fc.integer({ min: 0, max: 0x3fff }),
    });
    fc.assert(
      fc.property(arb, (d) => {
        expect(decodeReadCapacity16(encodeReadCapacity16(d))).toEqual(E.right(d));
      }),
      RUNS,
    );
    const huge = new Uint8Array(32).fill(0xff);
    expect(decodeReadCapacity16(huge)).toEqual(E.left(expect.objectContaining({ _tag: 'Unrepresentable' })));
    expect(decodeReadCapacity16(new Uint8Array(15))).toEqual(E.left(expect.objectContaining({ _tag: 'Truncated', needed: 16 })));
  });
});
