/**
 * The built-in block drivers. Importing this module registers them (QEMU's block_init);
 * the graph imports it, so a graph always finds them.
 */
export { rawDriver, type RawState } from './raw.js';
export { fileDriver, type FileState, DIRECT_ALIGNMENT } from './file.js';
export { memoryDriver, memoryBytesUsed, type MemoryState } from './memory.js';
export { nullCoDriver, type NullState } from './null-co.js';
export { vdiDriver } from './vdi/vdi.js';
export type { VdiState } from './vdi/state.js';
export { blkdebugDriver, blkdebugEngine, type BlkdebugState } from './blkdebug/index.js';
export { blkverifyDriver, blkverifyFailure, type BlkverifyState } from './blkverify/index.js';
export { vmdkDriver } from './vmdk/vmdk.js';
export type { VmdkState } from './vmdk/state.js';
export { qcow2Driver, type Qcow2Node } from './qcow2/index.js';
