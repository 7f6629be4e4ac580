/**
 * QEMU's block layer for iopath: drivers, the node graph, BlockBackends. See
 * ../../shared/DESIGN.md "Host storage: QEMU's block graph".
 *
 * A device model uses `BlockBackendApi` (block-backend-api.ts). The VM wiring builds
 * backends with `openDrive` (from -drive options) or `BlockGraph.blockdevAdd` +
 * `newBackend` (from -blockdev), or `openBlockGraph` for a single drive.
 */
export type { BlockBackendApi, BlockCallback, BlockIoError, WriteFlags } from './block-backend-api.js';
export { BlockBackend, type BackendOptions } from './block-backend.js';
export { CACHE_MODES, DEFAULT_CACHE_MODE, cacheModeName, parseCacheMode, type CacheFlags, type CacheMode } from './cache-mode.js';
export { openDrive, type DriveOptions } from './drive.js';
export * from './driver.js';
export { blockErrorMessage, ioError, STRERROR, type BlockError, type Errno } from './errors.js';
export { BlockGraph, DEFAULT_NODE_FLAGS, type BlockdevSpec } from './graph.js';
export { CHUNK, VolatileCache, type StableStore } from './host-cache.js';
export { BlockDriverState, subtree, type BdrvChild } from './node.js';
export { createContext, createImage, standaloneEnv, openBlockGraph, type BlockGraphSpec, type OpenedDrive } from './open.js';
export { crumple, parseOptions, parseSize, type OptionDecl, type OptionTable, type ParsedOptions } from './options.js';
export { blockDrivers, findBlockDriver, findProtocolDriver, probeFormat, registerBlockDriver } from './registry.js';
export * from './drivers/index.js';
export * from './image-api.js';
