import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zstdCompress } from './codec.js';
import { readFrame, ZSTD_BLOCKSIZE_MAX } from './frame.js';
import { buildFrame, concat, skippableFrame } from './testing.js';

const left = <T>(r: E.Either<string, T>): string => (E.isLeft(r) ? r.left : 'ok');
const right = <T>(r: E.Either<string, T>): T => {
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
};

describe('zstd frames (RFC 8878 §3.1)', () => {
  it("reads the header a compressor wrote: single segment, content size, no checksum, its end", () => {
    const data = new Uint8Array(65536).map((_, i) => (i % 100 < 60 ? 0 : i & 0xff));
    const z = right(zstdCompress(data));
    const f = right(readFrame(concat(z, new Uint8Array(300).fill(0xaa)), 0));
    expect(f).toEqual({ _tag: 'Frame', start: 0, end: z.length, windowSize: 65536, contentSize: 65536, dictionaryId: 0, checksum: undefined });
  });

  it('decodes every header field as the spec lays it out', () => {
    const raw = { type: 'raw', data: new Uint8Array([1, 2, 3]) } as const;
    // Window_Descriptor 0x5b: exponent 11, mantissa 3 -> 2^21 + 3 * 2^18.
    const f = right(readFrame(buildFrame({ windowDescriptor: 0x5b, contentSize: 70000, dictionaryId: 0x01020304, checksum: 0xdeadbeef, blocks: [raw] }), 0));
    expect(f).toMatchObject({ windowSize: 2 ** 21 + 3 * 2 ** 18, contentSize: 70000, dictionaryId: 0x01020304, checksum: 0xdeadbeef });
    // The 2-byte content size is stored minus 256; a single-segment frame's window is its content size.
    expect(right(readFrame(buildFrame({ contentSize: 300, blocks: [raw] }), 0))).toMatchObject({ windowSize: 300, contentSize: 300 });
    expect(right(readFrame(buildFrame({ contentSize: 3, blocks: [raw] }), 0))).toMatchObject({ windowSize: 3, contentSize: 3 });
    expect(right(readFrame(buildFrame({ windowDescriptor: 0, blocks: [raw] }), 0))).toMatchObject({ windowSize: 1024, contentSize: undefined });
  });

  it('walks raw, RLE and compressed blocks to the last one, and skippable frames whole', () => {
    const frame = buildFrame({
      windowDescriptor: 0x30,
      checksum: 0x01020304,
      blocks: [
        { type: 'rle', byte: 7, size: 5000 },
        { type: 'compressed', data: new Uint8Array(40) },
        { type: 'raw', data: new Uint8Array(10) },
      ],
    });
    expect(frame.length).toBe(4 + 2 + 3 + 1 + 3 + 40 + 3 + 10 + 4);
    const skip = skippableFrame(new Uint8Array(20), 0xf);
    const both = concat(skip, frame);
    expect(right(readFrame(both, 0))).toEqual({ _tag: 'Skippable', start: 0, end: 28 });
    expect(right(readFrame(both, 28))).toMatchObject({ _tag: 'Frame', start: 28, end: both.length });
  });

  it('refuses what is not a whole, valid frame', () => {
    const raw = { type: 'raw', data: new Uint8Array(8) } as const;
    const ok = buildFrame({ windowDescriptor: 0, checksum: 7, blocks: [raw] });
    for (let cut = 0; cut < ok.length; cut++) expect(E.isLeft(readFrame(ok.subarray(0, cut), 0))).toBe(true);
    expect(left(readFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 0))).toMatch(/unknown frame magic 0x4030201/);
    expect(left(readFrame(buildFrame({ windowDescriptor: 0, reservedBit: true, blocks: [raw] }), 0))).toMatch(/reserved bit/);
    const reservedType = buildFrame({ windowDescriptor: 0, blocks: [raw] });
    reservedType[6] |= 6;
    expect(left(readFrame(reservedType, 0))).toMatch(/reserved block type/);
    expect(left(readFrame(skippableFrame(new Uint8Array(10)).subarray(0, 17), 0))).toMatch(/skippable frame truncated/);
  });

  it('holds blocks to Block_Maximum_Size: the window, and never past 128 KiB', () => {
    const big = (size: number, windowDescriptor: number) => buildFrame({ windowDescriptor, blocks: [{ type: 'rle', byte: 0, size }] });
    expect(E.isRight(readFrame(big(1024, 0), 0))).toBe(true);
    expect(left(readFrame(big(1025, 0), 0))).toMatch(/exceeds Block_Maximum_Size \(1024\)/);
    expect(E.isRight(readFrame(big(ZSTD_BLOCKSIZE_MAX, 0xf8), 0))).toBe(true);
    expect(left(readFrame(big(ZSTD_BLOCKSIZE_MAX + 1, 0xf8), 0))).toMatch(/exceeds Block_Maximum_Size \(131072\)/);
  });

  it('never throws and never reports an end past its input (property)', () => {
    const z = right(zstdCompress(new Uint8Array(4096).map((_, i) => (i * i) & 0x3f)));
    const mutated = fc.array(fc.tuple(fc.nat(z.length - 1), fc.nat(255)), { maxLength: 6 }).map((edits) => {
      const b = z.slice();
      for (const [at, v] of edits) b[at] = v;
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), fc.nat(8), (buf, pos) => {
        const r = readFrame(buf, pos);
        if (E.isRight(r)) expect(r.right.end).toBeLessThanOrEqual(buf.length);
      }),
      { numRuns: 300 },
    );
  });
});
