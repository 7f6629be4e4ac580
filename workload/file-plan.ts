/**
 * What a fio job does on files, decided before it runs (fio's filesetup.c, reduced):
 *
 * - **Where.** `filename=/dev/vdX` is a raw block device (the O_DIRECT block job,
 *   block-job.ts); any other `filename` is a file, several separated by `:`, all clones of
 *   the job sharing them; without `filename`, each clone has `nrfiles` files named as fio
 *   names them, `<name>.<jobnum>.<filenum>`, in `directory` (default: the working
 *   directory the runner gives). A job with neither `filename` nor `directory` stays a
 *   block job on the first disk, as before file jobs existed.
 * - **How big.** Each file is `filesize`, or the job's `size` shared among its files; fio
 *   lays a file out to `offset + size` and does I/O in [offset, offset + size).
 * - **Which I/O.** Each file has the I/O sequence `ioStream` gives for the job on a file of
 *   that size (`io_size` shared among the files too); the job takes one I/O from each file
 *   in turn (fio's default `file_service_type=roundrobin`), and `number_ios` caps the total.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { FioJob } from './fio/job.js';
import { ioStream, type StreamRng } from './io-stream.js';

/** One file of a job: its absolute path, where its I/O region starts and how big it is. */
export interface JobFile {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
}

/** One I/O of a file job: which of its files, and what. */
export interface FileIo {
  readonly file: number;
  readonly op: 'read' | 'write';
  readonly offset: number;
  readonly bytes: number;
}

/** A block device path (`/dev/…`). */
export const isDevicePath = (p: string): boolean => p.startsWith('/dev/');

/** Does the job run on files (through the VFS) rather than on a raw block device? */
export function isFileJob(job: FioJob): boolean {
  if (job.filename !== undefined) return !job.filename.split(':').every(isDevicePath);
  return job.directory !== undefined;
}

/** `a/./b/../c` → `/a/c`, relative to `cwd`. */
export function resolvePath(p: string, cwd = '/'): string {
  const parts: string[] = [];
  for (const x of (p.startsWith('/') ? p : `${cwd}/${p}`).split('/')) {
    if (x === '' || x === '.') continue;
    if (x === '..') parts.pop();
    else parts.push(x);
  }
  return '/' + parts.join('/');
}

/** The job's files (absolute paths) and their sizes, or why the job cannot run on files. */
export function jobFiles(job: FioJob, cwd: string): E.Either<string, JobFile[]> {
  const dir = job.directory ?? cwd;
  let paths: string[];
  if (job.filename !== undefined) {
    paths = job.filename.split(':').filter((x) => x !== '');
    const dev = paths.find(isDevicePath);
    if (dev !== undefined) return E.left(`job '${job.name}': filename=${job.filename} mixes a block device (${dev}) with files`);
  } else paths = Array.from({ length: job.nrfiles }, (_, i) => `${job.name}.${job.index}.${i}`);
  if (paths.length === 0) return E.left(`job '${job.name}': filename= names no file`);
  const total = job.filesize === undefined ? job.size : job.filesize * paths.length;
  if (total === undefined) return E.left(`job '${job.name}': a file job needs size= or filesize= (fio: you need to specify size=)`);
  const each = job.filesize ?? Math.floor(total / paths.length);
  if (each < job.bs) return E.left(`job '${job.name}': each file would be ${each} bytes, smaller than bs=${job.bs}`);
  return E.right(paths.map((p) => ({ path: resolvePath(p, dir), offset: job.offset, size: each })));
}

/** The I/Os the job issues over its files, in order (round robin, one I/O per file in turn). */
export function* fileIoStream(job: FioJob, files: readonly JobFile[], rng: StreamRng): Generator<FileIo, void, undefined> {
  const n = files.length;
  const streams = files.map((f) =>
    ioStream(
      { ...job, size: f.size, offset: f.offset, ioSize: job.ioSize === undefined ? undefined : Math.ceil(job.ioSize / n), numberIos: undefined },
      { deviceBytes: f.offset + f.size, rng },
    ),
  );
  const live = streams.map(() => true);
  let left = job.numberIos ?? Infinity;
  let alive = n;
  for (let i = 0; alive > 0 && left > 0; i = (i + 1) % n) {
    if (!live[i]) continue;
    const next = streams[i].next();
    if (next.done) {
      live[i] = false;
      alive--;
      continue;
    }
    left--;
    const io = next.value;
    yield { file: i, op: io.op, offset: io.offset, bytes: io.bytes };
  }
}

/** Does the job read (so fio lays its files out with data before it starts)? */
export const jobReads = (job: FioJob): boolean => job.rw !== 'write' && job.rw !== 'randwrite';

/** Does the job write? */
export const jobWrites = (job: FioJob): boolean => job.rw !== 'read' && job.rw !== 'randread';
