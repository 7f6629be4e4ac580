import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  bitmapDataBytes,
  bitmapTableSize,
  BME_FLAG_AUTO,
  BME_FLAG_IN_USE,
  decodeDirectory,
  decodeTableEntry,
  dirEntrySize,
  encodeDirectory,
  encodeTable,
  infoFlags,
  type BitmapDirEntry,
} from './format.js';

const G = { clusterSize: 65536, diskSize: 64 << 20 };
const enc = new TextEncoder();
const entry = (over: Partial<BitmapDirEntry> = {}): BitmapDirEntry => ({
  tableOffset: 0x160000,
  tableSize: 1,
  flags: BME_FLAG_AUTO,
  type: 1,
  granularityBits: 16,
  name: enc.encode('b0'),
  ...over,
});

/** Patch one big-endian field of a directory. */
function poke(dir: Uint8Array, at: number, bytes: number, value: number): Uint8Array {
  const out = dir.slice();
  for (let i = 0; i < bytes; i++) out[at + i] = Math.floor(value / 2 ** (8 * (bytes - 1 - i))) & 0xff;
  return out;
}

describe('qcow2 bitmap directory', () => {
  it('encodes an entry byte for byte as qemu-img 7.2 wrote it (b0 of a 64 MiB image)', () => {
    const dir = encodeDirectory([entry()]);
    // From an image qemu-img bitmap --add made: table at 0x160000, 1 entry, auto, type 1, 64 KiB granularity.
    expect(Buffer.from(dir).toString('hex')).toBe('0000000000160000' + '00000001' + '00000002' + '01' + '10' + '0002' + '00000000' + '6230' + '000000000000');
    expect(dir.length).toBe(dirEntrySize(2, 0));
    expect(decodeDirectory(dir, dir.length, 1, G)).toEqual(E.right([entry()]));
  });

  it('round-trips any valid directory (property)', () => {
    const entryArb = fc.record({
      tableOffset: fc.integer({ min: 1, max: 2 ** 30 }).map((n) => n * 65536),
      flags: fc.constantFrom(0, BME_FLAG_AUTO, BME_FLAG_IN_USE, BME_FLAG_IN_USE | BME_FLAG_AUTO),
      granularityBits: fc.integer({ min: 9, max: 31 }),
      name: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => b.map((x) => x || 1)),
    });
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 1 << 30 }), (es, disk) => {
        const g = { clusterSize: 65536, diskSize: disk };
        const full = es.map((e) => ({ ...e, type: 1, tableSize: bitmapTableSize(g, e.granularityBits) }));
        const dir = encodeDirectory(full);
        expect(dir.length % 8).toBe(0);
        expect(decodeDirectory(dir, dir.length, full.length, g)).toEqual(E.right(full));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses what QEMU refuses, in its words', () => {
    const one = encodeDirectory([entry()]);
    const two = encodeDirectory([entry(), entry({ name: enc.encode('b1'), granularityBits: 19, tableOffset: 0x2a0000 })]);
    const bad = (dir: Uint8Array, size = dir.length, nb = 1) => E.isLeft(decodeDirectory(dir, size, nb, G)) && (decodeDirectory(dir, size, nb, G) as E.Left<string>).left;
    expect(bad(one, 0)).toBe('Requested bitmap directory size is zero');
    expect(bad(one, 1024 * 65535 + 1)).toBe('Requested bitmap directory size is too big');
    expect(bad(two, two.length, 1)).toBe('More bitmaps found than specified in header extension');
    expect(bad(one, one.length, 2)).toBe('Less bitmaps found than specified in header extension');
    expect(bad(one, 20)).toBe('Broken bitmap directory');
    expect(bad(one, 24)).toBe('Broken bitmap directory');
    expect(bad(poke(one, 20, 4, 8), one.length + 8)).toBe('Bitmap extra data is not supported');
    const c = "Bitmap 'b0' doesn't satisfy the constraints";
    expect(bad(poke(one, 17, 1, 8))).toBe(c);
    expect(bad(poke(one, 17, 1, 32))).toBe(c);
    expect(bad(poke(one, 16, 1, 2))).toBe(c);
    expect(bad(poke(one, 12, 4, 4))).toBe(c);
    expect(bad(poke(one, 8, 4, 0))).toBe(c);
    expect(bad(poke(one, 0, 8, 0))).toBe(c);
    expect(bad(poke(one, 0, 8, 0x160200))).toBe(c);
    expect(bad(poke(one, 8, 4, 0x2001))).toBe(c);
    // Too small a table for the disk: refused unless the bitmap is in use (stale after a resize).
    expect(bad(one, one.length, 1)).toBe(false);
    const small = { clusterSize: 65536, diskSize: 64 * 2 ** 30 };
    expect(E.isLeft(decodeDirectory(one, one.length, 1, small))).toBe(true);
    expect(E.isRight(decodeDirectory(poke(one, 12, 4, BME_FLAG_IN_USE | BME_FLAG_AUTO), one.length, 1, small))).toBe(true);
    // A directory past the end of the file reads as zeros: an entry of nothing.
    expect(bad(new Uint8Array(0), 64)).toBe("Bitmap '' doesn't satisfy the constraints");
  });

  it('a name is cut at its first NUL, as QEMU copies it', () => {
    const dir = encodeDirectory([entry({ name: new Uint8Array([0x61, 0, 0x62]) })]);
    const d = decodeDirectory(dir, dir.length, 1, G);
    expect(E.isRight(d) && Array.from(d.right[0].name)).toEqual([0x61]);
  });

  it('decoding any bytes never throws and never walks past the size it is given (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(400), fc.nat(70000), (bytes, size, nb) => {
        const d = decodeDirectory(bytes, size, nb, G);
        if (E.isRight(d)) expect(d.right.reduce((n, e) => n + dirEntrySize(e.name.length, 0), 0)).toBeLessThanOrEqual(size);
      }),
      { numRuns: 500 },
    );
  });
});

