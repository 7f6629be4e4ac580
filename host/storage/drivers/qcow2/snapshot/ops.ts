/**
 * Internal snapshots (block/qcow2-snapshot.c): create, goto (qemu-img snapshot -a),
 * delete, list and load_tmp, as the qcow2 driver's `SnapshotOps`.
 *
 * - create: the active L1 table copied to new clusters, every cluster it reaches gains
 *   a reference (so none is COPIED any more and the next write copies it), the entry
 *   appended to a rewritten table. The ID is always one more than the largest numeric
 *   ID (QEMU ignores a requested one); names need not be unique (qemu-img 7.2 accepts
 *   duplicates).
 * - goto: the snapshot's L1 table becomes the active one's content; what it reaches
 *   gains a reference before the old active tree loses one; the disk size is restored.
 * - delete: the entry leaves the table first, then what it alone held is freed.
 * - loadTmp: a read-only node switches its active L1 to the snapshot's in memory only.
 *
 * Create, goto and delete run inside guard.ts's dirty bit, so that one cut short leaves
 * an image the next open repairs rather than one `check` finds corrupt.
 *
 * Error messages are what qemu-img prints after "Could not <verb> snapshot '<name>': ".
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockIoError } from '../../../block-backend-api.js';
import type { IoAcct } from '../../../driver.js';
import { STRERROR } from '../../../errors.js';
import type { BlockError } from '../../../errors.js';
import type { SnapshotInfo, SnapshotOps } from '../../../image-api.js';
import { QCOW_MAX_L1_SIZE, QCOW_MAX_SNAPSHOTS, validateTable } from '../format/header.js';
import { growL1Table } from '../l1-table.js';
import { qcow2Truncate } from '../truncate.js';
import { allocClusters, freeClusters } from '../refcounts.js';
import { isIoError, type Qcow2State } from '../state.js';
import { OL_ACTIVE_L1, preWriteOverlapCheck } from '../check/overlap.js';
import { findByIdAndName, findByIdOrName, newSnapshotId, NO_ICOUNT, SNAPSHOT_EXTRA_SIZE, type QcowSnapshot } from './format.js';
import { updateSnapshotRefcount } from './refcount-walk.js';
import { loadSnapshots, writeSnapshotTable, type SnapshotTable } from './table.js';
import { guarded } from './guard.js';

const fail = (message: string): BlockError => ({ _tag: 'DriverError', driver: 'qcow2', message });
/** "-27 (File too large)": how qemu-img reports a failed snapshot create. */
const errnoText: Record<string, [number, string]> = {
  EFBIG: [27, 'File too large'],
  ENOTSUP: [95, 'Operation not supported'],
  EIO: [5, 'Input/output error'],
  ENOSPC: [28, 'No space left on device'],
  EINVAL: [22, 'Invalid argument'],
  EROFS: [30, 'Read-only file system'],
  ENOMEDIUM: [123, 'No medium found'],
};
const createFail = (errno: string): BlockError => {
  const [n, text] = errnoText[errno] ?? [5, 'Input/output error'];
  return fail(`-${n} (${text})`);
};
const ioText = (e: BlockIoError): string => STRERROR[e.errno];

/** The table, or the error an operation reports when it cannot be read. */
function table(s: Qcow2State, acct: IoAcct): E.Either<BlockError, SnapshotTable> {
  return E.mapLeft(fail)(loadSnapshots(s, acct));
}

/** qcow2_validate_table for a snapshot's L1 table. */
function validateL1(s: Qcow2State, sn: QcowSnapshot): string | null {
  return validateTable('Snapshot L1 table', sn.l1TableOffset, sn.l1Size, 8, QCOW_MAX_L1_SIZE, s.clusterSize, s.file.getLength());
}

export function snapshotCreate(s: Qcow2State, info: Omit<SnapshotInfo, 'id' | 'diskSize'>, acct: IoAcct): BlockError | null {
  if (s.broken || s.readOnly) return createFail(s.broken ? 'EIO' : 'EROFS');
  const t = table(s, acct);
  if (E.isLeft(t)) return t.left;
  const list = t.right.list;
  if (list.length >= QCOW_MAX_SNAPSHOTS) return createFail('EFBIG');
  if (s.hasDataFile) return createFail('ENOTSUP');
  return guarded(s, acct, (e) => createFail(e.errno), () => createSteps(s, info, t.right, acct));
}

