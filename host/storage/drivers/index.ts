/**
 * The built-in block drivers. Importing this module registers them (QEMU's block_init);
 * the graph imports it, so a graph always finds them.
 */
export { rawDriver, type RawState } from './raw.js';
export { fileDriver, type FileState, DIRECT_ALIGNMENT } from './file.js';
export { memoryDriver, memoryBytesUsed, type MemoryState } from './memory.js';
export { nullCoDriver, type NullState } from './null-co.js';
