import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { decompress as fzstdDecompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { ZSTD_WINDOWLOG_LIMIT_DEFAULT, zstdCompress, zstdDecompressExact } from './codec.js';
import { readFrame } from './frame.js';
import { buildFrame, concat, skippableFrame, type BlockSpec } from './testing.js';

const left = <T>(r: E.Either<string, T>): string => (E.isLeft(r) ? r.left : 'ok');
const right = <T>(r: E.Either<string, T>): T => {
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
};
const bytes = (n: number, f: (i: number) => number) => new Uint8Array(n).map((_, i) => f(i));
const raw = (data: Uint8Array): BlockSpec => ({ type: 'raw', data });

/** Cluster-like data: runs and repeats, with some noise, so that it compresses partly. */
const clusterArb = (size: number) =>
  fc.tuple(fc.nat(0xffff), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 255 })).map(([seed, period, noise]) =>
    bytes(size, (i) => ((i * 2654435761 + seed) >>> 24) % 256 < noise ? (i * seed) & 0xff : (i % period) + 0x20),
  );

describe('zstd codec', () => {
  it('round-trips clusters; an independent decoder (fzstd) reads the same frames (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(512, 4096, 65536).chain(clusterArb), (data) => {
        const z = right(zstdCompress(data));
        expect(Buffer.compare(right(zstdDecompressExact(z, data.length)), data)).toBe(0);
        expect(Buffer.compare(fzstdDecompress(z), data)).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('writes one single-segment frame with its content size and no checksum, as QEMU does', () => {
    const data = bytes(65536, (i) => i >> 8);
    const z = right(zstdCompress(data));
    expect(right(readFrame(z, 0))).toMatchObject({ _tag: 'Frame', end: z.length, contentSize: 65536, windowSize: 65536, checksum: undefined });
    expect(z.length).toBeLessThan(2000);
  });

  it('makes incompressible data larger, not smaller', () => {
    let x = 88172645463325252n;
    const noise = bytes(65536, () => {
      x ^= (x << 13n) & 0xffffffffffffffffn;
      x ^= x >> 7n;
      x ^= (x << 17n) & 0xffffffffffffffffn;
      return Number(x & 0xffn);
    });
    expect(right(zstdCompress(noise)).length).toBeGreaterThan(65536);
  });

  it('fills the cluster from several frames, skipping skippable ones, ignoring what follows', () => {
    const a = bytes(3000, (i) => i & 0xff);
    const b = bytes(1096, (i) => 0xff - (i & 0xff));
    const input = concat(right(zstdCompress(a)), skippableFrame(bytes(33, (i) => i)), buildFrame({ contentSize: 1096, blocks: [raw(b)] }), bytes(700, () => 0x5a));
    expect(Buffer.compare(right(zstdDecompressExact(input, 4096)), concat(a, b))).toBe(0);
    // A frame of no content is no progress but no error either.
    expect(E.isRight(zstdDecompressExact(concat(buildFrame({ contentSize: 0, blocks: [raw(new Uint8Array(0))] }), input), 4096))).toBe(true);
  });

  it('fails a cluster that the frames overfill or underfill', () => {
    const z = right(zstdCompress(bytes(4096, (i) => i % 7)));
    expect(left(zstdDecompressExact(z, 4095))).toBe('zstd: frame of 4096 bytes is more than the 4095 left in the cluster');
    expect(left(zstdDecompressExact(z, 4097))).toMatch(/no frame/);
    expect(left(zstdDecompressExact(z.subarray(0, z.length - 1), 4096))).toMatch(/truncated/);
    // Without a content size in the header, the overflow shows while decoding.
    const noSize = buildFrame({ windowDescriptor: 0x20, blocks: [raw(new Uint8Array(3000)), raw(new Uint8Array(3000))] });
    expect(left(zstdDecompressExact(noSize, 4096))).toMatch(/more than its content size or the cluster \(dstSize_tooSmall\)/);
    expect(Buffer.compare(right(zstdDecompressExact(noSize, 6000)), new Uint8Array(6000))).toBe(0);
  });

  it('stops a decompression bomb at the cluster: 64 GiB of RLE blocks in 2 MiB', () => {
    const blocks: BlockSpec[] = Array.from({ length: 500_000 }, () => ({ type: 'rle', byte: 1, size: 128 * 1024 }));
    const bomb = buildFrame({ windowDescriptor: 0x38, blocks });
    const t = performance.now();
    expect(left(zstdDecompressExact(bomb, 65536))).toMatch(/dstSize_tooSmall/);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('holds each frame to its header: content size, checksum, dictionary, window', () => {
    const data = bytes(1000, (i) => (i * 13) & 0xff);
    expect(left(zstdDecompressExact(buildFrame({ windowDescriptor: 0, contentSize: 999, blocks: [raw(data)] }), 1000))).toMatch(/more than its content size .*dstSize_tooSmall/);
    expect(left(zstdDecompressExact(buildFrame({ windowDescriptor: 0, contentSize: 1001, blocks: [raw(data)] }), 1001))).toMatch(/corruption_detected/);
    expect(left(zstdDecompressExact(buildFrame({ contentSize: 2000, blocks: [raw(data)] }), 1000))).toMatch(/more than the 1000 left/);
    // `zstd -3 --check` of 1000 bytes of 0x61 + (i * 7) % 26, from stdin (so no content size).
    const golden = Buffer.from('28b52ffd0458150100d061686f76636a7178656c737a676e7562697077646b7279666d7401002eef6a8e01f65c1712', 'hex');
    expect(right(readFrame(golden, 0))).toMatchObject({ checksum: 0x12175cf6, contentSize: undefined });
    const text = bytes(1000, (i) => 0x61 + ((i * 7) % 26));
    expect(Buffer.compare(right(zstdDecompressExact(golden, 1000)), text)).toBe(0);
    golden[golden.length - 2] ^= 1;
    expect(left(zstdDecompressExact(golden, 1000))).toMatch(/checksum_wrong/);
    expect(left(zstdDecompressExact(buildFrame({ contentSize: 1000, dictionaryId: 7, blocks: [raw(data)] }), 1000))).toMatch(/dictionary_wrong/);
    // Window_Descriptor 0x88: 2^27, the most QEMU's decoder takes; 0x89 is 2^27 + 2^24.
    expect(ZSTD_WINDOWLOG_LIMIT_DEFAULT).toBe(27);
    expect(Buffer.compare(right(zstdDecompressExact(buildFrame({ windowDescriptor: 0x88, blocks: [raw(data)] }), 1000)), data)).toBe(0);
    expect(left(zstdDecompressExact(buildFrame({ windowDescriptor: 0x89, blocks: [raw(data)] }), 1000))).toBe('zstd: frame window of 150994944 bytes exceeds 2^27');
    expect(left(zstdDecompressExact(buildFrame({ windowDescriptor: 0xff, blocks: [raw(data)] }), 1000))).toMatch(/window of .* exceeds/);
  });

  it('gives a result or an error for damaged frames, never an exception or a wrong length (property)', () => {
    const data = bytes(4096, (i) => (i % 300 < 200 ? i % 17 : (i * 7) & 0xff));
    const z = right(zstdCompress(data));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(z.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), fc.nat(z.length), (edits, cut) => {
        const b = z.slice(0, Math.max(cut, z.length - 8));
        for (const [at, v] of edits) if (at < b.length) b[at] = v;
        const r = zstdDecompressExact(b, 4096);
        if (E.isRight(r)) expect(r.right.length).toBe(4096);
      }),
      { numRuns: 300 },
    );
  });
});
