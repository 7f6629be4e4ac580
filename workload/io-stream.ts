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
 * Randomness comes only from `rng`; a generator function, so a job of any size costs
 * constant memory.
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

export function* ioStream(job: FioJob, opts: StreamOptions): Generator<IoOp, void, undefined> {
  const { bs } = job;
  const { start, blocks, ios } = jobExtent(job, opts.deviceBytes);
  const rng = opts.rng;
  const random = RANDOM.has(job.rw);
  const mapped = random && !job.norandommap && blocks <= MAX_PERMUTATION_SIZE;
  let perm: ((i: number) => number) | undefined;
  for (let k = 0; k < ios; k++) {
    const op = direction(job, rng);
    const pos = k % blocks;
    let block: number;
    if (!random) block = pos;
    else if (!mapped) block = rng.int(0, blocks - 1);
    else {
      if (pos === 0) perm = randomPermutation(blocks, rng); // a new pass, a new order
      block = perm!(pos);
    }
    yield { op, offset: start + block * bs, bytes: bs };
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
