/**
 * `qemu-img check [-r leaks|all]` for qcow2 (block/qcow2.c qcow2_co_check_locked,
 * block/qcow2-refcount.c qcow2_check_refcounts, block/qcow2-snapshot.c
 * qcow2_check_read_snapshot_table / qcow2_check_fix_snapshot_table):
 *
 * 1. the snapshot table is read again from the header (too many or too big entries are
 *    dropped with -r all);
 * 2. every reference is counted (header, active and snapshot L1/L2 trees, data and
 *    compressed clusters, snapshot table, refcount table and blocks, crypto header,
 *    persistent bitmaps' directory, tables and data) and
 *    compared with the refcounts on disk; refcounts are fixed as asked, and the refcount
 *    structure rebuilt when it cannot be trusted (with -r all);
 * 3. COPIED flags are checked against the refcounts;
 * 4. a damaged snapshot table is rewritten (-r all);
 * 5. a repair that left the image sound clears the dirty and corrupt bits.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { IoAcct } from '../../../driver.js';
import type { BlockError } from '../../../errors.js';
import type { CheckFix, ImageCheckResult } from '../../../image-api.js';
import { INCOMPAT_CORRUPT } from '../format/features.js';
import { QCOW_MAX_L1_SIZE, QCOW_MAX_SNAPSHOTS, SNAPSHOT_HEADER_SIZE, validateTable } from '../format/header.js';
import { flushCaches, markClean, updateHeader, writeCaches } from '../header-update.js';
import type { Qcow2State } from '../state.js';
import { SNAPSHOT_EXTRA_V3_MIN, type QcowSnapshot } from '../snapshot/format.js';
import { OFF_NB_SNAPSHOTS, readSnapshotTable, writeSnapshotTable, type SnapshotTable } from '../snapshot/table.js';
import { STRERROR } from '../../../errors.js';
import { addCheckResult, ERROR_REPORT, hx0, incRefcounts, NO_FIX, repairing, toCheckResult, zeroCounts, type CheckCounts, type CheckCtx } from './context.js';
import { Imrt } from './imrt.js';
import { checkBitmapsRefcounts } from './bitmaps.js';
import { checkOflagCopied } from './oflag-copied.js';
import { rebuildRefcountStructure } from './rebuild.js';
import { checkRefblocks, compareRefcounts } from './refblocks.js';
import { checkL1 } from './walk.js';

const INT_MAX = 2 ** 31 - 1;
const anyFix = (f: CheckFix): boolean => f.leaks || f.errors;

/** calculate_refcounts: every reference counted into ctx.imrt. False when the check must stop. */
function calculateRefcounts(ctx: CheckCtx, fix: CheckFix, rebuild: { value: boolean }): boolean {
  const { s } = ctx;
  if (!incRefcounts(ctx, 0, s.clusterSize)) return false;
  if (!checkL1(ctx, s.l1TableOffset, s.l1Size, true, fix, true)) return false;
  if (s.hasDataFile && ctx.snapshots.length) {
    ctx.messages.push(`ERROR ${ctx.snapshots.length} snapshots in image with data file`);
    ctx.res.corruptions++;
  }
  for (const sn of ctx.snapshots) {
    if (sn.l1TableOffset % s.clusterSize) {
      ctx.messages.push(`ERROR snapshot ${sn.id} (${sn.name}) l1_offset=${hx0(sn.l1TableOffset)}: L1 table is not cluster aligned; snapshot table entry corrupted`);
      ctx.res.corruptions++;
      continue;
    }
    if (sn.l1Size > QCOW_MAX_L1_SIZE / 8) {
      ctx.messages.push(`ERROR snapshot ${sn.id} (${sn.name}) l1_size=${hx0(sn.l1Size)}: L1 table is too large; snapshot table entry corrupted`);
      ctx.res.corruptions++;
      continue;
    }
    if (!checkL1(ctx, sn.l1TableOffset, sn.l1Size, false, fix, false)) return false;
  }
  if (!incRefcounts(ctx, s.snapshotsOffset, ctx.snapshotsSize)) return false;
  if (!incRefcounts(ctx, s.reftableOffset, s.reftable.length * 8)) return false;
  if (s.crypto && s.crypto.length && !incRefcounts(ctx, s.crypto.offset, s.crypto.length)) return false;
  if (!checkBitmapsRefcounts(ctx)) return false;
  return checkRefblocks(ctx, fix, rebuild);
}

