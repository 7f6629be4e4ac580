/**
 * The model of the qcow2-vs-raw differential property: what the qcow2 rules (QEMU 7.2's
 * block/qcow2.c and qcow2-cluster.c, docs/interop/qcow2.txt) say a request does to the
 * guest's bytes, so that the raw side can be given exactly that, and a coarse view of
 * each guest cluster's L2 entry that decides whether a compressed write may go there.
 *
 * The guest's bytes themselves live in the raw image; this model never reads the qcow2
 * side. What it keeps per guest cluster is whether the active L2 entry holds a host
 * offset (NONE, PLAIN, COMPRESSED), or that the rules leave it open (UNKNOWN: a partial
 * write-zeroes may become a zero flag or a written cluster depending on what the rest of
 * the cluster reads as). QEMU's compressed write refuses any cluster with a host offset.
 */
import type { DiffConfig } from './qcow2-diff-images.js';

/** The active L2 entry has no host offset: unallocated, or a zero cluster without one. */
export const NONE = 0;
/** A host offset to plain data (or a zero cluster that kept its offset). */
export const PLAIN = 1;
/** A compressed cluster. */
export const COMPRESSED = 2;
/** Either of the above, as far as the rules say. */
export const UNKNOWN = 3;

export interface ModelSnapshot {
  readonly name: string;
  /** The guest's bytes when it was taken (a copy of the raw side). */
  readonly data: Uint8Array;
  readonly alloc: Uint8Array;
}

export interface DiffModel {
  readonly cfg: DiffConfig;
  /** Per guest cluster: NONE, PLAIN, COMPRESSED or UNKNOWN. */
  alloc: Uint8Array;
  /** In table order (QEMU finds a name's first entry). */
  readonly snapshots: ModelSnapshot[];
  /** Compressed clusters written so far: a host cluster is shared by at most this many entries of one L1 tree. */
  compressed: number;
}

export const MAX_SNAPSHOTS = 4;

const clusterCount = (cfg: DiffConfig): number => Math.ceil(cfg.size / cfg.clusterSize);
const v3 = (cfg: DiffConfig): boolean => cfg.compat === '1.1';
const hasBacking = (cfg: DiffConfig): boolean => cfg.chain !== 'none';

export function newModel(cfg: DiffConfig): DiffModel {
  return { cfg, alloc: new Uint8Array(clusterCount(cfg)), snapshots: [], compressed: 0 };
}

/**
 * A drawn range: `scale` 0 is short (up to 1 KiB), 1 up to two clusters, 2 anything up to
 * the end; `align` 0 is any byte, 1 rounds to 512-byte sectors, 2 to subclusters (a 32nd
 * of a cluster with extended L2, else the cluster), 3 to whole clusters.
 */
export interface RangeDraw {
  readonly a: number;
  readonly b: number;
  readonly scale: 0 | 1 | 2;
  readonly align: 0 | 1 | 2 | 3;
}

/** The guest range [off, off + len) (len ≥ 1) a drawn range stands for in this configuration. */
export function span(cfg: DiffConfig, d: RangeDraw): [number, number] {
  const sub = cfg.extendedL2 ? cfg.clusterSize / 32 : cfg.clusterSize;
  const unit = [1, 512, sub, cfg.clusterSize][d.align];
  let off = d.a % cfg.size;
  off -= off % unit;
  const room = cfg.size - off;
  const cap = d.scale === 0 ? 1024 : d.scale === 1 ? 2 * cfg.clusterSize : room;
  let len = 1 + (d.b % Math.min(cap, room));
  if (unit > 1) len = Math.min(room, Math.ceil(len / unit) * unit);
  return [off, len];
}

/** Guest cluster k's bytes: [off, off + len), the last one cut at the guest's end. */
export function clusterExtent(cfg: DiffConfig, k: number): [number, number] {
  const off = k * cfg.clusterSize;
  return [off, Math.min(cfg.clusterSize, cfg.size - off)];
}

/** Clusters [k0, k1) that [off, off + len) touches. */
function touched(cfg: DiffConfig, off: number, len: number): [number, number] {
  return [Math.floor(off / cfg.clusterSize), Math.ceil((off + len) / cfg.clusterSize)];
}

/** Clusters [k0, k1) that [off, off + len) covers whole (the short last one counts when the range reaches the end). */
function whole(cfg: DiffConfig, off: number, len: number): [number, number] {
  const end = off + len;
  const k0 = Math.ceil(off / cfg.clusterSize);
  const k1 = end === cfg.size ? clusterCount(cfg) : Math.floor(end / cfg.clusterSize);
  return [k0, Math.max(k0, k1)];
}

/** A guest write: every cluster it touches is allocated. */
export function noteWrite(m: DiffModel, off: number, len: number): void {
  const [k0, k1] = touched(m.cfg, off, len);
  m.alloc.fill(PLAIN, k0, k1);
}

