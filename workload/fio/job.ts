/**
 * A fio job, as fio's job-file options describe it (fio HOWTO, "Job file parameters"),
 * reduced to what decides the I/O a guest issues. One FioJob per process fio would start:
 * `numjobs=4` gives four FioJobs with the same name and `index` 0..3 (fio's subjob number).
 * Defaults come from the option table (`FIO_DEFAULTS` in ./options.ts).
 */
import { FIO_DEFAULTS } from './options.js';

/** fio's `rw=`: `rw` (alias `readwrite`) is sequential mixed, `randrw` random mixed. */
export type FioRw = 'read' | 'write' | 'randread' | 'randwrite' | 'randrw' | 'rw';

/** The engines modelled: libaio and io_uring queue up to iodepth; psync and sync are one at a time. */
export type FioIoengine = 'libaio' | 'io_uring' | 'psync' | 'sync';

export interface FioJob {
  /** The section name (`[name]`), or `name=` given inside that section. */
  name: string;
  /** Which of the `numjobs` clones this is, from 0. */
  index: number;
  rw: FioRw;
  /** Block size in bytes (`bs`, alias `blocksize`). Default 4 KiB. */
  bs: number;
  /** I/Os kept in flight (for the async engines). Default 1. */
  iodepth: number;
  /** The region I/O stays in, from `offset`. Unset: to the end of the device. */
  size?: number;
  /** Bytes of I/O to do (`io_size`, alias `io_limit`); may exceed `size` (fio wraps). Unset: `size`. */
  ioSize?: number;
  /** Stop after this many I/Os, if that comes before the other limits. Unset: no such limit. */
  numberIos?: number;
  numjobs: number;
  /** O_DIRECT (`direct=1`, or `buffered=0`). Default false. */
  direct: boolean;
  /** Percentage of reads in a mixed workload (`rwmixwrite=N` sets it to 100 - N). Default 50. */
  rwmixread: number;
  /**
   * The file or device: `/dev/vdX` is a raw block device (the O_DIRECT block job); a path
   * is a file (a file job through the guest's VFS). Several files are separated by `:`.
   * Unset: fio's names `<name>.<jobnum>.<filenum>` in `directory`.
   */
  filename?: string;
  /** Where the job's files live when `filename` does not say (fio's default: the current directory). */
  directory?: string;
  /** Files per job (`nrfiles`), named `<name>.<jobnum>.<filenum>`; `size` is shared among them. Default 1. */
  nrfiles: number;
  /** Size of each file (`filesize`). Unset: `size / nrfiles`. */
  filesize?: number;
  /** fsync(2) the file after every N writes to it (`fsync=N`); 0: never. Default 0. */
  fsync: number;
  /** fdatasync(2) after every N writes (`fdatasync=N`); 0: never. Default 0. */
  fdatasync: number;
  /** fsync every file when the job has done its I/O (`end_fsync`). Default false. */
  endFsync: boolean;
  /** Create the files when the job opens them, instead of laying them out before it starts. Default false. */
  createOnOpen: boolean;
  /** Drop the files' cached pages before the job starts (`invalidate`). Default true. */
  invalidate: boolean;
  /** Default psync, fio's default engine on Linux. */
  ioengine: FioIoengine;
  /** `runtime` in nanoseconds (fio's unit is seconds by default). */
  runtimeNs?: number;
  /** Keep going until `runtime` even when the region is done (the I/O stream is endless). */
  timeBased: boolean;
  /** Start of the region in bytes. Default 0. */
  offset: number;
  /** Seed the random offsets predictably (the caller chooses the seed accordingly). Default true. */
  randrepeat: boolean;
  /** Random offsets may repeat within a pass (no "random map"). Default false. */
  norandommap: boolean;
  /** Wait for earlier jobs to finish before starting. */
  stonewall: boolean;
  /** Threads rather than processes (no difference to the I/O). */
  thread: boolean;
  description?: string;
}

/**
 * The job iopath runs when no job file is given: 4 KiB random writes, O_DIRECT, 32 in
 * flight through libaio, over the first 64 MiB of the disk, 20,000 I/Os. The I/O count is
 * set twice on purpose: fio's `number_ios` only ever stops a job early, so the 20,000 I/Os
 * come from `io_size` = 20,000 × 4 KiB (fio wraps within the 64 MiB region), and
 * `number_ios` states the intent.
 */
export const DEFAULT_JOB: Readonly<FioJob> = {
  ...FIO_DEFAULTS,
  name: 'default',
  rw: 'randwrite',
  bs: 4096,
  iodepth: 32,
  size: 64 * 1024 * 1024,
  ioSize: 20_000 * 4096,
  numberIos: 20_000,
  direct: true,
  ioengine: 'libaio',
};
