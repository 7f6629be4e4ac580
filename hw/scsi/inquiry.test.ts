import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { asciiText, layoutArb, u16 } from './arbitraries.js';
import { decodeStandardInquiry, encodeStandardInquiry, INQUIRY_FLAGS_LAYOUT, qemuDiskInquiry, VERSION_DESCRIPTOR_SBC3, VERSION_DESCRIPTOR_SPC4, type StandardInquiry } from './inquiry.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('standard INQUIRY data', () => {
  it('is QEMU scsi-hd’s 36 bytes', () => {
    const b = encodeStandardInquiry(qemuDiskInquiry());
    expect(hex(b.subarray(0, 8))).toBe('00000512' + '1f000012');
    expect(Buffer.from(b.subarray(8, 36)).toString('latin1')).toBe('QEMU    QEMU HARDDISK   2.5+');
  });

  it('sizes its ADDITIONAL LENGTH to the answer, as QEMU does for a long allocation length', () => {
    const b = encodeStandardInquiry(qemuDiskInquiry({ tcq: false, removable: true }), 96);
    expect(b).toHaveLength(96);
    expect([b[1], b[4], b[7]]).toEqual([0x80, 91, 0x10]);
    expect(encodeStandardInquiry(qemuDiskInquiry(), 10_000)).toHaveLength(260);
  });

  it('places version descriptors from byte 58', () => {
    const b = encodeStandardInquiry({ ...qemuDiskInquiry(), versionDescriptors: [VERSION_DESCRIPTOR_SPC4, VERSION_DESCRIPTOR_SBC3] });
    expect(b).toHaveLength(74);
    expect(hex(b.subarray(58, 62))).toBe('046004c0');
    expect(b[4]).toBe(69);
  });

  it('round-trips every field', () => {
    const arb: fc.Arbitrary<StandardInquiry> = fc
      .record({
        flags: layoutArb(INQUIRY_FLAGS_LAYOUT),
        vendor: asciiText(8),
        product: asciiText(16),
        revision: asciiText(4),
        versionDescriptors: fc.array(u16.filter((v) => v !== 0), { maxLength: 8 }),
      })
      .map(({ flags, ...rest }) => ({ ...flags, ...rest }));
    fc.assert(
      fc.property(arb, fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }), (d, len) => {
        expect(decodeStandardInquiry(encodeStandardInquiry(d, len))).toEqual(E.right(d));
      }),
      RUNS,
    );
  });

  it('refuses fewer than 36 bytes and never throws on any bytes', () => {
    expect(decodeStandardInquiry(new Uint8Array(35))).toEqual(E.left({ _tag: 'Truncated', what: 'standard INQUIRY data', needed: 36, got: 35 }));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        const r = decodeStandardInquiry(b);
        expect(E.isRight(r)).toBe(b.length >= 36);
      }),
      RUNS,
    );
  });
});