/**
 * Write-zeroes (the range reads as zeroes whatever happens). v2 has no zero flag: QEMU
 * writes zero buffers, allocating every cluster touched. v3: whole clusters become zero
 * clusters, losing their host cluster when may-unmap is set or they were compressed;
 * partly covered clusters may become zero (sub)clusters or written ones. With extended
 * L2, a partly covered compressed cluster at an edge makes QEMU write zero buffers over
 * the whole subcluster-aligned piece (qcow2_subcluster_zeroize fails with ENOTSUP).
 */
export function noteWriteZeroes(m: DiffModel, off: number, len: number, mayUnmap: boolean): void {
  const cfg = m.cfg;
  const [t0, t1] = touched(cfg, off, len);
  if (!v3(cfg)) {
    m.alloc.fill(PLAIN, t0, t1);
    return;
  }
  const [w0, w1] = whole(cfg, off, len);
  const edges = [...new Set([t0, t1 - 1])].filter((k) => k < w0 || k >= w1);
  if (cfg.extendedL2 && edges.some((k) => m.alloc[k] === COMPRESSED || m.alloc[k] === UNKNOWN)) {
    m.alloc.fill(UNKNOWN, t0, t1);
    return;
  }
  for (const k of edges) m.alloc[k] = UNKNOWN;
  for (let k = w0; k < w1; k++) {
    if (mayUnmap || m.alloc[k] === COMPRESSED) m.alloc[k] = NONE;
  }
}

/**
 * qcow2_co_pdiscard behind the generic layer's alignment: only clusters the range covers
 * whole are discarded (the short last cluster too when the range reaches the end). A v2
 * image over a backing file discards nothing (QEMU answers ENOTSUP so that stale backing
 * data cannot show). Otherwise each such cluster loses its host offset and reads as
 * zeroes: a zero flag (v3) or an all-zero subcluster bitmap (extended L2) where there is
 * a backing file or the cluster was allocated, and without a backing file an unallocated
 * cluster reads as zeroes anyway (v2 included). Returns the guest ranges that now read as
 * zeroes.
 */
export function noteDiscard(m: DiffModel, off: number, len: number): Array<[number, number]> {
  const cfg = m.cfg;
  if (!v3(cfg) && hasBacking(cfg)) return [];
  const [k0, k1] = whole(cfg, off, len);
  if (k1 <= k0) return [];
  m.alloc.fill(NONE, k0, k1);
  const start = k0 * cfg.clusterSize;
  return [[start, Math.min(k1 * cfg.clusterSize, cfg.size) - start]];
}

/**
 * Whether a compressed write's data shrinks when deflated: a repeated pattern does;
 * random bytes filling the cluster do not; random bytes in the short last cluster are
 * padded with zeroes to a whole cluster before compressing (QEMU does so), so that they
 * shrink when they fill at most half of it and may or may not beyond that.
 */
export type Shrinks = 'yes' | 'no' | 'maybe';

export function shrinks(cfg: DiffConfig, len: number, pattern: boolean): Shrinks {
  if (pattern || 2 * len <= cfg.clusterSize) return 'yes';
  return len === cfg.clusterSize ? 'no' : 'maybe';
}

/**
 * A compressed write of guest cluster k (qcow2_co_pwritev_compressed_task): data that
 * does not shrink is written as a normal cluster, wherever it goes; data that does is
 * stored compressed where the L2 entry has no host offset and refused with EIO where it
 * has one (qcow2_alloc_compressed_cluster_offset). Where the model cannot say which
 * (an UNKNOWN entry, or data that may shrink over an entry with an offset), 'unknown'.
 */
export function compressedOutcome(m: DiffModel, k: number, data: Shrinks): 'stored' | 'refused' | 'unknown' {
  const a = m.alloc[k];
  if (data === 'no' || a === NONE) return 'stored';
  return a === UNKNOWN || data === 'maybe' ? 'unknown' : 'refused';
}

/** After a compressed write stored: the entry's state, and the count of compressed clusters. */
export function noteCompressed(m: DiffModel, k: number, data: Shrinks): void {
  m.alloc[k] = data === 'no' ? PLAIN : data === 'yes' ? COMPRESSED : UNKNOWN;
  if (data !== 'no') m.compressed++;
}

/** Whether a guest cluster can be emptied (its L2 entry left without a host offset): write-zeroes with may-unmap on v3, a discard on v2 without a backing file. */
export function canEmpty(m: DiffModel): boolean {
  return v3(m.cfg) || !hasBacking(m.cfg);
}

/**
 * Whether no refcount can overflow if a snapshot is created or applied now: each L1 tree
 * (the active one, each snapshot, and the one being added) references a host cluster at
 * most max(1, compressed) times. 1-bit refcounts never fit: QEMU's snapshot create fails
 * there with EINVAL and leaks the new L1 table's cluster, which iopath reproduces.
 */
export function snapshotFits(m: Readonly<DiffModel>): boolean {
  return (m.snapshots.length + 2) * Math.max(1, m.compressed) <= 2 ** m.cfg.refcountBits - 1;
}

/** The first snapshot named `name` (as QEMU looks names up), or undefined. */
export function findSnapshot(m: Readonly<DiffModel>, name: string): ModelSnapshot | undefined {
  return m.snapshots.find((s) => s.name === name);
}
