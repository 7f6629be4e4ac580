import * as zlib from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noise } from './zstd/testing.js';
import { compressCluster, decompressCluster } from './compress.js';
import { COMPRESSION_ZLIB, COMPRESSION_ZSTD } from './format/header.js';
import { readFrame } from './zstd/frame.js';

const right = <T>(r: E.Either<string, T>): T => {
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
};
const types = [
  ['zlib', COMPRESSION_ZLIB],
  ['zstd', COMPRESSION_ZSTD],
] as const;

describe('qcow2 cluster compression', () => {
  for (const [name, type] of types) {
    it(`${name}: a cluster round-trips, with the rest of the last sector ignored (property)`, () => {
      fc.assert(
        fc.property(fc.constantFrom(512, 4096, 65536), fc.nat(255), fc.integer({ min: 1, max: 40 }), fc.uint8Array({ maxLength: 511 }), (cs, fill, period, tail) => {
          const data = new Uint8Array(cs).map((_, i) => (i % period === 0 ? i & 0xff : fill));
          const packed = right(compressCluster(type, data, cs - 1));
          expect(packed).toBeDefined();
          const stored = new Uint8Array(packed!.length + tail.length);
          stored.set(packed!);
          stored.set(tail, packed!.length);
          expect(Buffer.compare(decompressCluster(type, stored, cs)!, data)).toBe(0);
        }),
        { numRuns: 30 },
      );
    });

    it(`${name}: what does not fit in maxBytes is left to be written uncompressed`, () => {
      const data = new Uint8Array(4096).map((_, i) => (i * 7) % 61);
      const packed = right(compressCluster(type, data, 4095))!;
      expect(right(compressCluster(type, data, packed.length))).toEqual(packed);
      expect(right(compressCluster(type, data, packed.length - 1))).toBeUndefined();
      // Random bytes never fit in a cluster less one byte.
      for (const cs of [512, 65536]) expect(right(compressCluster(type, noise(cs, cs), cs - 1))).toBeUndefined();
    });

    it(`${name}: input that is not one cluster's stream decompresses to nothing`, () => {
      const data = new Uint8Array(4096).fill(9);
      const packed = right(compressCluster(type, data, 4095))!;
      expect(decompressCluster(type, packed, 8192)).toBeUndefined();
      expect(decompressCluster(type, packed.subarray(0, packed.length >> 1), 4096)).toBeUndefined();
      expect(decompressCluster(type, noise(600, 5), 4096)).toBeUndefined();
      expect(decompressCluster(type, new Uint8Array(0), 4096)).toBeUndefined();
    });
  }

  it('writes the formats QEMU writes: raw deflate with a 4 KiB window, one zstd frame', () => {
    const data = new Uint8Array(65536).map((_, i) => (i >> 4) & 0xff);
    const deflated = right(compressCluster(COMPRESSION_ZLIB, data, 65535))!;
    expect(Buffer.compare(zlib.inflateRawSync(deflated, { windowBits: 12 }), data)).toBe(0);
    const zstd = right(compressCluster(COMPRESSION_ZSTD, data, 65535))!;
    expect(right(readFrame(zstd, 0))).toMatchObject({ _tag: 'Frame', end: zstd.length, contentSize: 65536, checksum: undefined });
  });
});