/** qcow2_check_refcounts. */
function checkRefcounts(ctx: CheckCtx, fix: CheckFix): void {
  const { s } = ctx;
  const res = ctx.res;
  res.totalClusters = Math.ceil(s.size / s.clusterSize);
  const rebuild = { value: false };
  if (!calculateRefcounts(ctx, fix, rebuild)) return;
  const pre = { ...ctx.res };
  let highest = compareRefcounts(ctx, NO_FIX, rebuild);
  if (rebuild.value && fix.errors) {
    const old = { ...ctx.res };
    ctx.messages.push('Rebuilding refcount structure');
    const err = rebuildRefcountStructure(ctx);
    if (err) {
      ctx.messages.push(err);
      ctx.res.checkErrors++;
      return;
    }
    ctx.res.corruptions = 0;
    ctx.res.leaks = 0;
    rebuild.value = false;
    ctx.imrt.clear();
    if (!calculateRefcounts(ctx, NO_FIX, rebuild)) return;
    let freshLeaks = 0;
    if (fix.leaks) {
      const saved = ctx.res;
      ctx.res = zeroCounts();
      highest = compareRefcounts(ctx, { leaks: true, errors: false }, rebuild);
      if (rebuild.value) ctx.messages.push('ERROR rebuilt refcount structure is still broken');
      freshLeaks = ctx.res.leaks;
      ctx.res = saved;
    }
    if (ctx.res.corruptions < old.corruptions) ctx.res.corruptionsFixed += old.corruptions - ctx.res.corruptions;
    if (ctx.res.leaks < old.leaks) ctx.res.leaksFixed += old.leaks - ctx.res.leaks;
    ctx.res.leaks += freshLeaks;
  } else if (anyFix(fix)) {
    if (rebuild.value) {
      ctx.messages.push('ERROR need to rebuild refcount structures');
      ctx.res.checkErrors++;
      ctx.res.failed = STRERROR.EIO;
      return;
    }
    if (ctx.res.leaks || ctx.res.corruptions) {
      ctx.res = pre;
      highest = compareRefcounts(ctx, fix, rebuild);
    }
  }
  if (!checkOflagCopied(ctx, fix)) return;
  ctx.res.imageEndOffset = (highest + 1) * s.clusterSize;
}

/** qcow2_check_read_snapshot_table: the table as the header on disk describes it. */
function readSnapshotsForCheck(s: Qcow2State, res: CheckCounts, messages: string[], fix: CheckFix, acct: IoAcct): SnapshotTable | undefined {
  const hdr = new Uint8Array(12);
  const err = s.file.preadv(OFF_NB_SNAPSHOTS, hdr, acct);
  if (err) {
    res.checkErrors++;
    messages.push(`ERROR failed to read the snapshot table pointer from the image header: ${err.message}`);
    return undefined;
  }
  const v = new DataView(hdr.buffer);
  let nb = v.getUint32(0);
  const offset = v.getUint32(4) * 2 ** 32 + v.getUint32(8);
  let reduced = 0;
  if (nb > QCOW_MAX_SNAPSHOTS && fix.errors) {
    messages.push(`Discarding ${nb - QCOW_MAX_SNAPSHOTS} overhanging snapshots`);
    reduced += nb - QCOW_MAX_SNAPSHOTS;
    nb = QCOW_MAX_SNAPSHOTS;
  }
  const bad = validateTable('snapshot table', offset, Math.min(nb, 1), SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE * QCOW_MAX_SNAPSHOTS, s.clusterSize, s.file.getLength());
  const tooLarge = nb > QCOW_MAX_SNAPSHOTS ? 'snapshot table too large' : null;
  if (bad || tooLarge) {
    res.checkErrors++;
    // qcow2_validate_table: -EFBIG for a table too large, -EINVAL for a bad offset.
    res.failed = (tooLarge ?? bad)!.endsWith('too large') ? 'File too large' : STRERROR.EINVAL;
    messages.push(`${ERROR_REPORT}ERROR ${tooLarge ?? bad}`);
    if (nb > QCOW_MAX_SNAPSHOTS) messages.push(`You can force-remove all ${nb - QCOW_MAX_SNAPSHOTS} overhanging snapshots with qemu-img check -r all`);
    s.snapshotsOffset = 0;
    s.nbSnapshots = 0;
    s.snapshotView = undefined;
    return undefined;
  }
  const t = readSnapshotTable(s, nb, offset, fix.errors, messages, acct);
  if (E.isLeft(t)) {
    res.checkErrors++;
    // qcow2_do_read_snapshots: -EFBIG for too much (extra) data, else the read's error.
    res.failed = t.left.startsWith('Failed to read snapshot table: ') ? t.left.slice('Failed to read snapshot table: '.length) : 'File too large';
    messages.push(`${ERROR_REPORT}ERROR failed to read the snapshot table: ${t.left}`);
    s.snapshotsOffset = 0;
    s.nbSnapshots = 0;
    s.snapshotView = undefined;
    return undefined;
  }
  s.snapshotsOffset = offset;
  s.nbSnapshots = t.right.list.length;
  s.snapshotView = t.right;
  reduced += t.right.reduced;
  res.corruptions += reduced + t.right.extraDropped;
  if (reduced) {
    const word = new Uint8Array(4);
    new DataView(word.buffer).setUint32(0, s.nbSnapshots);
    const werr = s.file.pwritev(OFF_NB_SNAPSHOTS, word, {}, acct) ?? s.file.flush(acct);
    if (werr) {
      res.checkErrors++;
      messages.push(`ERROR failed to update the snapshot count in the image header: ${werr.message}`);
      return undefined;
    }
    res.corruptionsFixed += reduced;
    res.corruptions -= reduced;
  }
  if (s.version >= 3) {
    t.right.list.forEach((sn: QcowSnapshot, i) => {
      if (sn.extraDataSize < SNAPSHOT_EXTRA_V3_MIN) {
        res.corruptions++;
        messages.push(`${repairing(fix.errors)} snapshot table entry ${i} is incomplete`);
      }
    });
  }
  return t.right;
}

