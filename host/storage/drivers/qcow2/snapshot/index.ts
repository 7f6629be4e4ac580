/**
 * Internal snapshots of the qcow2 driver (QEMU's block/qcow2-snapshot.c): the table
 * codec, reading and writing the table, and the `SnapshotOps` hooks. Importing this
 * module installs the open-time reading of the table: qcow2_do_open refuses an image
 * whose snapshot table QEMU would not read (too much extra data, too big a table).
 */
import * as E from 'fp-ts/lib/Either.js';
import { setOpenCheck } from '../lifecycle.js';
import { loadSnapshots } from './table.js';

export { qcow2SnapshotOps, snapshotCreate, snapshotDelete, snapshotGoto, snapshotList, snapshotLoadTmp } from './ops.js';
export { loadSnapshots, readSnapshotTable, writeSnapshotTable, type SnapshotTable } from './table.js';
export type { QcowSnapshot } from './format.js';

setOpenCheck((s, acct) => {
  const t = loadSnapshots(s, acct);
  return E.isLeft(t) ? { _tag: 'DriverError', driver: 'qcow2', message: t.left } : null;
});
