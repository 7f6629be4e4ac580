/** The guest page cache: see pagecache.ts for the API and docs/design/guest-storage-stack.md for the contract. */
export { PageCache, type PageCacheOptions, type CreateMappingOptions, type ReadResult } from './pagecache.js';
export { Mapping } from './mapping.js';
export { ErrSeq, type ErrSeqCursor } from './errseq.js';
export { newRaState, type FileRaState } from './readahead.js';
export { PageCacheStats, type PageCacheCounts } from './stats.js';
export { DEFAULT_VM_SYSCTL, VM_SYSCTLS, vmSysctl, sysctlErrorMessage, type VmSysctl, type SysctlError } from './sysctl.js';
export type { DirtyThresholds } from './core.js';
export { MAX_WRITEBACK_PAGES } from './page-io.js';
export * from './types.js';
