/**
 * Zstandard for qcow2's compressed clusters (block/qcow2-threads.c, qcow2_zstd_compress
 * and qcow2_zstd_decompress), with the reference library compiled to WebAssembly
 * (`@bokuweb/zstd-wasm`). It instantiates once, here, with a top-level await (about
 * 15 ms), so every caller compresses and decompresses synchronously.
 *
 * Compression: ZSTD_compress of the whole cluster into one frame at ZSTD_CLEVEL_DEFAULT,
 * as QEMU's fresh ZSTD_CCtx does.
 *
 * Decompression: frame by frame, as QEMU's ZSTD_decompressStream loop takes them, each
 * frame first walked by `readFrame` (frame.ts) and held to the limits below, then decoded
 * whole by ZSTD_decompress into at most the room left in the cluster. The checks come
 * first because the library's wrapper sizes its output buffer from the frame header: only
 * a frame whose header is valid and whose content size fits reaches it. The reference
 * decoder then checks the rest (content size, checksum, dictionary, the blocks).
 */
import { compress as zstdCompressRaw, decompress as zstdDecompressRaw, init as zstdInit } from '@bokuweb/zstd-wasm';
import * as E from 'fp-ts/lib/Either.js';
import { readFrame } from './frame.js';

await zstdInit();

/** zstd.h ZSTD_CLEVEL_DEFAULT: the level a fresh ZSTD_CCtx compresses at (QEMU sets none). */
export const ZSTD_CLEVEL_DEFAULT = 3;

/**
 * zstd.h ZSTD_WINDOWLOG_LIMIT_DEFAULT: the largest window a streaming decoder (QEMU's)
 * accepts unless told otherwise; a frame declaring more is refused as QEMU refuses it.
 */
export const ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27;

/** zstd_errors.h, the codes a frame from an image can meet. */
const ZSTD_ERRORS: Readonly<Record<number, string>> = {
  10: 'unknown frame type (prefix_unknown)',
  14: 'unsupported frame parameter (frameParameter_unsupported)',
  16: 'window too large (frameParameter_windowTooLarge)',
  20: 'corrupt data (corruption_detected)',
  22: 'content checksum mismatch (checksum_wrong)',
  32: 'needs a dictionary (dictionary_wrong)',
  70: 'frame decodes to more than its content size or the cluster (dstSize_tooSmall)',
  72: 'frame size wrong (srcSize_wrong)',
};

function libraryError(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const code = /code -?(\d+)/.exec(text);
  const name = code ? ZSTD_ERRORS[Number(code[1])] : undefined;
  return `zstd: ${name ?? text}`;
}

/** `data` as one Zstandard frame at `level`; Left when the library fails. */
export function zstdCompress(data: Uint8Array, level = ZSTD_CLEVEL_DEFAULT): E.Either<string, Uint8Array> {
  try {
    return E.right(zstdCompressRaw(data, level));
  } catch (e) {
    return E.left(libraryError(e));
  }
}

/**
 * Exactly `size` bytes from the frames at the start of `input` (qcow2_zstd_decompress):
 * frames are decoded in turn until the output is full, skippable frames skipped; whatever
 * follows (the rest of the last sector, another cluster's data) is ignored. A frame that
 * would overfill the output, or that the decoder refuses, fails the whole.
 */
export function zstdDecompressExact(input: Uint8Array, size: number): E.Either<string, Uint8Array> {
  const out = new Uint8Array(size);
  let got = 0;
  let pos = 0;
  while (got < size) {
    const f = readFrame(input, pos);
    if (E.isLeft(f)) return f;
    pos = f.right.end;
    if (f.right._tag === 'Skippable') continue;
    const { start, end, windowSize, contentSize } = f.right;
    const room = size - got;
    if (windowSize > 2 ** ZSTD_WINDOWLOG_LIMIT_DEFAULT) return E.left(`zstd: frame window of ${windowSize} bytes exceeds 2^${ZSTD_WINDOWLOG_LIMIT_DEFAULT}`);
    if (contentSize !== undefined && contentSize > room) return E.left(`zstd: frame of ${contentSize} bytes is more than the ${room} left in the cluster`);
    let part: Uint8Array;
    try {
      part = zstdDecompressRaw(input.subarray(start, end), { defaultHeapSize: room });
    } catch (e) {
      return E.left(libraryError(e));
    }
    if (part.length > room) return E.left(`zstd: frame decodes to ${part.length} bytes, more than the ${room} left in the cluster`);
    out.set(part, got);
    got += part.length;
  }
  return E.right(out);
}
