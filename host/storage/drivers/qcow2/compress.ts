/**
 * Compressed clusters (block/qcow2-threads.c): raw deflate with a 4 KiB window (zlib's
 * windowBits -12) or a Zstandard frame. Decompression must produce exactly one cluster;
 * bytes after the compressed stream (the rest of its last sector) are ignored.
 *
 * zlib is Node's; zstd is ./zstd/codec.ts (the reference library in WebAssembly, each
 * frame checked before it is decoded).
 */
import * as zlib from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { COMPRESSION_ZSTD } from './format/header.js';
import { zstdCompress, zstdDecompressExact } from './zstd/codec.js';

/** qcow2_co_decompress: one cluster from `input`, or undefined when it does not decode to one. */
export function decompressCluster(type: number, input: Uint8Array, clusterSize: number): Uint8Array | undefined {
  if (type !== COMPRESSION_ZSTD) return zlibDecompress(input, clusterSize);
  const out = zstdDecompressExact(input, clusterSize);
  return E.isRight(out) ? out.right : undefined;
}

function zlibDecompress(input: Uint8Array, clusterSize: number): Uint8Array | undefined {
  try {
    const out = zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: clusterSize });
    return out.length === clusterSize ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * qcow2_co_compress: the cluster compressed, or Right(undefined) when that would not fit
 * in `maxBytes` (QEMU's -ENOMEM: the caller then writes it uncompressed). Left when the
 * compressor fails otherwise.
 */
export function compressCluster(type: number, data: Uint8Array, maxBytes: number): E.Either<string, Uint8Array | undefined> {
  if (type === COMPRESSION_ZSTD) return E.map((out: Uint8Array) => (out.length <= maxBytes ? out : undefined))(zstdCompress(data));
  const out = zlib.deflateRawSync(data, { level: zlib.constants.Z_DEFAULT_COMPRESSION, windowBits: 12, memLevel: 9 });
  return E.right(out.length <= maxBytes ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined);
}
