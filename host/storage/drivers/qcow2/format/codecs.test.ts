import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeExtensions, encodeBitmapsExtension, encodeExtension, interpretExtensions, EXT_BACKING_FORMAT, EXT_BITMAPS } from './extensions.js';
import { decodeFeatureTable, encodeFeatureTable, QEMU_FEATURE_TABLE, unsupportedFeatureMessage } from './features.js';
import { decodeHeader, encodeHeaderCluster, type HeaderCluster } from './header.js';
import { getL2, getL2Bitmap, l1Copied, l1Offset, setL1, setL2, setL2Bitmap, setL2Compressed, subclusterType } from './l2-entry.js';
import { getRefcount, refblockEntries, refcountMax, setRefcount } from './refcount-block.js';

const offsetArb = (clusterBits: number) => fc.integer({ min: 0, max: 2 ** (56 - clusterBits) - 1 }).map((n) => n * 2 ** clusterBits);

describe('qcow2 L1/L2 entries', () => {
  it('L1 entries round-trip offset and COPIED (property)', () => {
    fc.assert(
      fc.property(offsetArb(9), fc.boolean(), (off, copied) => {
        const v = new DataView(new ArrayBuffer(16));
        setL1(v, 1, off, copied);
        expect([l1Offset(v, 1), l1Copied(v, 1)]).toEqual([off, copied]);
        expect(v.getUint32(0)).toBe(0);
      }),
    );
  });

  it('standard and extended L2 entries round-trip, bitmap halves as the spec lays them out (property)', () => {
    fc.assert(
      fc.property(fc.boolean(), offsetArb(14), fc.boolean(), fc.boolean(), fc.nat(0xffffffff), fc.nat(0xffffffff), (ext, off, copied, zero, alloc, zbits) => {
        const g = { clusterBits: 16, extendedL2: ext };
        const v = new DataView(new ArrayBuffer(64));
        setL2(v, 2, g, off, { copied, zero });
        setL2Bitmap(v, 2, g, alloc, zbits);
        const e = getL2(v, 2, g);
        expect(e).toEqual({ compressed: false, offset: off, copied, zero });
        if (ext) {
          expect(getL2Bitmap(v, 2, g)).toEqual({ alloc, zero: zbits });
          // Bits 0-31 (allocation) are the low word: bytes 12-15 of the 16-byte entry.
          expect(v.getUint32(2 * 16 + 12)).toBe(alloc);
        }
      }),
    );
  });

  it('compressed descriptors split offset and sector count by cluster_bits (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 9, max: 21 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 4096 }), (bits, off, len) => {
        const size = Math.min(len, 2 ** bits);
        const g = { clusterBits: bits, extendedL2: false };
        const v = new DataView(new ArrayBuffer(8));
        setL2Compressed(v, 0, g, off, size);
        const e = getL2(v, 0, g);
        if (!e.compressed) throw new Error('not compressed');
        expect(e.offset).toBe(off);
        // The descriptor covers whole sectors from `off` through the last byte.
        expect(off + e.bytes).toBe(Math.ceil((off + size) / 512) * 512);
        expect(v.getUint32(0) >>> 30).toBe(1);
      }),
    );
  });

  it('classifies subclusters as QEMU does, and an allocated+zero bitmap as invalid', () => {
    const normal = { compressed: false as const, offset: 0x10000, copied: true, zero: false };
    expect(subclusterType(normal, { alloc: 0b01, zero: 0b10 }, 0, true, false)).toBe('NORMAL');
    // A zero subcluster of a cluster with a host offset keeps it (qcow2.h: ZERO_ALLOC).
    expect(subclusterType(normal, { alloc: 0b01, zero: 0b10 }, 1, true, false)).toBe('ZERO_ALLOC');
    expect(subclusterType({ ...normal, offset: 0 }, { alloc: 0, zero: 0b10 }, 1, true, false)).toBe('ZERO_PLAIN');
    // Without a host offset no subcluster may be allocated, whichever is asked about.
    expect(subclusterType({ ...normal, offset: 0 }, { alloc: 0b100, zero: 0 }, 0, true, false)).toBe('INVALID');
    expect(subclusterType(normal, { alloc: 0b01, zero: 0b10 }, 2, true, false)).toBe('UNALLOCATED_ALLOC');
    expect(subclusterType({ ...normal, offset: 0 }, { alloc: 0, zero: 0 }, 2, true, false)).toBe('UNALLOCATED_PLAIN');
    expect(subclusterType(normal, { alloc: 1, zero: 1 }, 5, true, false)).toBe('INVALID');
    expect(subclusterType({ ...normal, zero: true }, { alloc: 0, zero: 0 }, 0, false, false)).toBe('ZERO_ALLOC');
    expect(subclusterType({ ...normal, offset: 0, copied: true }, { alloc: 0, zero: 0 }, 0, false, true)).toBe('NORMAL');
  });
});

