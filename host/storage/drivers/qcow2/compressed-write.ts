/**
 * Writing compressed clusters (block/qcow2.c qcow2_co_pwritev_compressed_part and _task,
 * block/qcow2-cluster.c qcow2_alloc_compressed_cluster_offset): each whole cluster is
 * compressed (deflate or zstd, as the header's compression_type says) and, when that makes
 * it smaller than a cluster, packed into shared clusters at byte granularity with a
 * compressed L2 descriptor; otherwise it is written normally.
 * A compressed cluster never overwrites an allocated one.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { getClusterTable, sliceView } from './cluster-map.js';
import { compressCluster } from './compress.js';
import { csizeShift, getL2, setL2Bitmap, setL2Compressed } from './format/l2-entry.js';
import { allocBytes } from './refcounts.js';
import { brokenError, isIoError, type Qcow2State } from './state.js';
import { qcow2Write } from './write.js';
import { overlapCheck } from './write-fast.js';

/** qcow2_alloc_compressed_cluster_offset: room for `size` bytes, linked as guest cluster `offset`. */
function allocCompressed(s: Qcow2State, offset: number, size: number, acct: IoAcct): number | BlockIoError {
  const ref = getClusterTable(s, offset, acct);
  if (isIoError(ref)) return ref;
  let t = sliceView(s, ref.sliceOffset, acct);
  if (isIoError(t)) return t;
  const e = getL2(t, ref.index, s);
  if (e.offset) return ioError('EIO', `${s.nodeName}: Compression can't overwrite anything (guest cluster ${offset} is allocated)`);
  const host = allocBytes(s, size, 2 ** csizeShift(s.clusterBits) - 1, acct);
  if (isIoError(host)) return host;
  t = sliceView(s, ref.sliceOffset, acct);
  if (isIoError(t)) return t;
  s.file.debugEvent('l2_update_compressed');
  s.l2Cache.markDirty(ref.sliceOffset);
  setL2Compressed(t, ref.index, s, host, size);
  setL2Bitmap(t, ref.index, s, 0, 0);
  return host;
}

/** One cluster (zero-padded when it is the short last one). */
function writeOne(s: Qcow2State, offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
  let cluster = data;
  if (data.length !== s.clusterSize) {
    cluster = new Uint8Array(s.clusterSize);
    cluster.set(data);
  }
  const packed = compressCluster(s.compressionType, cluster, s.clusterSize - 1);
  // A compressor failure other than "does not fit" is QEMU's -EINVAL.
  if (E.isLeft(packed)) return ioError('EINVAL', `${s.nodeName}: ${packed.left}`);
  const out = packed.right;
  if (out === undefined) return qcow2Write(s, offset, data, acct);
  const host = allocCompressed(s, offset, out.length, acct);
  if (isIoError(host)) return host;
  s.file.debugEvent('write_compressed');
  return overlapCheck(s, host, out.length, acct) ?? s.dataFile.pwritev(host, out, {}, acct);
}

/** bdrv_co_pwritev_compressed for qcow2. */
export function qcow2WriteCompressed(s: Qcow2State, offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
  if (s.broken) return brokenError(s);
  if (s.readOnly) return ioError('EROFS', `${s.nodeName}: node is read-only`);
  if (s.hasDataFile) return ioError('ENOTSUP', `${s.nodeName}: Compression is not supported with an external data file`);
  if (data.length === 0) {
    // The caller's end-of-stream signal (qemu-img convert -c): the file ends on a sector boundary.
    const len = s.file.getLength();
    return len % 512 ? s.file.truncate(Math.ceil(len / 512) * 512) : null;
  }
  const cs = s.clusterSize;
  const end = offset + data.length;
  if (!Number.isSafeInteger(end) || offset % cs || end > s.size || (data.length % cs && end !== s.size)) {
    return ioError('EINVAL', `${s.nodeName}: compressed writes must cover whole clusters (offset ${offset}, ${data.length} bytes)`);
  }
  for (let done = 0; done < data.length; done += cs) {
    const err = writeOne(s, offset + done, data.subarray(done, Math.min(done + cs, data.length)), acct);
    if (err) return err;
  }
  return null;
}
