import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VMDK4_MAGIC, decodeVmdk4Header, encodeVmdk4Header, newSparseHeader, sparseLayout, type Vmdk4Header } from './header.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const headerArb: fc.Arbitrary<Vmdk4Header> = fc.record({
  magic: u32,
  version: u32,
  flags: u32,
  capacity: u64,
  granularity: u64,
  descOffset: u64,
  descSize: u64,
  numGtesPerGt: u32,
  rgdOffset: u64,
  gdOffset: u64,
  grainOffset: u64,
  filler: fc.integer({ min: 0, max: 255 }),
  checkBytes: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  compressAlgorithm: fc.integer({ min: 0, max: 0xffff }),
});

describe('VMDK4 sparse header codec', () => {
  it('decode(encode(h)) = h for any field values', () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        expect(decodeVmdk4Header(encodeVmdk4Header(h))).toEqual(h);
      }),
    );
  });

  it('writes the bytes qemu-img 7.2 writes for a 5 MiB monolithicSparse image', () => {
    const { header } = newSparseHeader(5 << 20, false, false);
    const hex = Buffer.from(encodeVmdk4Header(header).subarray(0, 0x50)).toString('hex');
    // xxd of `qemu-img create -f vmdk a.vmdk 5M` (magic, v1, flags 3, capacity 10240, …, rgd 21, gd 26, grains at 128)
    expect(hex).toBe(
      '4b444d56010000000300000000280000' +
        '00000000800000000000000001000000' +
        '00000000140000000000000000020000' +
        '15000000000000001a00000000000000' +
        '8000000000000000000a200d0a000000',
    );
  });

  it('streamOptimized is version 3 with COMPRESS|MARKER (and RGD, as 7.2 writes it), zeroed_grain version 2', () => {
    const s = newSparseHeader(3 * 2 ** 30, true, false).header;
    expect([s.version, s.flags, s.compressAlgorithm, s.rgdOffset, s.gdOffset, s.grainOffset]).toEqual([3, 0x30003, 1, 21n, 406n, 896n]);
    const z = newSparseHeader(1 << 20, false, true).header;
    expect([z.version, z.flags]).toEqual([2, 7]);
  });
});

describe('sparse extent checks (vmdk_open_vmdk4, vmdk_add_extent)', () => {
  const good = newSparseHeader(5 << 20, false, false).header;
  const cases: [string, Partial<Vmdk4Header>, string][] = [
    ['version 4', { version: 4 }, 'Unsupported VMDK version 4'],
    ['version 3 writable', { version: 3 }, 'VMDK version 3 must be read only'],
    ['big L2 tables', { numGtesPerGt: 513 }, 'L2 table size too big'],
    ['zero granularity', { granularity: 0n }, 'L1 entry size is invalid'],
    ['absurd capacity', { capacity: 2n ** 62n }, 'VMDK capacity of 4611686018427387904 sectors is too large'],
    ['grains past the end', { grainOffset: 1000n }, 'File truncated, expecting at least 512000 bytes'],
    ['huge grains', { granularity: 0x200001n, numGtesPerGt: 1 }, 'Invalid granularity, image may be corrupt'],
    ['huge directory', { capacity: 2n ** 40n, granularity: 1n, numGtesPerGt: 1 }, 'L1 size too big'],
  ];
  it.each(cases)('%s', (_n, patch, message) => {
    expect(sparseLayout({ ...good, ...patch }, 128, true)).toBe(message);
  });

  it('gives the geometry of a good header, and never throws on any', () => {
    expect(sparseLayout(good, 128, true)).toMatchObject({ sectors: 10240, clusterSectors: 128, l2Size: 512, l1Size: 1, l1Offset: 26 * 512, l1BackupOffset: 21 * 512 });
    fc.assert(
      fc.property(headerArb, fc.nat(), fc.boolean(), (h, n, w) => {
        expect(() => sparseLayout({ ...h, magic: VMDK4_MAGIC }, n, w)).not.toThrow();
      }),
    );
  });
});
