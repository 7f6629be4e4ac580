/**
 * Guest reads (block/qcow2.c qcow2_co_preadv_part): each run of the request is zeroes
 * (zero clusters, or unallocated ones without a backing file), the backing file's bytes,
 * a compressed cluster decompressed, or the data file's bytes at the host offset.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { decompressCluster } from './compress.js';
import { getHostOffset } from './cluster-map.js';
import type { L2Entry } from './format/l2-entry.js';
import { hex } from './header-update.js';
import { brokenError, isIoError, offsetIntoCluster, type Qcow2State } from './state.js';

/** qcow2_co_preadv_compressed: `out.length` bytes of the compressed cluster, from `inCluster`. */
export function readCompressed(s: Qcow2State, e: L2Entry, inCluster: number, out: Uint8Array, acct: IoAcct): BlockIoError | null {
  const raw = new Uint8Array(e.compressed ? e.bytes : 0);
  s.file.debugEvent('read_compressed');
  const err = s.file.preadv(e.offset, raw, acct);
  if (err) return err;
  const cluster = decompressCluster(s.compressionType, raw, s.clusterSize);
  if (!cluster) return ioError('EIO', `${s.nodeName}: compressed cluster at ${hex(e.offset)} does not decompress to ${s.clusterSize} bytes`);
  out.set(cluster.subarray(inCluster, inCluster + out.length));
  return null;
}

/** Read `buf.length` guest bytes at `offset` (within the disk). */
export function qcow2Read(s: Qcow2State, offset: number, buf: Uint8Array, acct: IoAcct): BlockIoError | null {
  if (s.broken) return brokenError(s);
  let done = 0;
  while (done < buf.length) {
    const pos = offset + done;
    const run = getHostOffset(s, pos, buf.length - done, acct);
    if (isIoError(run)) return run;
    if (run.bytes <= 0) return ioError('EIO', `${s.nodeName}: cluster lookup made no progress at ${pos}`);
    const part = buf.subarray(done, done + run.bytes);
    let err: BlockIoError | null = null;
    switch (run.type) {
      case 'ZERO_PLAIN':
      case 'ZERO_ALLOC':
        part.fill(0);
        break;
      case 'UNALLOCATED_PLAIN':
      case 'UNALLOCATED_ALLOC':
        if (s.backing) {
          s.file.debugEvent('read_backing_aio');
          err = s.backing.preadv(pos, part, acct);
        } else {
          part.fill(0);
        }
        break;
      case 'COMPRESSED':
        err = readCompressed(s, run.entry!, offsetIntoCluster(s, pos), part, acct);
        break;
      case 'NORMAL':
        s.file.debugEvent('read_aio');
        err = s.dataFile.preadv(run.hostOffset, part, acct);
        break;
      case 'INVALID':
        err = ioError('EIO', `${s.nodeName}: invalid cluster entry`);
        break;
    }
    if (err) return err;
    done += run.bytes;
  }
  return null;
}
