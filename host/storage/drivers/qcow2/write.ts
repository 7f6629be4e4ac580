/**
 * Guest writes (block/qcow2.c qcow2_co_pwritev_part and qcow2_co_pwritev_task): for each
 * contiguous host range `allocHostOffset` finds, read what copy-on-write must preserve
 * (the guest's current view of the rest of the new clusters: backing file, zeroes, or
 * the old cluster), write it with the guest data in one request when they are adjacent
 * (QEMU's merge_cow), then link the new clusters into the L2 tables.
 */
import type { BlockIoError } from '../../block-backend-api.js';
import type { IoAcct } from '../../driver.js';
import { ioError } from '../../errors.js';
import { allocHostOffset } from './alloc.js';
import { getHostOffset } from './cluster-map.js';
import { linkL2, type L2Meta } from './l2-meta.js';
import { qcow2Read } from './read.js';
import { brokenError, isIoError, type Qcow2State } from './state.js';
import { overlapCheck, writeFast, zeroSpan } from './write-fast.js';

/** Whether the guest range reads as zeroes without looking at data (QEMU's is_zero_cow, fast path). */
function readsAsZero(s: Qcow2State, offset: number, bytes: number, acct: IoAcct): boolean {
  for (let done = 0; done < bytes; ) {
    const run = getHostOffset(s, offset + done, bytes - done, acct);
    if (isIoError(run) || run.bytes <= 0) return false;
    const zero = run.type === 'ZERO_PLAIN' || run.type === 'ZERO_ALLOC' || ((run.type === 'UNALLOCATED_PLAIN' || run.type === 'UNALLOCATED_ALLOC') && !s.backing);
    if (!zero) return false;
    done += run.bytes;
  }
  return true;
}

/** One COW region's bytes: what the guest reads there now. */
function cowRead(s: Qcow2State, m: L2Meta, region: L2Meta['cowStart'], acct: IoAcct): Uint8Array | BlockIoError {
  const buf = new Uint8Array(region.bytes);
  if (region.bytes === 0) return buf;
  s.file.debugEvent('cow_read');
  return qcow2Read(s, m.offset + region.offset, buf, acct) ?? buf;
}

/**
 * Write `data` (the guest bytes for host [host, host + data.length)) and the COW regions
 * of `metas`, then update the L2 tables.
 */
function writeAndLink(s: Qcow2State, host: number, guest: number, data: Uint8Array, metas: readonly L2Meta[], acct: IoAcct): BlockIoError | null {
  const cows: Array<{ at: number; bytes: Uint8Array }> = [];
  let merged: Uint8Array | undefined;
  let mergedAt = host;
  for (const m of metas) {
    const none = m.cowStart.bytes === 0 && m.cowEnd.bytes === 0;
    if (none) continue;
    // handle_alloc_space: regions that read as zero become one write-zeroes of the whole
    // span. Not across the guest's bytes in a cluster it already owns (keepOld): their old
    // content must survive if the data write then fails, so each region is zeroed alone.
    if (readsAsZero(s, m.offset + m.cowStart.offset, m.cowStart.bytes, acct) && readsAsZero(s, m.offset + m.cowEnd.offset, m.cowEnd.bytes, acct)) {
      const spans = m.keepOld
        ? [m.cowStart, m.cowEnd].filter((r) => r.bytes > 0)
        : [{ offset: m.cowStart.offset, bytes: m.cowEnd.offset + m.cowEnd.bytes - m.cowStart.offset }];
      s.file.debugEvent('cluster_alloc_space');
      for (const r of spans) {
        const err = zeroSpan(s, m.allocOffset + r.offset, r.bytes, acct);
        if (err) return err;
      }
      continue;
    }
    const head = cowRead(s, m, m.cowStart, acct);
    if (isIoError(head)) return head;
    const tail = cowRead(s, m, m.cowEnd, acct);
    if (isIoError(tail)) return tail;
    const adjacent = metas.length === 1 && m.offset + m.cowStart.offset + m.cowStart.bytes === guest && m.offset + m.cowEnd.offset === guest + data.length;
    if (adjacent) {
      merged = new Uint8Array(head.length + data.length + tail.length);
      merged.set(head);
      merged.set(data, head.length);
      merged.set(tail, head.length + data.length);
      mergedAt = m.allocOffset + m.cowStart.offset;
    } else {
      if (head.length) cows.push({ at: m.allocOffset + m.cowStart.offset, bytes: head });
      if (tail.length) cows.push({ at: m.allocOffset + m.cowEnd.offset, bytes: tail });
    }
  }
  let err = overlapCheck(s, mergedAt, (merged ?? data).length, acct);
  for (const c of cows) err ??= overlapCheck(s, c.at, c.bytes.length, acct);
  if (err) return err;
  s.file.debugEvent('write_aio');
  err = s.dataFile.pwritev(mergedAt, merged ?? data, {}, acct);
  if (err) return err;
  for (const c of cows) {
    s.file.debugEvent('cow_write');
    err = s.dataFile.pwritev(c.at, c.bytes, {}, acct);
    if (err) return err;
  }
  for (const m of metas) {
    err = linkL2(s, m, acct);
    if (err) return err;
  }
  return null;
}

/** Write `data` at guest `offset` (within the disk). */
export function qcow2Write(s: Qcow2State, offset: number, data: Uint8Array, acct: IoAcct): BlockIoError | null {
  if (s.broken) return brokenError(s);
  const fast = writeFast(s, offset, data, acct);
  if (fast !== undefined) return fast;
  let done = 0;
  while (done < data.length) {
    const a = allocHostOffset(s, offset + done, data.length - done, acct);
    if (isIoError(a)) return a;
    if (a.bytes <= 0 || a.hostOffset < 0) return ioError('EIO', `${s.nodeName}: no host cluster for guest offset ${offset + done}`);
    const err = writeAndLink(s, a.hostOffset, offset + done, data.subarray(done, done + a.bytes), a.metas, acct);
    if (err) return err;
    done += a.bytes;
  }
  return null;
}
