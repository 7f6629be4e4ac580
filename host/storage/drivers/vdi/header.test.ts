import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VDI_BLOCK_SIZE,
  VDI_DISK_SIZE_MAX,
  VDI_HEADER_SIZE,
  VDI_SIGNATURE,
  VDI_TYPE_DYNAMIC,
  VDI_TYPE_STATIC,
  decodeVdiHeader,
  encodeVdiHeader,
  newVdiHeader,
  vdiDiskSize,
  vdiHeaderProblem,
  type VdiHeader,
} from './header.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const raw = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const headerArb: fc.Arbitrary<VdiHeader> = fc.record({
  text: raw(64),
  signature: u32,
  version: u32,
  headerSize: u32,
  imageType: u32,
  imageFlags: u32,
  description: raw(256),
  offsetBmap: u32,
  offsetData: u32,
  cylinders: u32,
  heads: u32,
  sectors: u32,
  sectorSize: u32,
  unused1: u32,
  diskSize: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  blockSize: u32,
  blockExtra: u32,
  blocksInImage: u32,
  blocksAllocated: u32,
  uuidImage: raw(16),
  uuidLastSnap: raw(16),
  uuidLink: raw(16),
  uuidParent: raw(16),
  unused2: raw(56),
});

const good = (): VdiHeader => newVdiHeader(5 << 20, false, new Uint8Array(16), new Uint8Array(16));

describe('VDI header codec', () => {
  it('decode(encode(h)) = h for any field values', () => {
    fc.assert(fc.property(headerArb, (h) => {
      expect(decodeVdiHeader(encodeVdiHeader(h))).toEqual(h);
    }));
  });

  it('encode(decode(b)) = b for any 512 bytes, and shorter input decodes as zero-padded', () => {
    fc.assert(fc.property(raw(VDI_HEADER_SIZE), (b) => {
      expect(encodeVdiHeader(decodeVdiHeader(b))).toEqual(b);
    }));
    expect(decodeVdiHeader(new Uint8Array(3)).signature).toBe(0);
  });

  it('lays out fields at QEMU offsets (signature 0x40, bmap 0x154, disk size 0x170, blocks 0x180)', () => {
    const b = encodeVdiHeader(good());
    const dv = new DataView(b.buffer);
    expect(dv.getUint32(0x40, true)).toBe(VDI_SIGNATURE);
    expect(dv.getUint32(0x44, true)).toBe(0x00010001);
    expect(dv.getUint32(0x48, true)).toBe(0x180);
    expect(dv.getUint32(0x4c, true)).toBe(VDI_TYPE_DYNAMIC);
    expect(dv.getUint32(0x154, true)).toBe(0x200);
    expect(dv.getUint32(0x158, true)).toBe(0x400);
    expect(dv.getBigUint64(0x170, true)).toBe(5n << 20n);
    expect(dv.getUint32(0x178, true)).toBe(VDI_BLOCK_SIZE);
    expect(dv.getUint32(0x180, true)).toBe(5);
    expect(new TextDecoder().decode(b.subarray(0, 35))).toBe('<<< QEMU VM Virtual Disk Image >>>\n');
  });

  it('a static header pre-counts every block as allocated', () => {
    const h = newVdiHeader(3 << 20, true, new Uint8Array(16), new Uint8Array(16));
    expect(h.imageType).toBe(VDI_TYPE_STATIC);
    expect(h.blocksAllocated).toBe(3);
  });
});

describe('VDI header validation (vdi_open, in its order and words)', () => {
  const cases: [string, Partial<VdiHeader>, string][] = [
    ['absurd disk size', { diskSize: 2n ** 63n }, `Unsupported VDI image size (size is 0x8000000000000000, max supported is 0x${VDI_DISK_SIZE_MAX.toString(16)})`],
    ['bad signature', { signature: 0x12345 }, 'Image not in VDI format (bad signature 00012345)'],
    ['version 1.2', { version: 0x00010002 }, 'unsupported VDI image (version 1.2)'],
    ['unaligned map', { offsetBmap: 0x201 }, 'unsupported VDI image (unaligned block map offset 0x201)'],
    ['unaligned data', { offsetData: 0x401 }, 'unsupported VDI image (unaligned data offset 0x401)'],
    ['sector size', { sectorSize: 4096 }, 'unsupported VDI image (sector size 4096 is not 512)'],
    ['block size', { blockSize: 2 << 20 }, 'unsupported VDI image (block size 2097152 is not 1048576)'],
    ['map too small', { blocksInImage: 2 }, 'unsupported VDI image (disk size 5242880, image bitmap has room for 2097152)'],
    ['link uuid', { uuidLink: new Uint8Array(16).fill(1) }, 'unsupported VDI image (non-NULL link UUID)'],
    ['parent uuid', { uuidParent: new Uint8Array(16).fill(1) }, 'unsupported VDI image (non-NULL parent UUID)'],
    ['too many blocks', { blocksInImage: 0x40000000 }, 'unsupported VDI image (too many blocks 1073741824, max is 1073741823)'],
  ];
  it.each(cases)('%s', (_name, patch, message) => {
    expect(vdiHeaderProblem({ ...good(), ...patch })).toBe(message);
  });

  it('accepts what create writes, and rounds an odd disk size up to a sector', () => {
    expect(vdiHeaderProblem(good())).toBeNull();
    expect(vdiDiskSize({ ...good(), diskSize: 1000n })).toBe(1024);
  });

  it('never throws on any header', () => {
    fc.assert(fc.property(headerArb, (h) => {
      expect(() => vdiHeaderProblem(h)).not.toThrow();
    }));
  });
});