describe('qcow2 refcount blocks', () => {
  it('every width from 1 to 64 bits keeps each entry apart from its neighbours (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(fc.tuple(fc.nat(4095), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 50 }), (order, sets) => {
        const block = new Uint8Array(4096);
        const entries = refblockEntries(512 * 8, order) / 8;
        const model = new Map<number, number>();
        for (const [i0, f] of sets) {
          const i = i0 % entries;
          const v = Math.floor(f * refcountMax(order));
          setRefcount(block, i, order, v);
          model.set(i, v);
        }
        for (let i = 0; i < entries; i++) expect(getRefcount(block, i, order)).toBe(model.get(i) ?? 0);
      }),
    );
  });

  it('sub-byte widths count from the least significant bit', () => {
    const b = new Uint8Array(1);
    setRefcount(b, 0, 0, 1);
    expect(b[0]).toBe(1);
    setRefcount(b, 1, 1, 3);
    expect(b[0]).toBe(0b1101);
  });
});

describe('qcow2 header and extensions', () => {
  const base: HeaderCluster = {
    header: {
      version: 3, clusterBits: 16, size: 1 << 30, cryptMethod: 0, l1Size: 2, l1TableOffset: 0x30000, refcountTableOffset: 0x10000,
      refcountTableClusters: 1, nbSnapshots: 0, snapshotsOffset: 0, incompatibleFeatures: 0n, compatibleFeatures: 1n, autoclearFeatures: 0n,
      refcountOrder: 4, compressionType: 0,
    },
    unknownHeaderFields: new Uint8Array(0),
    unknownExtensions: [],
  };

  it('the header cluster round-trips through decodeHeader and the extension parser (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          v: fc.constantFrom(2, 3),
          bits: fc.integer({ min: 13, max: 21 }),
          size: fc.integer({ min: 0, max: 2 ** 50 }),
          order: fc.integer({ min: 0, max: 6 }),
          backing: fc.option(fc.stringMatching(/^[a-z0-9./_-]{1,60}$/), { nil: undefined }),
          fmt: fc.option(fc.constantFrom('raw', 'qcow2'), { nil: undefined }),
          unknown: fc.array(fc.record({ magic: fc.integer({ min: 1, max: 0x7fffffff }), data: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 3 }),
          extra: fc.uint8Array({ maxLength: 3 }).map((a) => new Uint8Array(a.length * 8)),
        }),
        (r) => {
          const known = [0xe2792aca, 0x6803f857, 0x23852875, 0x0537be77, 0x44415441];
          const unknown = r.unknown.filter((u) => !known.includes(u.magic));
          const hc: HeaderCluster = {
            ...base,
            header: { ...base.header, version: r.v, clusterBits: r.bits, size: r.size, refcountOrder: r.v === 2 ? 4 : r.order, compatibleFeatures: r.v === 2 ? 0n : 1n },
            unknownHeaderFields: r.v === 2 ? new Uint8Array(0) : r.extra,
            backingFile: r.backing,
            backingFormat: r.fmt,
            unknownExtensions: unknown,
          };
          const enc = encodeHeaderCluster(hc, 2 ** r.bits);
          if (E.isLeft(enc)) throw new Error(enc.left);
          const h = decodeHeader(enc.right);
          if (E.isLeft(h)) throw new Error(h.left);
          expect(h.right).toMatchObject({ version: r.v, clusterBits: r.bits, size: r.size, refcountOrder: hc.header.refcountOrder });
          const start = h.right.headerLength;
          const raw = decodeExtensions(enc.right, start, h.right.backingFileOffset || 2 ** r.bits);
          if (E.isLeft(raw)) throw new Error(raw.left);
          const ext = interpretExtensions(raw.right, { luks: false, clusterSize: 2 ** r.bits, autoclearBitmaps: true });
          if (E.isLeft(ext)) throw new Error(ext.left);
          expect(ext.right.backingFormat).toBe(r.fmt);
          expect(ext.right.unknown.map((u) => u.magic)).toEqual([...unknown].reverse().map((u) => u.magic));
          const name = new TextDecoder().decode(enc.right.subarray(h.right.backingFileOffset, h.right.backingFileOffset + h.right.backingFileSize));
          expect(r.backing === undefined ? h.right.backingFileOffset : name).toBe(r.backing ?? 0);
          // Re-encoding what was decoded gives the same bytes (unknown extensions are written back in QEMU's order).
          const again = encodeHeaderCluster({ ...hc, unknownExtensions: [...ext.right.unknown].reverse() }, 2 ** r.bits);
          expect(E.isRight(again) && Buffer.compare(again.right, enc.right)).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the feature name table is QEMU 7.2s, and unknown bits are named by the image table', () => {
    const t = encodeFeatureTable(QEMU_FEATURE_TABLE);
    expect(t.length).toBe(8 * 48);
    expect(decodeFeatureTable(t)).toEqual(QEMU_FEATURE_TABLE);
    expect(unsupportedFeatureMessage([], 0x80000000n)).toBe('Unsupported qcow2 feature(s): Unknown incompatible feature: 80000000');
    expect(unsupportedFeatureMessage([{ type: 0, bit: 40, name: 'shiny' }], (1n << 40n) | (1n << 9n))).toBe('Unsupported qcow2 feature(s): shiny, Unknown incompatible feature: 200');
  });

  it('extension parsing reports an extension running past its area, and a backing format too long', () => {
    const e = encodeExtension(EXT_BACKING_FORMAT, new TextEncoder().encode('raw'));
    expect(decodeExtensions(e, 0, 10)).toEqual(E.left('Header extension too large'));
    const long = encodeExtension(EXT_BACKING_FORMAT, new Uint8Array(16).fill(0x61));
    const raw = decodeExtensions(long, 0, long.length);
    expect(E.isRight(raw) && interpretExtensions(raw.right, { luks: false, clusterSize: 65536, autoclearBitmaps: true })).toEqual(E.left('ERROR: ext_backing_format: len=16 too large (>=16)'));
  });

  it('a bitmaps extension is checked only while its autoclear bit is set; with the bit clear it is ignored', () => {
    const data = encodeBitmapsExtension({ nbBitmaps: 0, directorySize: 8, directoryOffset: 100 });
    const raw = [{ magic: EXT_BITMAPS, data }];
    expect(interpretExtensions(raw, { luks: false, clusterSize: 65536, autoclearBitmaps: true })).toEqual(E.left('found bitmaps extension with zero bitmaps'));
    const ignored = interpretExtensions(raw, { luks: false, clusterSize: 65536, autoclearBitmaps: false });
    expect(E.isRight(ignored) && [ignored.right.bitmaps, ignored.right.bitmapsIgnored]).toEqual([undefined, true]);
    // The length is checked either way, as QEMU does.
    expect(interpretExtensions([{ magic: EXT_BITMAPS, data: data.subarray(0, 16) }], { luks: false, clusterSize: 512, autoclearBitmaps: false })).toEqual(
      E.left('bitmaps_ext: Invalid extension length'),
    );
    const good = { nbBitmaps: 2, directorySize: 64, directoryOffset: 0x2b0000 };
    const ok = interpretExtensions([{ magic: EXT_BITMAPS, data: encodeBitmapsExtension(good) }], { luks: false, clusterSize: 65536, autoclearBitmaps: true });
    expect(E.isRight(ok) && [ok.right.bitmaps, ok.right.bitmapsIgnored]).toEqual([good, false]);
  });

  it('decoding arbitrary bytes never throws (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.nat(600), fc.nat(600), fc.boolean(), (bytes, a, b, autoclearBitmaps) => {
        decodeHeader(bytes);
        decodeExtensions(bytes, a, b);
        decodeFeatureTable(bytes);
        const raw = decodeExtensions(bytes, Math.min(a, b), Math.max(a, b));
        if (E.isRight(raw)) interpretExtensions(raw.right, { luks: true, clusterSize: 512, autoclearBitmaps });
      }),
      { numRuns: 500 },
    );
  });
});
