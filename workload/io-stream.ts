/**
 * `ioStream`: the I/Os a fio job issues, in order, as fio's `get_io_u` would produce them:
 * for each I/O, the direction (fixed, or for rw/randrw drawn against `rwmixread`), then
 * the offset:
 * - sequential: `offset`, `offset + bs`, … wrapping to the region's start when `io_size`
 *   is larger than the region;
 * - random: every block of the region once per pass in a random order (fio's random map),
 *   or with `norandommap` any block each time;
 * all aligned to `bs` from the region's start. The region is [offset, offset + size),
 * clamped to the device and rounded down to whole blocks.
 *
 * It stops after `io_size` bytes (default: the region), or `number_ios` I/Os if that comes
 * first. With `time_based` the region and io_size do not stop it: the stream is endless
 * (fio loops until `runtime`) and the consumer stops it by time.
 *
 * Randomness comes only from `rng`, drawn as each I/O is asked for; a lazy iterator, so a
 * job of any size costs constant memory.
 */
import type { FioJob } from './fio/job.js';
import { MAX_PERMUTATION_SIZE, randomPermutation } from './permutation.js';

export interface IoOp {
  readonly op: 'read' | 'write';
  readonly offset: number;
  readonly bytes: number;
}

export interface StreamRng {
  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number;
  /** A uniform float in [0, 1). */
  float(): number;
}

export interface StreamOptions {
  readonly deviceBytes: number;
  readonly rng: StreamRng;
}

/** The region and the number of I/Os a job does on a device (Infinity when time based). */
export function jobExtent(job: FioJob, deviceBytes: number): { start: number; blocks: number; ios: number } {
  const start = Math.min(job.offset, deviceBytes);
  const region = Math.min(job.size ?? deviceBytes - start, deviceBytes - start);
  const blocks = Math.floor(region / job.bs);
  if (blocks === 0) return { start, blocks, ios: 0 };
  let ios = job.timeBased ? Infinity : Math.floor((job.ioSize ?? blocks * job.bs) / job.bs);
  if (job.numberIos !== undefined && job.numberIos > 0) ios = Math.min(ios, job.numberIos);
  return { start, blocks, ios };
}

const RANDOM = new Set(['randread', 'randwrite', 'randrw']);

export function ioStream(job: FioJob, opts: StreamOptions): IterableIterator<IoOp> {
  return new IoStream(job, opts);
}

/**
 * The stream as an iterator object rather than a generator: a job's hot loop calls `next`
 * once per I/O, and this one resumes no generator frame and hands back the same result
 * record each time (its `value` is a fresh IoOp the consumer may keep).
 */
class IoStream implements IterableIterator<IoOp> {
  private readonly bs: number;
  private readonly start: number;
  private readonly blocks: number;
  private readonly ios: number;
  private readonly random: boolean;
  private readonly mapped: boolean;
  private perm: ((i: number) => number) | undefined;
  private k = 0;
  private readonly result: { done: boolean; value: IoOp | undefined } = { done: false, value: undefined };

  constructor(
    private readonly job: FioJob,
    private readonly opts: StreamOptions,
  ) {
    this.bs = job.bs;
    const { start, blocks, ios } = jobExtent(job, opts.deviceBytes);
    this.start = start;
    this.blocks = blocks;
    this.ios = ios;
    this.random = RANDOM.has(job.rw);
    this.mapped = this.random && !job.norandommap && blocks <= MAX_PERMUTATION_SIZE;
  }

  [Symbol.iterator](): IterableIterator<IoOp> {
    return this;
  }

  next(): IteratorResult<IoOp> {
    const r = this.result;
    const k = this.k;
    if (!(k < this.ios)) {
      r.done = true;
      r.value = undefined;
      return r as IteratorReturnResult<undefined>;
    }
    this.k = k + 1;
    const rng = this.opts.rng;
    const op = direction(this.job, rng);
    const pos = k % this.blocks;
    let block: number;
    if (!this.random) block = pos;
    else if (!this.mapped) block = rng.int(0, this.blocks - 1);
    else {
      if (pos === 0) this.perm = randomPermutation(this.blocks, rng); // a new pass, a new order
      block = this.perm!(pos);
    }
    r.value = { op, offset: this.start + block * this.bs, bytes: this.bs };
    return r as IteratorYieldResult<IoOp>;
  }
}

function direction(job: FioJob, rng: StreamRng): 'read' | 'write' {
  switch (job.rw) {
    case 'read':
    case 'randread':
      return 'read';
    case 'write':
    case 'randwrite':
      return 'write';
    case 'rw':
    case 'randrw':
      return rng.int(0, 99) < job.rwmixread ? 'read' : 'write';
  }
}
