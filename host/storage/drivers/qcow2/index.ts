/**
 * The qcow2 format driver (QEMU's block/qcow2*.c). Importing this module registers it.
 * Its pieces are exported for the tools that build on them (check, snapshots).
 */
import { registerBlockDriver } from '../../registry.js';
import { qcow2Driver } from './driver.js';

registerBlockDriver(qcow2Driver);

export { qcow2Driver, resolveImageName, type Qcow2Node } from './driver.js';
export type { Qcow2State, DiscardType } from './state.js';
export { setDirtyImageRepair, type DirtyRepair } from './lifecycle.js';
export * as qcow2Header from './format/header.js';
export * as qcow2Features from './format/features.js';
export * as qcow2Extensions from './format/extensions.js';
export * as qcow2L2 from './format/l2-entry.js';
export * as qcow2Refblock from './format/refcount-block.js';
export { getRefcount, updateRefcount, allocClusters, allocClustersAt, allocBytes, freeClusters, refcountMetadataSize, AGAIN } from './refcounts.js';
export { getHostOffset, getClusterTable, sliceView } from './cluster-map.js';
export { writeL1Entry, growL1Table } from './l1-table.js';
export { updateHeader, flushCaches, markDirty, markClean, signalCorruption } from './header-update.js';
