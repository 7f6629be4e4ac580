/**
 * Hand-built Zstandard frames for tests (RFC 8878 §3.1): raw and RLE blocks need no
 * entropy coding, so a test can say exactly what a frame's header claims and what its
 * blocks hold, including what no compressor would write.
 */
import { BLOCK_COMPRESSED, BLOCK_RAW, BLOCK_RLE, ZSTD_MAGIC_SKIPPABLE_START, ZSTD_MAGICNUMBER } from './frame.js';

export type BlockSpec =
  | { readonly type: 'raw'; readonly data: Uint8Array }
  | { readonly type: 'rle'; readonly byte: number; readonly size: number }
  | { readonly type: 'compressed'; readonly data: Uint8Array };

export interface FrameSpec {
  readonly blocks: readonly BlockSpec[];
  /** Window_Descriptor byte; without it the frame is single-segment (needs `contentSize`). */
  readonly windowDescriptor?: number;
  readonly contentSize?: number;
  readonly dictionaryId?: number;
  /** Content_Checksum, written as given (this module cannot compute XXH64). */
  readonly checksum?: number;
  readonly reservedBit?: boolean;
}

const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(v / 256 ** i) & 0xff);

export function buildFrame(spec: FrameSpec): Uint8Array {
  const single = spec.windowDescriptor === undefined;
  const fcs = spec.contentSize;
  if (single && fcs === undefined) throw new Error('a single-segment frame needs contentSize');
  const fcsBytes = fcs === undefined ? 0 : single && fcs < 256 ? 1 : fcs >= 256 && fcs < 65536 + 256 ? 2 : fcs < 2 ** 32 ? 4 : 8;
  const fcsFlag = fcsBytes === 8 ? 3 : fcsBytes === 4 ? 2 : fcsBytes === 2 ? 1 : 0;
  const dictBytes = spec.dictionaryId === undefined ? 0 : 4;
  const fhd = (fcsFlag << 6) | (single ? 0x20 : 0) | (spec.reservedBit ? 0x08 : 0) | (spec.checksum !== undefined ? 0x04 : 0) | (dictBytes ? 3 : 0);
  const out: number[] = [...le(ZSTD_MAGICNUMBER, 4), fhd];
  if (!single) out.push(spec.windowDescriptor as number);
  if (dictBytes) out.push(...le(spec.dictionaryId as number, 4));
  if (fcsBytes) out.push(...le(fcsBytes === 2 ? (fcs as number) - 256 : (fcs as number), fcsBytes));
  spec.blocks.forEach((b, i) => {
    const last = i === spec.blocks.length - 1 ? 1 : 0;
    const type = b.type === 'raw' ? BLOCK_RAW : b.type === 'rle' ? BLOCK_RLE : BLOCK_COMPRESSED;
    const size = b.type === 'rle' ? b.size : b.data.length;
    out.push(...le(size * 8 + type * 2 + last, 3));
    if (b.type === 'rle') out.push(b.byte);
    else out.push(...b.data);
  });
  if (spec.checksum !== undefined) out.push(...le(spec.checksum, 4));
  return new Uint8Array(out);
}

export function skippableFrame(payload: Uint8Array, nibble = 0): Uint8Array {
  return new Uint8Array([...le(ZSTD_MAGIC_SKIPPABLE_START + nibble, 4), ...le(payload.length, 4), ...payload]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `n` bytes of xorshift32 noise from `seed`: data no compressor can shrink. */
export function noise(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  return new Uint8Array(n).map(() => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
}
