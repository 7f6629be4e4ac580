import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { layoutArb, safeU64, u32, u8 } from './arbitraries.js';
import { zeroLayout } from './fields.js';
import { CACHING_LAYOUT, CONTROL_LAYOUT, decodeModePage, encodeModePage, MODE_PAGES, RIGID_DISK_GEOMETRY_LAYOUT, type KnownModePageKind, type ModePage } from './mode-pages.js';
import { decodeModeParameters, encodeModeParameters, MODE_DSP_DPOFUA, MODE_DSP_WP, type ModeParameters } from './mode-params.js';

const RUNS = { numRuns: process.env.IOPATH_DEEP === '1' ? 2000 : 200 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const caching = (wce: boolean): ModePage => ({ kind: 'caching', ps: false, ...zeroLayout(CACHING_LAYOUT), wce });

describe('mode pages, byte for byte', () => {
  it('MODE SENSE(6) of the caching page with a block descriptor, as QEMU answers for a 1 MiB disk', () => {
    const p: ModeParameters = { format: 6, mediumType: 0, deviceSpecific: 0, longLba: false, blockDescriptors: [{ numberOfBlocks: 2048, blockLength: 512 }], pages: [caching(true)] };
    const b = encodeModeParameters(p);
    expect(b).toHaveLength(32);
    expect(hex(b.subarray(0, 16))).toBe('1f000008' + '0000080000000200' + '0812' + '0400');
    expect(b.subarray(16).every((x) => x === 0)).toBe(true);
  });

  it('the rigid disk geometry page puts QEMU’s CHS, step rate, landing zone and 5400 rpm', () => {
    const g: ModePage = {
      kind: 'rigid-disk-geometry',
      ps: false,
      ...zeroLayout(RIGID_DISK_GEOMETRY_LAYOUT),
      numberOfCylinders: 1024,
      numberOfHeads: 16,
      startingCylinderWritePrecomp: 1024,
      startingCylinderReducedWriteCurrent: 1024,
      driveStepRate: 200,
      landingZoneCylinder: 0xffffff,
      mediumRotationRate: 5400,
    };
    expect(hex(encodeModePage(g))).toBe('0416' + '000400' + '10' + '000400' + '000400' + '00c8' + 'ffffff' + '000000' + '1518' + '0000');
  });

  it('the control page’s D_SENSE and QERR, and PS', () => {
    const c: ModePage = { kind: 'control', ps: true, ...zeroLayout(CONTROL_LAYOUT), dSense: true, qerr: 1, tas: true };
    expect(hex(encodeModePage(c))).toBe('8a0a' + '04' + '02' + '00' + '40' + '0000' + '0000' + '0000');
  });

  it('MODE SENSE(10) with a long LBA descriptor and WP | DPOFUA; MODE SELECT data has no data length', () => {
    const p: ModeParameters = {
      format: 10,
      mediumType: 0,
      deviceSpecific: MODE_DSP_WP | MODE_DSP_DPOFUA,
      longLba: true,
      blockDescriptors: [{ numberOfBlocks: 2 ** 40, blockLength: 4096 }],
      pages: [],
    };
    expect(hex(encodeModeParameters(p))).toBe('0016' + '0090' + '0100' + '0010' + '0000010000000000' + '00000000' + '00001000');
    expect(hex(encodeModeParameters(p, { select: true }).subarray(0, 2))).toBe('0000');
    expect(decodeModeParameters(encodeModeParameters(p, { select: true }), 10, { select: true })).toEqual(E.right(p));
  });

  it('keeps sub_page and unknown pages as bytes', () => {
    const sub: ModePage = { kind: 'other', ps: false, spf: true, pageCode: 0x0a, subpageCode: 1, data: Uint8Array.of(1, 2, 3) };
    expect(hex(encodeModePage(sub))).toBe('4a010003010203');
    expect(decodeModePage(encodeModePage(sub))).toEqual(sub);
  });

  it('drops a page cut by the allocation length and reads a short page’s missing fields as zero', () => {
    const p: ModeParameters = { format: 6, mediumType: 0, deviceSpecific: 0, longLba: false, blockDescriptors: [], pages: [caching(true), caching(false)] };
    const b = encodeModeParameters(p);
    const r = decodeModeParameters(b.subarray(0, 30), 6);
    expect(E.isRight(r) && r.right.pages).toEqual([caching(true)]);
    expect(decodeModePage(Uint8Array.of(0x08, 0x01, 0x04))).toEqual(caching(true));
  });
});

const knownPageArb: fc.Arbitrary<ModePage> = fc.constantFrom(...(Object.keys(MODE_PAGES) as KnownModePageKind[])).chain((kind) =>
  fc.tuple(fc.boolean(), layoutArb(MODE_PAGES[kind].layout)).map(([ps, v]) => ({ kind, ps, ...v }) as ModePage),
);
const otherPageArb: fc.Arbitrary<ModePage> = fc.oneof(
  fc.record({
    kind: fc.constant('other' as const),
    ps: fc.boolean(),
    spf: fc.constant(false),
    pageCode: fc.integer({ min: 0, max: 0x3f }).filter((c) => ![0x01, 0x02, 0x03, 0x04, 0x08, 0x0a, 0x1a, 0x2a].includes(c)),
    subpageCode: fc.constant(0),
    data: fc.uint8Array({ maxLength: 30 }),
  }),
  fc.record({ kind: fc.constant('other' as const), ps: fc.boolean(), spf: fc.constant(true), pageCode: fc.integer({ min: 0, max: 0x3f }), subpageCode: u8, data: fc.uint8Array({ maxLength: 30 }) }),
);
const modeParamsArb: fc.Arbitrary<ModeParameters> = fc.constantFrom(6 as const, 10 as const).chain((format) =>
  fc.boolean().chain((long) => {
    const longLba = format === 10 && long;
    return fc.record({
      format: fc.constant(format),
      mediumType: u8,
      deviceSpecific: u8,
      longLba: fc.constant(longLba),
      blockDescriptors: fc.array(fc.record({ numberOfBlocks: longLba ? safeU64 : u32, blockLength: longLba ? u32 : fc.integer({ min: 0, max: 0xffffff }) }), {
        maxLength: format === 6 ? 2 : 4,
      }),
      pages: fc.array(fc.oneof(knownPageArb, otherPageArb), { maxLength: format === 6 ? 3 : 8 }),
    });
  }),
);

describe('mode parameter properties', () => {
  it('every page round-trips', () => {
    fc.assert(
      fc.property(fc.oneof(knownPageArb, otherPageArb), (p) => {
        expect(decodeModePage(encodeModePage(p))).toEqual(p);
      }),
      RUNS,
    );
  });

  it('every parameter list round-trips, as sense data and as select data', () => {
    fc.assert(
      fc.property(modeParamsArb, (p) => {
        const b = encodeModeParameters(p);
        if (p.format === 6 && b.length > 256) return; // MODE DATA LENGTH(6) cannot describe it
        expect(decodeModeParameters(b, p.format)).toEqual(E.right(p));
        expect(decodeModeParameters(encodeModeParameters(p, { select: true }), p.format, { select: true })).toEqual(E.right(p));
      }),
      RUNS,
    );
  });

  it('any bytes decode to a list or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(6 as const, 10 as const), fc.boolean(), (b, format, select) => {
        const r = decodeModeParameters(b, format, { select });
        if (E.isLeft(r)) expect(['Truncated', 'BadField', 'Unrepresentable']).toContain(r.left._tag);
        else for (const pg of r.right.pages) expect(decodeModePage(encodeModePage(pg))).toEqual(pg);
      }),
      RUNS,
    );
  });
});
