/**
 * Zstandard framing (RFC 8878 §3.1), little-endian throughout: enough to find where a
 * frame ends and what its header promises without decoding a block, so that a frame read
 * from an image (attacker-controlled) is judged before any decoder allocates for it.
 *
 *   Zstandard frame   Magic_Number 0xFD2FB528 (4) | Frame_Header (2-14) | Block... | [Content_Checksum (4)]
 *   Frame_Header      Frame_Header_Descriptor (1) | [Window_Descriptor (1)] | [Dictionary_ID (0-4)]
 *                     | [Frame_Content_Size (0-8)]
 *     descriptor      bits 7-6 Frame_Content_Size_Flag, 5 Single_Segment_Flag, 4 unused,
 *                     3 reserved (must be 0), 2 Content_Checksum_Flag, 1-0 Dictionary_ID_Flag
 *     window          bits 7-3 Exponent, 2-0 Mantissa: (1 << (10 + Exponent)) * (1 + Mantissa / 8);
 *                     absent with Single_Segment_Flag, when the window is the content size
 *     content size    Flag 0: absent (1 byte when single-segment); 1: 2 bytes + 256; 2: 4; 3: 8
 *   Block_Header      3 bytes: bit 0 Last_Block, bits 2-1 Block_Type (0 Raw, 1 RLE,
 *                     2 Compressed, 3 reserved), bits 23-3 Block_Size; an RLE block carries
 *                     one byte, the others Block_Size bytes
 *   Skippable frame   Magic_Number 0x184D2A5? (4) | Frame_Size (4) | User_Data (Frame_Size)
 */
import * as E from 'fp-ts/lib/Either.js';

export const ZSTD_MAGICNUMBER = 0xfd2fb528;
export const ZSTD_MAGIC_SKIPPABLE_START = 0x184d2a50;
export const ZSTD_MAGIC_SKIPPABLE_MASK = 0xfffffff0;
/** Block_Maximum_Size's ceiling: no block regenerates more than 128 KiB. */
export const ZSTD_BLOCKSIZE_MAX = 128 * 1024;
const ZSTD_WINDOWLOG_ABSOLUTEMIN = 10;

export const BLOCK_RAW = 0;
export const BLOCK_RLE = 1;
export const BLOCK_COMPRESSED = 2;

/** A Zstandard frame's header and extent (`start` at its magic number, `end` past its checksum). */
export interface ZstdFrame {
  readonly _tag: 'Frame';
  readonly start: number;
  readonly end: number;
  readonly windowSize: number;
  /** Frame_Content_Size, when the header carries it. */
  readonly contentSize: number | undefined;
  readonly dictionaryId: number;
  /** Content_Checksum: the low 32 bits of XXH64 (seed 0) of the content, when present. */
  readonly checksum: number | undefined;
}

export interface SkippableFrame {
  readonly _tag: 'Skippable';
  readonly start: number;
  readonly end: number;
}

const le = (buf: Uint8Array, at: number, n: number): number => {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + buf[at + i];
  return v;
};

function windowSize(descriptor: number): number {
  const base = 2 ** (ZSTD_WINDOWLOG_ABSOLUTEMIN + (descriptor >> 3));
  return base + (base / 8) * (descriptor & 7);
}

/** The frame header at `pos` (after the magic number): its fields and where the blocks start. */
function readHeader(buf: Uint8Array, pos: number): E.Either<string, Omit<ZstdFrame, '_tag' | 'start' | 'end' | 'checksum'> & { blocks: number; hasChecksum: boolean }> {
  if (pos >= buf.length) return E.left('zstd: frame header truncated');
  const fhd = buf[pos];
  if (fhd & 0x08) return E.left('zstd: reserved bit set in the frame header descriptor');
  const singleSegment = (fhd & 0x20) !== 0;
  const fcsFlag = fhd >> 6;
  const dictBytes = [0, 1, 2, 4][fhd & 3];
  const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
  const headerEnd = pos + 1 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
  if (headerEnd > buf.length) return E.left('zstd: frame header truncated');
  let p = pos + 1;
  const window = singleSegment ? undefined : windowSize(buf[p++]);
  const dictionaryId = le(buf, p, dictBytes);
  p += dictBytes;
  const contentSize = fcsBytes === 0 ? undefined : le(buf, p, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
  return E.right({
    windowSize: window ?? (contentSize as number),
    contentSize,
    dictionaryId,
    blocks: headerEnd,
    hasChecksum: (fhd & 0x04) !== 0,
  });
}

/**
 * The frame that starts at `pos` in `buf`, walked to its end through the block headers
 * (no block is decoded). Left when it is not a frame, is cut short, or breaks a rule of
 * the format that a decoder would refuse it for.
 */
export function readFrame(buf: Uint8Array, pos: number): E.Either<string, ZstdFrame | SkippableFrame> {
  if (pos + 4 > buf.length) return E.left('zstd: no frame (input ends)');
  const magic = le(buf, pos, 4);
  if ((magic & ZSTD_MAGIC_SKIPPABLE_MASK) >>> 0 === ZSTD_MAGIC_SKIPPABLE_START) {
    if (pos + 8 > buf.length) return E.left('zstd: skippable frame header truncated');
    const end = pos + 8 + le(buf, pos + 4, 4);
    return end <= buf.length ? E.right({ _tag: 'Skippable', start: pos, end }) : E.left('zstd: skippable frame truncated');
  }
  if (magic !== ZSTD_MAGICNUMBER) return E.left(`zstd: unknown frame magic 0x${magic.toString(16)}`);
  const h = readHeader(buf, pos + 4);
  if (E.isLeft(h)) return h;
  const { blocks, hasChecksum, ...header } = h.right;
  const blockMax = Math.min(header.windowSize, ZSTD_BLOCKSIZE_MAX);
  let p = blocks;
  for (;;) {
    if (p + 3 > buf.length) return E.left('zstd: block header truncated');
    const bh = le(buf, p, 3);
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    if (type === 3) return E.left('zstd: reserved block type');
    if (size > blockMax) return E.left(`zstd: block of ${size} bytes exceeds Block_Maximum_Size (${blockMax})`);
    p += 3 + (type === BLOCK_RLE ? 1 : size);
    if (p > buf.length) return E.left('zstd: block truncated');
    if (bh & 1) break;
  }
  let checksum: number | undefined;
  if (hasChecksum) {
    if (p + 4 > buf.length) return E.left('zstd: content checksum truncated');
    checksum = le(buf, p, 4);
    p += 4;
  }
  return E.right({ _tag: 'Frame', start: pos, end: p, checksum, ...header });
}
