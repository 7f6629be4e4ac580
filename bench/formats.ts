/**
 * Format drivers directly (no guest, no device): 4 KiB random writes per wall-clock second
 * through a BlockDriverState, raw beside qcow2 in the same run, each over a real host file
 * opened with cache.direct=on, on tmpfs when the machine has one (benchDir).
 *
 * - raw: the baseline, measured before and after the qcow2 measures, the faster kept.
 * - qcow2, fully allocated: every cluster written once before the measurement, so each
 *   measured write finds its cluster through the L2 cache and writes in place.
 * - qcow2, fresh: an empty image of as many clusters as writes, one write into each in a
 *   random order, so every measured write allocates a cluster (and extends the file over
 *   the rest of it, which reads as zeroes).
 * - raw, fresh (for comparison, no target): the same writes at the same offsets into a
 *   fresh sparse raw image; qcow2 fresh beside it is the format's own share.
 *   Past 2 GiB qcow2 allocates a new refcount block, which flushes the L2 cache (as QEMU
 *   does), and that flush writes back and syncs everything written so far: part of what
 *   allocating costs here.
 *
 * Each measure is timed twice: the writes alone (the figure the targets apply to), and the
 * writes with one flush at the end that makes them durable, so that every measure pays for
 * writing back its own data (raw otherwise never does in its window, and fresh qcow2 does,
 * at its refcount-block flush). Images are flushed after they are filled, before any
 * measurement.
 *
 * And, in a child process: resident memory after random writes across a large qcow2
 * image, which the L2 and refcount caches should bound whatever the image size.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { BlockGraph, blockErrorMessage, createImage, findBlockDriver, standaloneEnv, type BlockDriverState } from '../host/storage/index.js';
import { Rng } from '../sim/rng.js';

export interface FormatRate {
  readonly name: string;
  /** The writes alone. */
  readonly writesPerSec: number;
  /** The writes and one flush at the end that makes them durable (every measure pays its own write-back). */
  readonly durablePerSec: number;
}

/** A measure's two timings: the writes, and the writes with the final flush. */
interface Timed {
  readonly writesPerSec: number;
  readonly durablePerSec: number;
}

function timedFlush(bs: BlockDriverState, n: number, t0: number, tWrites: number): Timed {
  bs.flush({ ns: 0 });
  const t1 = performance.now();
  return { writesPerSec: (n * 1000) / (tWrites - t0), durablePerSec: (n * 1000) / (t1 - t0) };
}

export interface FormatsResult {
  readonly imageBytes: number;
  readonly rates: readonly FormatRate[];
}

const BS = 4096;
/** Writes between flushes in every measure: none (see above). */
const FLUSH_EVERY = Infinity;
/** The fresh image's clusters at most (3.2 GiB at 64 KiB: past one refcount block's 2 GiB). */
const FRESH_MAX_CLUSTERS = 50_000;

function open(format: string, filename: string): BlockDriverState {
  const graph = new BlockGraph(standaloneEnv());
  const bs = graph.blockdevAdd({ driver: format, file: { driver: 'file', filename }, cache: { direct: true } });
  if (E.isLeft(bs)) throw new Error(`bench: cannot open ${filename}: ${blockErrorMessage(bs.left)}`);
  return bs.right;
}

function make(format: string, filename: string, size: number, opts: Record<string, unknown> = {}): BlockDriverState {
  const made = createImage(format, filename, size, opts);
  if (E.isLeft(made)) throw new Error(`bench: cannot create ${filename}: ${blockErrorMessage(made.left)}`);
  return open(format, filename);
}

/** `n` random 4 KiB-aligned writes over the node (a flush every `flushEvery`); returns writes per second. */
function randomWrites(bs: BlockDriverState, n: number, seed: number, flushEvery = Infinity): Timed {
  const rng = new Rng(seed);
  const blocks = Math.floor(bs.getLength() / BS);
  const data = new Uint8Array(BS).map((_, i) => (i * 7) & 0xff);
  const acct = { ns: 0 };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    data[0] = i & 0xff;
    const err = bs.pwritev(rng.int(0, blocks - 1) * BS, data, {}, acct);
    if (err) throw new Error(`bench: write failed: ${err.message}`);
    if ((i + 1) % flushEvery === 0) bs.flush(acct);
  }
  return timedFlush(bs, n, t0, performance.now());
}

/** One 4 KiB write into each of the node's `cluster`-sized clusters, in a random order, at a random 4 KiB slot in each. */
function allocatingWrites(bs: BlockDriverState, n: number, cluster: number): Timed {
  const rng = new Rng(3);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const slots = cluster / BS;
  const data = new Uint8Array(BS).map((_, i) => (i * 7) & 0xff);
  const acct = { ns: 0 };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const c = order[i];
    const err = bs.pwritev(c * cluster + rng.int(0, slots - 1) * BS, data, {}, acct);
    if (err) throw new Error(`bench: write failed: ${err.message}`);
    if ((i + 1) % FLUSH_EVERY === 0) bs.flush(acct);
  }
  return timedFlush(bs, n, t0, performance.now());
}

