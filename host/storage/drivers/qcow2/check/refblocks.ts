/**
 * The refcount side of a check (block/qcow2-refcount.c check_refblocks and
 * compare_refcounts): each refcount block must be cluster aligned, inside the image
 * and referenced exactly once, or the structure is rebuilt; then every cluster's
 * refcount on disk is compared with the references counted. A refcount too low is a
 * corruption ("ERROR cluster ..."), too high a leak ("Leaked cluster ..."); with the
 * matching repair each is set right ("Repairing cluster ...").
 */
import type { CheckFix } from '../../../image-api.js';
import { STRERROR } from '../../../errors.js';
import { getRefcount, updateRefcount } from '../refcounts.js';
import { isIoError } from '../state.js';
import { incRefcounts, repairing, type CheckCtx } from './context.js';

/** Beyond this, "repairing" a refcount block outside the image by growing the file is refused (EFBIG). */
const MAX_REPAIR_FILE_SIZE = 2 ** 40;

/** check_refblocks. Returns false when the check must stop; sets `rebuild.value` when the structure is broken. */
export function checkRefblocks(ctx: CheckCtx, fix: CheckFix, rebuild: { value: boolean }): boolean {
  const { s, res } = ctx;
  const cs = s.clusterSize;
  const raw = new Uint8Array(s.reftable.length * 8);
  const rerr = s.file.preadv(s.reftableOffset, raw, ctx.acct);
  const rv = rerr ? undefined : new DataView(raw.buffer);
  for (let i = 0; i < s.reftable.length; i++) {
    const offset = s.reftable[i];
    const cluster = Math.floor(offset / cs);
    if (rv && rv.getUint32(i * 8 + 4) & 0x1ff) {
      ctx.messages.push(`ERROR refcount table entry ${i} has reserved bits set`);
      res.corruptions++;
      rebuild.value = true;
      continue;
    }
    if (offset % cs) {
      ctx.messages.push(`ERROR refcount block ${i} is not cluster aligned; refcount table entry corrupted`);
      res.corruptions++;
      rebuild.value = true;
      continue;
    }
    if (cluster >= ctx.imrt.size) {
      res.corruptions++;
      ctx.messages.push(`${repairing(fix.errors)} refcount block ${i} is outside image`);
      if (fix.errors) {
        const tooBig = offset + cs > MAX_REPAIR_FILE_SIZE;
        const err = tooBig ? null : s.file.truncate(offset + cs);
        if (tooBig || err) {
          rebuild.value = true;
          ctx.messages.push(`ERROR could not resize image: ${err ? STRERROR[err.errno] : 'File too large'}`);
          continue;
        }
        const clusters = Math.ceil(s.file.getLength() / cs);
        if (!ctx.imrt.resize(clusters)) {
          res.checkErrors++;
          return false;
        }
        res.corruptions--;
        res.corruptionsFixed++;
        if (!incRefcounts(ctx, offset, cs)) return false;
      }
      continue;
    }
    if (offset !== 0) {
      if (!incRefcounts(ctx, offset, cs)) return false;
      const n = ctx.imrt.get(cluster);
      if (n !== 1) {
        ctx.messages.push(`ERROR refcount block ${i} refcount=${n}`);
        res.corruptions++;
        rebuild.value = true;
      }
    }
  }
  return true;
}

/**
 * compare_refcounts: refcounts on disk against the references counted. Returns the
 * highest cluster in use by either.
 */
export function compareRefcounts(ctx: CheckCtx, fix: CheckFix, rebuild: { value: boolean }): number {
  const { s, res, imrt } = ctx;
  let highest = 0;
  for (let i = 0; i < imrt.size; i++) {
    const rc1 = getRefcount(s, i, ctx.acct);
    if (isIoError(rc1)) {
      ctx.messages.push(`Can't get refcount for cluster ${i}: ${STRERROR[rc1.errno]}`);
      res.checkErrors++;
      continue;
    }
    const rc2 = imrt.get(i);
    if (rc1 > 0 || rc2 > 0) highest = i;
    if (rc1 === rc2) continue;
    let fixed: 'leaksFixed' | 'corruptionsFixed' | undefined;
    if (rc1 === 0) rebuild.value = true;
    else if (rc1 > rc2 && fix.leaks) fixed = 'leaksFixed';
    else if (rc1 < rc2 && fix.errors) fixed = 'corruptionsFixed';
    const what = fixed ? 'Repairing' : rc1 < rc2 ? 'ERROR' : 'Leaked';
    ctx.messages.push(`${what} cluster ${i} refcount=${rc1} reference=${rc2}`);
    if (fixed) {
      const r = updateRefcount(s, i * s.clusterSize, 1, Math.abs(rc1 - rc2), rc1 > rc2, 'always', ctx.acct);
      if (r === null) {
        res[fixed]++;
        continue;
      }
    }
    if (rc1 < rc2) res.corruptions++;
    else res.leaks++;
  }
  return highest;
}
