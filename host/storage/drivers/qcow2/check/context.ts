/**
 * What one run of the qcow2 check carries (QEMU's BdrvCheckResult plus its arguments):
 * the counters, the messages QEMU prints to stderr (in its words), what to repair, and
 * the in-memory refcount table. Also qcow2_inc_refcounts_imrt, which every walk uses.
 */
import type { IoAcct } from '../../../driver.js';
import type { CheckFix, ImageCheckResult } from '../../../image-api.js';
import type { Qcow2State } from '../state.js';
import type { QcowSnapshot } from '../snapshot/format.js';
import type { Imrt } from './imrt.js';

/** BdrvCheckResult's counters and BlockFragInfo: ImageCheckResult without its messages. */
export type CheckCounts = Omit<ImageCheckResult, 'messages'>;

/**
 * Messages QEMU prints with error_report rather than fprintf carry the program's name,
 * as qemu-img shows it.
 */
export const ERROR_REPORT = 'qemu-img: ';

export const zeroCounts = (): CheckCounts => ({
  corruptions: 0,
  leaks: 0,
  checkErrors: 0,
  corruptionsFixed: 0,
  leaksFixed: 0,
  imageEndOffset: 0,
  allocatedClusters: 0,
  totalClusters: 0,
  fragmentedClusters: 0,
  compressedClusters: 0,
});

export const NO_FIX: CheckFix = { leaks: false, errors: false };

export interface CheckCtx {
  readonly s: Qcow2State;
  readonly acct: IoAcct;
  /** Lines printed so far (to stderr, in QEMU). */
  readonly messages: string[];
  /** The counters being filled (a run may swap them, as QEMU swaps `*res`). */
  res: CheckCounts;
  imrt: Imrt;
  /** The snapshot table as the check read it. */
  snapshots: readonly QcowSnapshot[];
  /** Its size in bytes (QEMU's snapshots_size). */
  snapshotsSize: number;
}

/** `%x` of a number (no 0x). */
export const hx = (n: number | bigint): string => n.toString(16);
/** `%#x`: 0 as "0", else 0x-prefixed. */
export const hx0 = (n: number | bigint): string => (n === 0 || n === 0n ? '0' : `0x${n.toString(16)}`);

export const repairing = (fix: boolean): string => (fix ? 'Repairing' : 'ERROR');

/** qcow2_add_check_result: add `src`'s counters to `out` (and its allocation info when asked). */
export function addCheckResult(out: CheckCounts, src: CheckCounts, allocationInfo: boolean): void {
  out.corruptions += src.corruptions;
  out.leaks += src.leaks;
  out.checkErrors += src.checkErrors;
  out.corruptionsFixed += src.corruptionsFixed;
  out.leaksFixed += src.leaksFixed;
  out.failed ??= src.failed;
  if (allocationInfo) {
    out.imageEndOffset = src.imageEndOffset;
    out.allocatedClusters = src.allocatedClusters;
    out.totalClusters = src.totalClusters;
    out.fragmentedClusters = src.fragmentedClusters;
    out.compressedClusters = src.compressedClusters;
  }
}

export function toCheckResult(c: CheckCounts, messages: string[]): ImageCheckResult {
  return { ...c, messages };
}

/**
 * qcow2_inc_refcounts_imrt: one more reference to every cluster [offset, offset + size)
 * touches. A region ending a cluster or more past the end of the file is a corruption
 * (the last cluster may be half-written), as is a refcount that would overflow.
 * Returns false when the table cannot grow (ENOMEM: the check must stop).
 */
export function incRefcounts(ctx: CheckCtx, offset: number, size: number): boolean {
  if (size <= 0) return true;
  const { s, imrt } = ctx;
  const cs = s.clusterSize;
  const fileLen = s.file.getLength();
  if (offset + size - fileLen >= cs) {
    ctx.messages.push(
      `ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x${hx(offset)} size 0x${hx(size)}`,
    );
    ctx.res.corruptions++;
    return true;
  }
  const first = Math.floor(offset / cs);
  const last = Math.floor((offset + size - 1) / cs);
  for (let k = first; k <= last; k++) {
    if (k >= imrt.size && !imrt.resize(k + 1)) {
      ctx.res.checkErrors++;
      ctx.messages.push('ERROR: Cannot allocate memory for the refcount table of the check');
      return false;
    }
    const rc = imrt.get(k);
    if (rc === imrt.max) {
      ctx.messages.push(`ERROR: overflow cluster offset=0x${hx(k * cs)}`);
      ctx.messages.push(
        'Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a clean copy if the image cannot be opened for writing',
      );
      ctx.res.corruptions++;
      continue;
    }
    imrt.set(k, rc + 1);
  }
  return true;
}
