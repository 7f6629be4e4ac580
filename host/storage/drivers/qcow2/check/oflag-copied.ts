/**
 * check_oflag_copied (block/qcow2-refcount.c): in the active tree, an L1 or L2 entry
 * carries COPIED exactly when the cluster it points to has refcount 1 (an external data
 * file's clusters always count as 1). Runs after the refcounts were compared (and
 * perhaps repaired). `-r all` always repairs; `-r leaks` only when nothing else is
 * wrong, so that the refcounts can be trusted.
 */
import type { CheckFix } from '../../../image-api.js';
import { STRERROR } from '../../../errors.js';
import { clusterType, getL2, l1Copied, l1Offset, l2EntrySize } from '../format/l2-entry.js';
import { writeL1Entry } from '../l1-table.js';
import { getRefcount } from '../refcounts.js';
import { isIoError } from '../state.js';
import { hx, repairing, type CheckCtx } from './context.js';
import { OL_ACTIVE_L2, preWriteOverlapCheck } from './overlap.js';
import { forgetL2 } from './walk.js';

const COPIED_HI = 0x80000000;

function setCopied(v: DataView, p: number, copied: boolean): void {
  const hi = v.getUint32(p);
  v.setUint32(p, (copied ? hi | COPIED_HI : hi & ~COPIED_HI) >>> 0);
}

/** Returns false when the check must stop (a write failed). */
export function checkOflagCopied(ctx: CheckCtx, fix: CheckFix): boolean {
  const { s, res } = ctx;
  const repair = fix.errors ? true : fix.leaks ? !res.checkErrors && !res.corruptions && !res.leaks : false;
  const size = l2EntrySize(s);
  for (let i = 0; i < s.l1Size; i++) {
    const l2Offset = l1Offset(s.l1View, i);
    if (!l2Offset) continue;
    const rc = getRefcount(s, Math.floor(l2Offset / s.clusterSize), ctx.acct);
    if (isIoError(rc)) continue;
    if ((rc === 1) !== l1Copied(s.l1View, i)) {
      res.corruptions++;
      ctx.messages.push(`${repairing(repair)} OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${hx(s.l1View.getBigUint64(i * 8))} refcount=${rc}`);
      if (repair) {
        setCopied(s.l1View, i * 8, rc === 1);
        const err = writeL1Entry(s, i, ctx.acct);
        if (err) {
          res.checkErrors++;
          return false;
        }
        res.corruptions--;
        res.corruptionsFixed++;
      }
    }
    const table = new Uint8Array(s.l2Size * size);
    const rerr = s.file.preadv(l2Offset, table, ctx.acct);
    if (rerr) {
      ctx.messages.push(`ERROR: Could not read L2 table: ${STRERROR[rerr.errno]}`);
      res.checkErrors++;
      return false;
    }
    const t = new DataView(table.buffer);
    let dirty = 0;
    for (let j = 0; j < s.l2Size; j++) {
      const e = getL2(t, j, s);
      const type = clusterType(e, s.extendedL2, s.hasDataFile);
      if (type !== 'NORMAL' && type !== 'ZERO_ALLOC') continue;
      let refcount = 1;
      if (!s.hasDataFile) {
        const r = getRefcount(s, Math.floor(e.offset / s.clusterSize), ctx.acct);
        if (isIoError(r)) continue;
        refcount = r;
      }
      if ((refcount === 1) !== e.copied) {
        res.corruptions++;
        ctx.messages.push(`${repairing(repair)} OFLAG_COPIED data cluster: l2_entry=${hx(t.getBigUint64(j * size))} refcount=${refcount}`);
        if (repair) {
          setCopied(t, j * size, refcount === 1);
          dirty++;
        }
      }
    }
    if (dirty > 0) {
      const ov = preWriteOverlapCheck(s, OL_ACTIVE_L2, l2Offset, s.clusterSize, { list: ctx.snapshots, size: ctx.snapshotsSize }, ctx.acct);
      if (ov) {
        ctx.messages.push(`ERROR: Could not write L2 table; metadata overlap check failed: ${STRERROR[ov.errno]}`);
        res.checkErrors++;
        return false;
      }
      const err = s.file.pwritev(l2Offset, table, {}, ctx.acct);
      if (err) {
        ctx.messages.push(`ERROR: Could not write L2 table: ${STRERROR[err.errno]}`);
        res.checkErrors++;
        return false;
      }
      forgetL2(ctx, l2Offset);
      res.corruptions -= dirty;
      res.corruptionsFixed += dirty;
    }
  }
  return true;
}
