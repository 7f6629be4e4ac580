/**
 * Internal snapshots of the qcow2 driver (QEMU's block/qcow2-snapshot.c): the table
 * codec, reading and writing the table, and the `SnapshotOps` hooks.
 */
export { qcow2SnapshotOps, snapshotCreate, snapshotDelete, snapshotGoto, snapshotList, snapshotLoadTmp } from './ops.js';
export { loadSnapshots, readSnapshotTable, writeSnapshotTable, type SnapshotTable } from './table.js';
export type { QcowSnapshot } from './format.js';