/** qcow2_snapshot_create's steps: the L1 copy, the references, then the table entry. */
function createSteps(s: Qcow2State, info: Omit<SnapshotInfo, 'id' | 'diskSize'>, old: SnapshotTable, acct: IoAcct): BlockError | null {
  const list = old.list;
  const l1Bytes = s.l1Size * 8;
  let l1TableOffset = 0;
  if (l1Bytes) {
    const r = allocClusters(s, l1Bytes, acct);
    if (isIoError(r)) return createFail(r.errno);
    l1TableOffset = r;
    const err = preWriteOverlapCheck(s, 0, l1TableOffset, l1Bytes, old, acct) ?? s.file.pwritev(l1TableOffset, s.l1.slice(0, l1Bytes), {}, acct);
    if (err) return createFail(err.errno);
  }
  const err = updateSnapshotRefcount(s, s.l1TableOffset, s.l1Size, 1, acct);
  if (err) return createFail(err.errno);
  const sn: QcowSnapshot = {
    l1TableOffset,
    l1Size: s.l1Size,
    id: newSnapshotId(list),
    name: info.name,
    dateSec: info.dateSec,
    dateNsec: info.dateNsec,
    vmClockNs: info.vmClockNs,
    vmStateSize: info.vmStateSize,
    diskSize: s.size,
    icount: info.icount ?? 0,
    extraDataSize: SNAPSHOT_EXTRA_SIZE,
    unknownExtra: new Uint8Array(0),
  };
  const werr = writeSnapshotTable(s, [...list, sn], old, acct);
  return werr ? createFail(werr.errno) : null;
}

export function snapshotGoto(s: Qcow2State, idOrName: string, acct: IoAcct): BlockError | null {
  const load = (why: string): BlockError => fail(`Failed to load snapshot: ${why}`);
  if (s.broken) return load(STRERROR.EIO);
  if (s.readOnly) return load(STRERROR.EROFS);
  if (s.hasDataFile) return load(STRERROR.ENOTSUP);
  const t = table(s, acct);
  if (E.isLeft(t)) return t.left;
  const i = findByIdOrName(t.right.list, idOrName);
  if (i < 0) return load('No such file or directory');
  const sn = t.right.list[i];
  const bad = validateL1(s, sn);
  if (bad) return fail(bad);
  return guarded(s, acct, (e) => load(ioText(e)), () => gotoSteps(s, sn, t.right, load, acct));
}

/** qcow2_snapshot_goto's steps: references to the snapshot's tree first, then the L1 switch, then the old tree's released. */
function gotoSteps(s: Qcow2State, sn: QcowSnapshot, tbl: SnapshotTable, load: (why: string) => BlockError, acct: IoAcct): BlockError | null {
  if (sn.diskSize !== s.size) {
    const err = qcow2Truncate(s, sn.diskSize, 'off', acct);
    if (err) return fail(err.message);
  }
  let err = growL1Table(s, sn.l1Size, true, acct);
  if (err) return load(ioText(err));
  const cur = new Uint8Array(s.l1Size * 8);
  const snL1 = cur.subarray(0, sn.l1Size * 8);
  err = s.file.preadv(sn.l1TableOffset, snL1, acct);
  if (err) return load(ioText(err));
  err = updateSnapshotRefcount(s, sn.l1TableOffset, sn.l1Size, 1, acct);
  if (err) return load(ioText(err));
  err = preWriteOverlapCheck(s, OL_ACTIVE_L1, s.l1TableOffset, cur.length, tbl, acct);
  if (err) return load(ioText(err));
  s.file.debugEvent('l1_update');
  err = s.file.pwritev(s.l1TableOffset, cur, {}, acct) ?? s.file.flush(acct);
  if (err) return load(ioText(err));
  // The old tree loses its references (read from memory: the disk already holds the new table).
  const derr = updateSnapshotRefcount(s, s.l1TableOffset, s.l1Size, -1, acct);
  s.l1.set(cur);
  if (derr) return load(ioText(derr));
  err = updateSnapshotRefcount(s, s.l1TableOffset, s.l1Size, 0, acct);
  return err ? load(ioText(err)) : null;
}

