/**
 * Opening an image (block/qcow2.c qcow2_do_open, qcow2_update_options, read_cache_sizes):
 * the first cluster parsed and checked, the runtime options, the L1 and refcount tables
 * read, the metadata caches sized as QEMU 7.2 sizes them.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { IoAcct } from '../../driver.js';
import type { BlockError } from '../../errors.js';
import type { BlockDriverState } from '../../node.js';
import type { OptionTable, ParsedOptions } from '../../options.js';
import { AUTOCLEAR_DATA_FILE_RAW, AUTOCLEAR_MASK, COMPAT_LAZY_REFCOUNTS, INCOMPAT_DATA_FILE } from './format/features.js';
import { decodeHeader, hasExtL2, l2Entries, V3_HEADER_LENGTH } from './format/header.js';
import { parseImageHeader, type ParsedImage } from './format/image-header.js';
import { L2E_SIZE_EXTENDED, L2E_SIZE_NORMAL, SUBCLUSTERS_PER_CLUSTER } from './format/l2-entry.js';
import { refblockEntries, refcountMax, reftableEntry } from './format/refcount-block.js';
import { metadataOverlapCheck, OL_ACTIVE_L2, OL_REFCOUNT_BLOCK, overlapTemplate } from './check/overlap.js';
import { Qcow2Cache } from './metadata-cache.js';
import type { Qcow2State } from './state.js';

export const QCOW2_OPTIONS = {
  'lazy-refcounts': { type: 'bool', help: 'Postpone refcount updates (default: as the image header says)' },
  'pass-discard-request': { type: 'bool', help: 'Pass guest discard requests to the layer below (default: discard=unmap)' },
  'pass-discard-snapshot': { type: 'bool', help: 'Generate discard requests when snapshot related space is freed (default on)' },
  'pass-discard-other': { type: 'bool', help: 'Generate discard requests when other clusters are freed (default off)' },
  'overlap-check': { type: 'string', values: ['none', 'constant', 'cached', 'all'], help: 'Selects which overlap checks to perform from a range of templates (none, constant, cached, all; default cached)' },
  'cache-size': { type: 'size', help: 'Maximum combined metadata (L2 tables and refcount blocks) cache size' },
  'l2-cache-size': { type: 'size', help: 'Maximum L2 table cache size (default 32M, or what covers the disk)' },
  'l2-cache-entry-size': { type: 'size', help: 'Size of each entry in the L2 cache (default: the cluster size, 4k when the cache cannot cover the disk)' },
  'refcount-cache-size': { type: 'size', help: 'Maximum refcount block cache size (default 4 clusters)' },
  'cache-clean-interval': { type: 'number', help: 'Clean unused cache entries after this time, in seconds (accepted; the model never cleans)' },
} as const satisfies OptionTable;

export type Qcow2Options = ParsedOptions<typeof QCOW2_OPTIONS>;

/** QEMU 7.2's defaults (block/qcow2.h). */
export const DEFAULT_L2_CACHE_MAX_SIZE = 32 * 1024 * 1024;
const MIN_L2_CACHE_SIZE = 2;
const MIN_REFCOUNT_CACHE_SIZE = 4;
const INT_MAX = 2 ** 31 - 1;

const fail = (message: string): E.Either<BlockError, never> => E.left({ _tag: 'DriverError', driver: 'qcow2', message });

/** Read and parse the image's first cluster. */
export function readImageHeader(file: BlockDriverState, writable: boolean, acct: IoAcct): E.Either<BlockError, ParsedImage> {
  const fixed = new Uint8Array(V3_HEADER_LENGTH);
  const err = file.preadv(0, fixed, acct);
  if (err) return fail(`Could not read qcow2 header: ${err.message}`);
  const h = decodeHeader(fixed);
  if (E.isLeft(h)) return fail(h.left);
  const cluster = new Uint8Array(2 ** h.right.clusterBits);
  const cerr = file.preadv(0, cluster, acct);
  if (cerr) return fail(`Could not read qcow2 header: ${cerr.message}`);
  const parsed = parseImageHeader(cluster, { writable, fileLength: file.getLength() });
  return E.isLeft(parsed) ? fail(parsed.left) : parsed;
}