/** Write every cluster once, in order, with large writes. */
function fill(bs: BlockDriverState): void {
  const chunk = new Uint8Array(1 << 20).fill(0x5a);
  const len = bs.getLength();
  for (let off = 0; off < len; off += chunk.length) {
    const err = bs.pwritev(off, chunk.subarray(0, Math.min(chunk.length, len - off)), {}, { ns: 0 });
    if (err) throw new Error(`bench: fill failed: ${err.message}`);
  }
  bs.flush({ ns: 0 }); // written back before any measurement starts
}

/**
 * Where the images go: tmpfs when the machine has one (/dev/shm), so that the host's disk
 * does not decide what a flush costs (its write-back and fdatasync then cost what the
 * model's own work costs), else the temporary directory.
 */
export function benchDir(): string {
  const shm = '/dev/shm';
  try {
    accessSync(shm, constants.W_OK);
    return mkdtempSync(join(shm, 'iopath-bench-'));
  } catch {
    return mkdtempSync(join(tmpdir(), 'iopath-bench-'));
  }
}

export function benchFormats(writes: number, imageBytes = 256 << 20): FormatsResult {
  const dir = benchDir();
  try {
    const rates: FormatRate[] = [];
    const raw = make('raw', join(dir, 'raw.img'), imageBytes);
    fill(raw);
    randomWrites(raw, Math.min(writes, 20_000), 9); // warm the JIT
    // raw is measured before and after the qcow2 measures and the faster of the two kept, so
    // that what the order does to the process (a colder or warmer heap) cannot favour qcow2.
    const rawRuns: Timed[] = [randomWrites(raw, writes, 1, FLUSH_EVERY)];
    const qcow2: FormatRate[] = [];
    if (findBlockDriver('qcow2')) {
      const full = make('qcow2', join(dir, 'full.qcow2'), imageBytes, { cluster_size: 65536 });
      fill(full);
      randomWrites(full, Math.min(writes, 20_000), 9);
      qcow2.push({ name: 'qcow2 64k, fully allocated', ...randomWrites(full, writes, 1, FLUSH_EVERY) });
      full.close();
      // Every measured write must allocate: an image of exactly as many clusters as writes,
      // written in a random order of its clusters, one 4 KiB write into each.
      const n = Math.min(writes, FRESH_MAX_CLUSTERS);
      // Warm the JIT on the allocating path first, as the other measures are warmed: a small fresh image of its own.
      const warm = make('qcow2', join(dir, 'warm.qcow2'), 5000 * 65536, { cluster_size: 65536 });
      allocatingWrites(warm, 5000, 65536);
      warm.close();
      const fresh = make('qcow2', join(dir, 'fresh.qcow2'), n * 65536, { cluster_size: 65536 });
      qcow2.push({ name: 'qcow2 64k, fresh (allocating)', ...allocatingWrites(fresh, n, 65536) });
      fresh.close();
      // For comparison only (no target): raw writing the same 4 KiB blocks at the same offsets
      // into a fresh sparse image of the same size — what storing into never-written memory
      // costs the model whatever the format.
      const rawFresh = make('raw', join(dir, 'fresh.img'), n * 65536);
      qcow2.push({ name: 'raw, fresh (same offsets)', ...allocatingWrites(rawFresh, n, 65536) });
      rawFresh.close();
      rawRuns.push(randomWrites(raw, writes, 2, FLUSH_EVERY));
    }
    raw.close();
    rates.push({
      name: 'raw',
      writesPerSec: Math.max(...rawRuns.map((r) => r.writesPerSec)),
      durablePerSec: Math.max(...rawRuns.map((r) => r.durablePerSec)),
    });
    rates.push(...qcow2);
    return { imageBytes, rates };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface FormatMemoryResult {
  readonly imageBytes: number;
  readonly writes: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

/**
 * Random 4 KiB writes spread over a fresh qcow2 image of `imageBytes`, flushed every 1000
 * writes as a guest would (the host-cache model holds unflushed data); resident memory
 * afterwards. Run for a small and a huge image: the difference is what the image size costs.
 */
export function benchFormatMemory(imageBytes: number, writes: number): FormatMemoryResult | undefined {
  if (!findBlockDriver('qcow2')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'iopath-bench-'));
  try {
    const bs = make('qcow2', join(dir, 'big.qcow2'), imageBytes, { cluster_size: 65536 });
    randomWrites(bs, writes, 5, 1000);
    globalThis.gc?.();
    const mu = process.memoryUsage();
    bs.close();
    return { imageBytes, writes, rssBytes: mu.rss, heapUsedBytes: mu.heapUsed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