describe('qcow2 bitmap tables and sizes', () => {
  it('table entries: offsets, all-ones, and the entries QEMU refuses', () => {
    expect(decodeTableEntry(0x150000n, 65536)).toEqual({ offset: 0x150000, allOnes: false });
    expect(decodeTableEntry(0n, 65536)).toEqual({ offset: 0, allOnes: false });
    expect(decodeTableEntry(1n, 65536)).toEqual({ offset: 0, allOnes: true });
    expect(decodeTableEntry(0x150001n, 65536)).toBeUndefined();
    expect(decodeTableEntry(0x150002n, 65536)).toBeUndefined();
    expect(decodeTableEntry(0x150200n, 65536)).toBeUndefined();
    expect(decodeTableEntry(0x150200n, 512)).toEqual({ offset: 0x150200, allOnes: false });
    expect(decodeTableEntry(1n << 56n, 512)).toBeUndefined();
    expect(Buffer.from(encodeTable([0x150000, 0])).toString('hex')).toBe('0000000000150000' + '0000000000000000');
  });

  it('table sizes follow the disk size and granularity, data in whole 64-bit words', () => {
    expect(bitmapTableSize(G, 16)).toBe(1);
    expect(bitmapDataBytes(64 << 20, 16)).toBe(128);
    expect(bitmapDataBytes(1, 9)).toBe(8);
    expect(bitmapDataBytes(65 * 512, 9)).toBe(16);
    // 1 TiB at 512 B granularity: 2^31 bits, 256 MiB of bitmap, 4096 clusters of 64 KiB.
    expect(bitmapTableSize({ clusterSize: 65536, diskSize: 2 ** 40 }, 9)).toBe(4096);
    expect(bitmapTableSize({ clusterSize: 512, diskSize: 512 * 4097 * 8 }, 9)).toBe(9);
  });

  it('info flags in QEMU order', () => {
    expect(infoFlags(3)).toEqual(['in-use', 'auto']);
    expect(infoFlags(0)).toEqual([]);
  });
});