/** read_cache_sizes: [l2 cache bytes, l2 entry size, refcount cache bytes]. */
function cacheSizes(o: Qcow2Options, clusterSize: number, diskSize: number, entrySize: number): E.Either<BlockError, [number, number, number]> {
  const minRefcount = MIN_REFCOUNT_CACHE_SIZE * clusterSize;
  const maxL2 = Math.ceil((Math.ceil(diskSize / clusterSize) * entrySize) / clusterSize) * clusterSize;
  const combined = o['cache-size'];
  const l2Setting = o['l2-cache-size'] ?? DEFAULT_L2_CACHE_MAX_SIZE;
  let refcount = o['refcount-cache-size'] ?? 0;
  let l2EntrySize = o['l2-cache-entry-size'] ?? clusterSize;
  let l2 = Math.min(maxL2, l2Setting);
  if (combined !== undefined) {
    const l2Set = o['l2-cache-size'] !== undefined;
    const rcSet = o['refcount-cache-size'] !== undefined;
    if (l2Set && rcSet) return fail('cache-size, l2-cache-size and refcount-cache-size may not be set at the same time');
    if (l2Set && l2Setting > combined) return fail('l2-cache-size may not exceed cache-size');
    if (refcount > combined) return fail('refcount-cache-size may not exceed cache-size');
    if (l2Set) refcount = combined - l2;
    else if (rcSet) l2 = combined - refcount;
    else if (combined >= maxL2 + minRefcount) {
      l2 = maxL2;
      refcount = combined - l2;
    } else {
      refcount = Math.min(combined, minRefcount);
      l2 = combined - refcount;
    }
  }
  if (l2 < maxL2 && o['l2-cache-entry-size'] === undefined) l2EntrySize = Math.min(clusterSize, 4096);
  if (l2EntrySize < 512 || l2EntrySize > clusterSize || (l2EntrySize & (l2EntrySize - 1)) !== 0) {
    return fail(`L2 cache entry size must be a power of two between 512 and the cluster size (${clusterSize})`);
  }
  return E.right([l2, l2EntrySize, refcount]);
}

export interface OpenParams {
  readonly nodeName: string;
  readonly file: BlockDriverState;
  /** The external data file, when the image has one. */
  readonly dataFile: BlockDriverState | undefined;
  readonly readOnly: boolean;
  /** The node has discard=unmap (the default of pass-discard-request). */
  readonly unmap: boolean;
  readonly opts: Qcow2Options;
}

