/**
 * rebuild_refcount_structure (block/qcow2-refcount.c, the 7.1+ algorithm): new refcount
 * blocks and a new refcount table made from the check's in-memory refcounts alone.
 *
 * Every refblock-sized slice of the in-memory table that has a nonzero entry is written
 * to a cluster allocated in that same table (so it counts itself); then room is found
 * for the new refcount table, and the slices it landed in are written again — repeated
 * until the table stops growing. Finally the table is written and the header switched
 * to it. The old structures are left as leaks for the next pass to free.
 */
import { REFTABLE_ENTRY_SIZE } from '../format/refcount-block.js';
import { OFF_REFCOUNT_TABLE_OFFSET, QCOW_MAX_REFTABLE_SIZE } from '../format/header.js';
import type { CheckCtx } from './context.js';
import { preWriteOverlapCheck } from './overlap.js';

interface Reftable {
  entries: number[];
}

/** alloc_clusters_imrt: `count` free clusters from `*first` on (the table grows as needed). */
function allocImrt(ctx: CheckCtx, count: number, first: { value: number }): number | undefined {
  const { imrt } = ctx;
  let cluster = first.value;
  let run = 0;
  let firstGap = true;
  for (; cluster < imrt.size && run < count; cluster++) {
    if (!imrt.get(cluster)) {
      run++;
      if (firstGap) {
        first.value = cluster;
        firstGap = false;
      }
    } else {
      run = 0;
    }
  }
  if (run < count && !imrt.resize(cluster + count - run)) return undefined;
  cluster -= run;
  for (let i = 0; i < count; i++) imrt.set(cluster + i, 1);
  return cluster * ctx.s.clusterSize;
}

/**
 * rebuild_refcounts_write_refblocks: write the refblocks of clusters [from, end).
 * Returns whether the reftable grew, or a message on failure.
 */
function writeRefblocks(ctx: CheckCtx, from: number, end: number, rt: Reftable): boolean | string {
  const { s, imrt } = ctx;
  const cs = s.clusterSize;
  const per = imrt.perBlock;
  const first = { value: 0 };
  let grown = false;
  for (let cluster = from; cluster < end; cluster++) {
    if (!imrt.get(cluster)) continue;
    const index = Math.floor(cluster / per);
    const start = index * per;
    let at: number;
    if (rt.entries.length > index && rt.entries[index]) {
      at = rt.entries[index];
    } else {
      if (first.value < start) first.value = start;
      const got = allocImrt(ctx, 1, first);
      if (got === undefined) return 'ERROR allocating refblock: Cannot allocate memory';
      at = got;
      if (at / cs >= end) end = at / cs + 1;
      if (rt.entries.length <= index) {
        const n = Math.ceil(((index + 1) * REFTABLE_ENTRY_SIZE) / cs) * (cs / REFTABLE_ENTRY_SIZE);
        if (n > QCOW_MAX_REFTABLE_SIZE / REFTABLE_ENTRY_SIZE) return 'ERROR allocating reftable memory';
        while (rt.entries.length < n) rt.entries.push(0);
        grown = true;
      }
      rt.entries[index] = at;
    }
    const ov = preWriteOverlapCheck(s, 0, at, cs, { list: ctx.snapshots, size: ctx.snapshotsSize }, ctx.acct);
    if (ov) return `ERROR writing refblock: ${ov.message}`;
    const err = s.file.pwritev(at, imrt.refblock(index).slice(), {}, ctx.acct);
    if (err) return `ERROR writing refblock: ${err.message}`;
    cluster = start + per - 1;
  }
  return grown;
}

/** Rebuild; returns an error message (the caller counts a check error) or null. */
export function rebuildRefcountStructure(ctx: CheckCtx): string | null {
  const { s } = ctx;
  const cs = s.clusterSize;
  s.refcountCache.clear();
  const rt: Reftable = { entries: [] };
  let changed = writeRefblocks(ctx, 0, ctx.imrt.size, rt);
  if (typeof changed === 'string') return changed;
  let tableOffset = -1;
  let tableClusters = 0;
  do {
    const bytes = rt.entries.length * REFTABLE_ENTRY_SIZE;
    tableClusters = Math.ceil(bytes / cs);
    const got = allocImrt(ctx, tableClusters, { value: 0 });
    if (got === undefined) return 'ERROR allocating reftable: Cannot allocate memory';
    tableOffset = got;
    changed = writeRefblocks(ctx, tableOffset / cs, tableOffset / cs + tableClusters, rt);
    if (typeof changed === 'string') return changed;
  } while (changed);
  const raw = new Uint8Array(rt.entries.length * REFTABLE_ENTRY_SIZE);
  const v = new DataView(raw.buffer);
  rt.entries.forEach((e, i) => v.setBigUint64(i * 8, BigInt(e)));
  const ov = preWriteOverlapCheck(s, 0, tableOffset, raw.length, { list: ctx.snapshots, size: ctx.snapshotsSize }, ctx.acct);
  if (ov) return `ERROR writing reftable: ${ov.message}`;
  let err = s.file.pwritev(tableOffset, raw, {}, ctx.acct);
  if (err) return `ERROR writing reftable: ${err.message}`;
  const hdr = new Uint8Array(12);
  const hv = new DataView(hdr.buffer);
  hv.setBigUint64(0, BigInt(tableOffset));
  hv.setUint32(8, tableClusters);
  err = s.file.pwritev(OFF_REFCOUNT_TABLE_OFFSET, hdr, {}, ctx.acct) ?? s.file.flush(ctx.acct);
  if (err) return `ERROR setting reftable: ${err.message}`;
  s.reftable = rt.entries;
  s.reftableOffset = tableOffset;
  let max = 0;
  rt.entries.forEach((e, i) => {
    if (e) max = i;
  });
  s.maxReftableIndex = max;
  s.freeClusterIndex = 0;
  return null;
}
