/**
 * Compressed clusters (block/qcow2-threads.c): raw deflate with a 4 KiB window (zlib's
 * windowBits -12) or a zstd frame. Decompression must produce exactly one cluster;
 * bytes after the compressed stream (the rest of its last sector) are ignored.
 *
 * zlib is Node's; zstd decompression is `fzstd`. No well-kept pure-JavaScript zstd
 * compressor exists, so writing compressed clusters to a zstd image is refused.
 */
import * as zlib from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import { COMPRESSION_ZSTD } from './format/header.js';

/** qcow2_co_decompress: one cluster from `input`, or undefined when it does not decode to one. */
export function decompressCluster(type: number, input: Uint8Array, clusterSize: number): Uint8Array | undefined {
  return type === COMPRESSION_ZSTD ? zstdDecompress(input, clusterSize) : zlibDecompress(input, clusterSize);
}

function zlibDecompress(input: Uint8Array, clusterSize: number): Uint8Array | undefined {
  try {
    const out = zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: clusterSize });
    return out.length === clusterSize ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
  } catch {
    return undefined;
  }
}

function zstdDecompress(input: Uint8Array, clusterSize: number): Uint8Array | undefined {
  // As QEMU's loop: decode until the cluster is full; what follows (another cluster's frame) is not ours.
  const out = new Uint8Array(clusterSize);
  let got = 0;
  const stream = new ZstdStream((chunk) => {
    const n = Math.min(chunk.length, clusterSize - got);
    out.set(chunk.subarray(0, n), got);
    got += n;
  });
  try {
    for (let p = 0; p < input.length && got < clusterSize; p += 512) stream.push(input.subarray(p, Math.min(p + 512, input.length)));
  } catch {
    // Junk after a complete cluster is fine; a frame that ends short is not (checked below).
  }
  return got === clusterSize ? out : undefined;
}

/**
 * qcow2_co_compress: the cluster deflated, or undefined when it would not be smaller than
 * `maxBytes` (the caller then writes it uncompressed).
 */
export function compressCluster(type: number, data: Uint8Array, maxBytes: number): Uint8Array | undefined | 'unsupported' {
  if (type === COMPRESSION_ZSTD) return 'unsupported';
  const out = zlib.deflateRawSync(data, { level: zlib.constants.Z_DEFAULT_COMPRESSION, windowBits: 12, memLevel: 9 });
  return out.length <= maxBytes ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
}