/** The driver state for a parsed image: tables read, caches made. */
export function loadState(p: OpenParams, img: ParsedImage, acct: IoAcct): E.Either<BlockError, Qcow2State> {
  const h = img.header;
  const ext = img.extensions;
  const cs = 2 ** h.clusterBits;
  const extendedL2 = hasExtL2(h);
  const entrySize = extendedL2 ? L2E_SIZE_EXTENDED : L2E_SIZE_NORMAL;
  const hasDataFile = (h.incompatibleFeatures & INCOMPAT_DATA_FILE) !== 0n;
  const dataFileRaw = (h.autoclearFeatures & AUTOCLEAR_DATA_FILE_RAW) !== 0n;
  if (hasDataFile && !p.dataFile) return fail("'data-file' is required for this image");
  if (!hasDataFile && p.dataFile) return fail("'data-file' can only be set for images with an external data file");
  if (dataFileRaw && !hasDataFile) return fail('data-file-raw requires a data file');
  const diskSize = Math.floor(h.size / 512) * 512;
  const sizes = cacheSizes(p.opts, cs, diskSize, entrySize);
  if (E.isLeft(sizes)) return sizes;
  const [l2Bytes, l2EntryBytes, refcountBytes] = sizes.right;
  const l2CacheEntries = Math.max(Math.floor(l2Bytes / l2EntryBytes), MIN_L2_CACHE_SIZE);
  if (l2CacheEntries > INT_MAX) return fail('L2 cache size too big');
  const refcountEntries = Math.max(Math.floor(refcountBytes / cs), MIN_REFCOUNT_CACHE_SIZE);
  if (refcountEntries > INT_MAX) return fail('Refcount cache size too big');
  const lazy = p.opts['lazy-refcounts'] ?? (h.compatibleFeatures & COMPAT_LAZY_REFCOUNTS) !== 0n;
  if (lazy && h.version < 3) return fail('Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level');

  const l1 = new Uint8Array(h.l1Size * 8);
  if (l1.length) {
    const err = p.file.preadv(h.l1TableOffset, l1, acct);
    if (err) return fail(`Could not read L1 table: ${err.message}`);
  }
  const rtBytes = new Uint8Array(h.refcountTableClusters * cs);
  const rerr = p.file.preadv(h.refcountTableOffset, rtBytes, acct);
  if (rerr) return fail(`Could not initialize refcount handling: ${rerr.message}`);
  const rtView = new DataView(rtBytes.buffer);
  const reftable: number[] = [];
  let maxReftableIndex = 0;
  for (let i = 0; i < rtBytes.length / 8; i++) {
    reftable.push(reftableEntry(rtView, i));
    if (reftable[i]) maxReftableIndex = i;
  }
  const writable = !p.readOnly;
  const file = p.file;
  const subclustersPerCluster = extendedL2 ? SUBCLUSTERS_PER_CLUSTER : 1;
  const st: Qcow2State = {
    nodeName: p.nodeName,
    file,
    dataFile: p.dataFile ?? file,
    hasDataFile,
    dataFileRaw,
    backing: undefined,
    readOnly: p.readOnly,
    version: h.version,
    clusterBits: h.clusterBits,
    clusterSize: cs,
    extendedL2,
    l2Size: l2Entries(h.clusterBits, extendedL2),
    subclusterBits: h.clusterBits - Math.log2(subclustersPerCluster),
    subclusterSize: cs / subclustersPerCluster,
    subclustersPerCluster,
    l2SliceSize: l2EntryBytes / entrySize,
    refcountOrder: h.refcountOrder,
    refcountMax: refcountMax(h.refcountOrder),
    refblockSize: refblockEntries(cs, h.refcountOrder),
    size: diskSize,
    l1,
    l1View: new DataView(l1.buffer),
    l1Size: h.l1Size,
    l1TableOffset: h.l1TableOffset,
    reftable,
    reftableOffset: h.refcountTableOffset,
    maxReftableIndex,
    freeClusterIndex: 0,
    allocFloor: 0,
    keepDirty: false,
    freeByteOffset: 0,
    incompatibleFeatures: h.incompatibleFeatures,
    compatibleFeatures: h.compatibleFeatures,
    // A writer clears the autoclear bits it does not know (bitmaps are kept true: bitmaps/persist.ts).
    autoclearFeatures: writable ? h.autoclearFeatures & AUTOCLEAR_MASK : h.autoclearFeatures,
    compressionType: h.compressionType,
    cryptMethod: h.cryptMethod,
    nbSnapshots: h.nbSnapshots,
    snapshotsOffset: h.snapshotsOffset,
    unknownHeaderFields: img.unknownHeaderFields,
    unknownExtensions: [...ext.unknown],
    crypto: ext.crypto,
    bitmaps: ext.bitmaps,
    backingFile: img.backingFile,
    backingFormat: ext.backingFormat,
    dataFileName: ext.dataFile,
    l2Cache: new Qcow2Cache(file, l2CacheEntries, l2EntryBytes, 'l2_load', 'l2_update'),
    refcountCache: new Qcow2Cache(file, refcountEntries, cs, 'refblock_load', 'refblock_update_part'),
    useLazyRefcounts: lazy,
    discardPassthrough: {
      never: false,
      always: true,
      request: p.opts['pass-discard-request'] ?? p.unmap,
      snapshot: p.opts['pass-discard-snapshot'] ?? true,
      other: p.opts['pass-discard-other'] ?? false,
    },
    overlapCheck: overlapTemplate(p.opts['overlap-check']),
    snapshotView: undefined,
    freedUnflushed: new Set(),
    cacheDiscards: false,
    pendingDiscards: [],
    broken: undefined,
  };
  attachOverlapChecks(st);
  return E.right(st);
}

/**
 * qcow2_cache_entry_flush: what the caches write back is checked like any other write,
 * against `s` (again after a reload copies a fresh state into it).
 */
export function attachOverlapChecks(s: Qcow2State): void {
  s.l2Cache.checkWrite = (offset, bytes, acct) => metadataOverlapCheck(s, OL_ACTIVE_L2, offset, bytes, acct);
  s.refcountCache.checkWrite = (offset, bytes, acct) => metadataOverlapCheck(s, OL_REFCOUNT_BLOCK, offset, bytes, acct);
}

/** Every open option absent (defaults from the image and the node). */
export const DEFAULT_OPEN_OPTIONS = Object.fromEntries(Object.keys(QCOW2_OPTIONS).map((k) => [k, undefined])) as unknown as Qcow2Options;
