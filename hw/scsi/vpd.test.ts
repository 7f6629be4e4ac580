import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { asciiText, layoutArb, u8 } from './arbitraries.js';
import { asciiVendorSpecificDesignator, decodeDesignators, encodeDesignators, naaDesignator, t10VendorIdDesignator, type Designator } from './designators.js';
import {
  BLOCK_DEVICE_CHARACTERISTICS_LAYOUT,
  BLOCK_LIMITS_LAYOUT,
  decodeVpdPage,
  encodeVpdPage,
  LOGICAL_BLOCK_PROVISIONING_LAYOUT,
  type VpdPage,
} from './vpd.js';
import { zeroLayout } from './fields.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('VPD pages as QEMU’s scsi-hd writes them', () => {
  it('0x00 lists the pages, 0x80 the serial', () => {
    expect(hex(encodeVpdPage({ kind: 'supported-pages', pages: [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2] }))).toBe('00000006' + '008083b0b1b2');
    expect(hex(encodeVpdPage({ kind: 'unit-serial', serial: 'SN1' }))).toBe('00800003' + '534e31');
  });

  it('0x83 with device_id, wwn and a T10 vendor ID', () => {
    const page = encodeVpdPage({
      kind: 'device-identification',
      designators: [asciiVendorSpecificDesignator('drive0'), naaDesignator(0x5000c50015ea71acn), t10VendorIdDesignator('QEMU', 'x')],
    });
    expect(hex(page)).toBe(
      '00830023' + '02000006' + Buffer.from('drive0').toString('hex') + '01030008' + '5000c50015ea71ac' + '02010009' + Buffer.from('QEMU    x').toString('hex'),
    );
  });

  it('0xb0 block limits: WSNZ, unmap limits and max write same where QEMU puts them', () => {
    const bl = { ...zeroLayout(BLOCK_LIMITS_LAYOUT), wsnz: true, maximumTransferLength: 0x4000, maximumUnmapLbaCount: 0x200000, maximumUnmapBlockDescriptorCount: 255, optimalUnmapGranularity: 8, maximumWriteSameLength: 0x4000 };
    const b = encodeVpdPage({ kind: 'block-limits', ...bl });
    expect(b).toHaveLength(64);
    expect(hex(b.subarray(0, 16))).toBe('00b0003c' + '01000000' + '00004000' + '00000000');
    expect(hex(b.subarray(20, 44))).toBe('00200000' + '000000ff' + '00000008' + '00000000' + '0000000000004000');
  });

  it('0xb1 rotation rate and 0xb2 provisioning (LBPU | LBPWS | LBPWS10, thin)', () => {
    const b1 = encodeVpdPage({ kind: 'block-device-characteristics', ...zeroLayout(BLOCK_DEVICE_CHARACTERISTICS_LAYOUT), mediumRotationRate: 1 });
    expect(b1).toHaveLength(64);
    expect(hex(b1.subarray(0, 6))).toBe('00b1003c0001');
    const b2 = encodeVpdPage({ kind: 'logical-block-provisioning', ...zeroLayout(LOGICAL_BLOCK_PROVISIONING_LAYOUT), lbpu: true, lbpws: true, lbpws10: true, provisioningType: 2 });
    expect(hex(b2)).toBe('00b20004' + '00e00200');
  });

  it('reads an SBC-2 sized block limits page with the rest zero', () => {
    const full = encodeVpdPage({ kind: 'block-limits', ...zeroLayout(BLOCK_LIMITS_LAYOUT), maximumTransferLength: 77, maximumUnmapLbaCount: 9 });
    full[3] = 0x0c; // page length 12: bytes 0..15 only
    const r = decodeVpdPage(full);
    expect(E.isRight(r) && r.right.page).toEqual({ kind: 'block-limits', ...zeroLayout(BLOCK_LIMITS_LAYOUT), maximumTransferLength: 77 });
  });
});

const designatorArb: fc.Arbitrary<Designator> = fc.record({
  protocolIdentifier: fc.integer({ min: 0, max: 15 }),
  codeSet: fc.integer({ min: 0, max: 15 }),
  piv: fc.boolean(),
  association: fc.integer({ min: 0, max: 3 }),
  id: fc.oneof(
    fc.record({ type: fc.constant('t10-vendor-id' as const), vendor: asciiText(8), specific: asciiText(40) }),
    fc.record({ type: fc.constant('naa' as const), naa: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ type: fc.constant('relative-target-port' as const), port: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ type: fc.constant('other' as const), designatorType: fc.constantFrom(0, 2, 5, 6, 7, 8, 9, 15), data: fc.uint8Array({ maxLength: 40 }) }),
  ),
});

const vpdArb: fc.Arbitrary<VpdPage> = fc.oneof(
  fc.record({ kind: fc.constant('supported-pages' as const), pages: fc.array(u8, { maxLength: 20 }) }),
  fc.record({ kind: fc.constant('unit-serial' as const), serial: fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')) }),
  fc.record({ kind: fc.constant('device-identification' as const), designators: fc.array(designatorArb, { maxLength: 6 }) }),
  layoutArb(BLOCK_LIMITS_LAYOUT).map((v) => ({ kind: 'block-limits' as const, ...v })),
  layoutArb(BLOCK_DEVICE_CHARACTERISTICS_LAYOUT).map((v) => ({ kind: 'block-device-characteristics' as const, ...v })),
  layoutArb(LOGICAL_BLOCK_PROVISIONING_LAYOUT).map((v) => ({ kind: 'logical-block-provisioning' as const, ...v })),
  fc.record({ kind: fc.constant('other' as const), pageCode: fc.integer({ min: 0x84, max: 0xaf }), data: fc.uint8Array({ maxLength: 40 }) }),
);

describe('VPD properties', () => {
  it('every page round-trips', () => {
    fc.assert(
      fc.property(vpdArb, u8, (page, peripheral) => {
        expect(decodeVpdPage(encodeVpdPage(page, peripheral))).toEqual(E.right({ peripheral, page }));
      }),
      RUNS,
    );
  });

  it('designator lists round-trip', () => {
    fc.assert(
      fc.property(fc.array(designatorArb, { maxLength: 8 }), (ds) => {
        expect(decodeDesignators(encodeDesignators(ds))).toEqual(ds);
      }),
      RUNS,
    );
  });

  it('any bytes decode to a page or a typed error', () => {
    const withCode = fc.tuple(u8, fc.constantFrom(0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2), fc.uint8Array({ maxLength: 100 })).map(([p, c, rest]) => Uint8Array.from([p, c, ...rest]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), withCode), (b) => {
        const r = decodeVpdPage(b);
        if (E.isLeft(r)) expect(['Truncated', 'Unrepresentable']).toContain(r.left._tag);
        else expect(encodeVpdPage(r.right.page, r.right.peripheral)[1]).toBe(b[1]);
      }),
      RUNS,
    );
  });
});