export function snapshotDelete(s: Qcow2State, id: string | undefined, name: string | undefined, acct: IoAcct): BlockError | null {
  if (s.broken) return fail(STRERROR.EIO);
  if (s.readOnly) return fail(STRERROR.EROFS);
  if (s.hasDataFile) return fail(STRERROR.ENOTSUP);
  const t = table(s, acct);
  if (E.isLeft(t)) return t.left;
  const i = findByIdAndName(t.right.list, id, name);
  if (i < 0) return fail("Can't find the snapshot");
  const sn = t.right.list[i];
  const bad = validateL1(s, sn);
  if (bad) return fail(bad);
  return guarded(s, acct, (e) => fail(ioText(e)), () => deleteSteps(s, i, t.right, acct));
}

/** qcow2_snapshot_delete's steps: the entry leaves the table, then its tree loses its references. */
function deleteSteps(s: Qcow2State, i: number, tbl: SnapshotTable, acct: IoAcct): BlockError | null {
  const sn = tbl.list[i];
  const rest = tbl.list.filter((_, k) => k !== i);
  let err = writeSnapshotTable(s, rest, tbl, acct);
  if (err) return fail(`Failed to remove snapshot from snapshot list: ${ioText(err)}`);
  err = updateSnapshotRefcount(s, sn.l1TableOffset, sn.l1Size, -1, acct);
  if (err) return fail(`Failed to free the cluster and L1 table: ${ioText(err)}`);
  if (sn.l1Size) freeClusters(s, sn.l1TableOffset, sn.l1Size * 8, 'snapshot', acct);
  err = updateSnapshotRefcount(s, s.l1TableOffset, s.l1Size, 0, acct);
  return err ? fail(`Failed to update snapshot status in disk: ${ioText(err)}`) : null;
}

export function snapshotList(s: Qcow2State, acct: IoAcct): SnapshotInfo[] {
  if (s.hasDataFile) return [];
  const t = loadSnapshots(s, acct);
  if (E.isLeft(t)) return [];
  return t.right.list.map((sn) => ({
    id: sn.id,
    name: sn.name,
    vmStateSize: sn.vmStateSize,
    dateSec: sn.dateSec,
    dateNsec: sn.dateNsec,
    vmClockNs: sn.vmClockNs,
    diskSize: sn.diskSize,
    icount: sn.icount === NO_ICOUNT ? undefined : sn.icount,
  }));
}

/**
 * bdrv_snapshot_load_tmp_by_id_or_name: a read-only node shows the snapshot's content
 * (the ID is tried first, then the name). Nothing is written.
 */
export function snapshotLoadTmp(s: Qcow2State, idOrName: string, acct: IoAcct): BlockError | null {
  if (!s.readOnly) return fail('Device is not readonly');
  const t = table(s, acct);
  if (E.isLeft(t)) return t.left;
  let i = findByIdAndName(t.right.list, idOrName, undefined);
  if (i < 0) i = findByIdAndName(t.right.list, undefined, idOrName);
  if (i < 0) return fail("Can't find snapshot");
  const sn = t.right.list[i];
  const bad = validateL1(s, sn);
  if (bad) return fail(bad);
  const l1 = new Uint8Array(sn.l1Size * 8);
  const err = s.file.preadv(sn.l1TableOffset, l1, acct);
  if (err) return fail('Failed to read l1 table for snapshot');
  s.l1 = l1;
  s.l1View = new DataView(l1.buffer);
  s.l1Size = sn.l1Size;
  s.l1TableOffset = sn.l1TableOffset;
  return null;
}

/** The hooks, over any driver state that holds a Qcow2State as `s`. */
export function qcow2SnapshotOps<N extends { readonly s: Qcow2State }>(): SnapshotOps<N> {
  return {
    create: (n, info) => snapshotCreate(n.s, info, { ns: 0 }),
    list: (n) => snapshotList(n.s, { ns: 0 }),
    goto: (n, idOrName) => snapshotGoto(n.s, idOrName, { ns: 0 }),
    delete: (n, id, name) => snapshotDelete(n.s, id, name, { ns: 0 }),
    loadTmp: (n, idOrName) => snapshotLoadTmp(n.s, idOrName, { ns: 0 }),
  };
}