/**
 * qcow2_co_check_locked: check `s`, repairing what `fix` asks. Left only for an
 * internal failure before anything could be checked.
 */
export function qcow2Check(s: Qcow2State, fix: CheckFix, acct: IoAcct): E.Either<BlockError, ImageCheckResult> {
  const messages: string[] = [];
  const result = zeroCounts();
  if (!s.readOnly && !s.broken) {
    // What the caches hold is what the image says: write it before reading behind them.
    const err = writeCaches(s, acct);
    if (err) return E.left({ _tag: 'DriverError', driver: 'qcow2', message: err.message });
  }
  if (s.readOnly) fix = NO_FIX;
  const snapRes = zeroCounts();
  const table = readSnapshotsForCheck(s, snapRes, messages, fix, acct);
  if (!table) {
    addCheckResult(result, snapRes, false);
    return E.right(toCheckResult(result, messages));
  }
  const fileClusters = Math.ceil(s.file.getLength() / s.clusterSize);
  const refRes = zeroCounts();
  if (fileClusters > INT_MAX) {
    refRes.checkErrors++;
    messages.push('ERROR: image file too large to check');
  } else {
    const imrt = Imrt.create(s.refcountOrder, s.clusterSize, fileClusters);
    if (!imrt) {
      refRes.checkErrors++;
      messages.push('ERROR: Cannot allocate memory for the refcount table of the check');
    } else {
      const ctx: CheckCtx = { s, acct, messages, res: refRes, imrt, snapshots: table.list, snapshotsSize: table.size };
      checkRefcounts(ctx, fix);
      Object.assign(refRes, ctx.res);
    }
  }
  addCheckResult(result, refRes, true);
  if (result.checkErrors || result.failed !== undefined) {
    addCheckResult(result, snapRes, false);
    return E.right(toCheckResult(result, messages));
  }
  if (snapRes.corruptions && fix.errors) {
    const err = writeSnapshotTable(s, table.list, table, acct);
    if (err) {
      snapRes.checkErrors++;
      messages.push(`ERROR failed to update snapshot table: ${err.message}`);
    } else {
      snapRes.corruptionsFixed += snapRes.corruptions;
      snapRes.corruptions = 0;
    }
  }
  addCheckResult(result, snapRes, false);
  if (anyFix(fix) && result.checkErrors === 0 && result.corruptions === 0) {
    const err = markClean(s, acct) ?? markConsistent(s, acct);
    if (err) return E.left({ _tag: 'DriverError', driver: 'qcow2', message: err.message });
  }
  return E.right(toCheckResult(result, messages));
}

/** qcow2_mark_consistent: clear the corrupt bit. */
function markConsistent(s: Qcow2State, acct: IoAcct): ReturnType<typeof updateHeader> {
  if (!(s.incompatibleFeatures & INCOMPAT_CORRUPT)) return null;
  s.incompatibleFeatures &= ~INCOMPAT_CORRUPT;
  return flushCaches(s, acct) ?? updateHeader(s, acct) ?? s.file.flush(acct);
}
