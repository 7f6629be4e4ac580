/**
 * The front end does not change what lands on the disk: the same fio jobs with the same
 * seed, run once through virtio-blk (/dev/vda) and once through virtio-scsi and scsi-hd
 * (/dev/sda), each over a fresh raw image in a real host file, leave byte-identical image
 * files — under random device knobs (queues, queue size, EVENT_IDX, indirect descriptors,
 * ioeventfd, MSI-X or INTx, iothread, one or two vCPUs) and cache modes.
 *
 * The two runs differ in timing (SCSI costs more per I/O, so completions come back in a
 * different order), so what a write carries must not depend on it: each write's buffer is
 * filled from its offset and the job (fio's buffers are reused in completion order), and
 * no two writes in flight together overlap — each job has its own region and writes each
 * block of it at most once (fio's random map, or a sequential pass; io_size stays within
 * the region).
 *
 * Runs: 20; IOPATH_DEEP=1 gives 200.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createImage } from '../host/storage/open.js';
import '../host/storage/drivers/index.js';
import { blockErrorMessage } from '../host/storage/errors.js';
import { vmErrorMessage } from '../vm/errors.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB, type FioJob, type FioRw } from '../workload/index.js';
import { boot, fillPattern, firstDiff, guestDiskOf, knobsArb, runs, vmArgs, type Frontend, type Knobs } from './support/vm.js';

const MiB = 1024 * 1024;
/** Each job's region. */
const REGION = 4 * MiB;
const DISK = 2 * REGION;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-same-image-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileSeq = 0;

interface Workload {
  rw: FioRw;
  bs: number;
  iodepth: number;
  /** I/Os per job; with bs, never more than the region holds. */
  ios: number;
  numjobs: number;
  cache: 'writeback' | 'none' | 'writethrough';
}

const workloadArb: fc.Arbitrary<Workload> = fc
  .record({
    rw: fc.constantFrom<FioRw>('write', 'randwrite', 'randrw', 'rw'),
    bs: fc.constantFrom(512, 4096, 65536),
    iodepth: fc.integer({ min: 1, max: 32 }),
    ios: fc.integer({ min: 1, max: 120 }),
    numjobs: fc.integer({ min: 1, max: 2 }),
    cache: fc.constantFrom<Workload['cache']>('writeback', 'none', 'writethrough'),
  })
  .map((w) => ({ ...w, ios: Math.min(w.ios, REGION / w.bs) }));

function jobs(w: Workload, front: Frontend): FioJob[] {
  return Array.from({ length: w.numjobs }, (_, index) => ({
    ...DEFAULT_JOB,
    name: `j${index}`,
    filename: front === 'virtio-scsi' ? '/dev/sda' : '/dev/vda',
    rw: w.rw,
    bs: w.bs,
    iodepth: w.iodepth,
    offset: index * REGION,
    size: REGION,
    numberIos: w.ios,
    ioSize: w.ios * w.bs,
  }));
}

/** Run the jobs through `front` on a fresh image file; the file's bytes after the drive is closed. */
function imageAfter(k: Knobs, w: Workload, seed: number, front: Frontend): { image: Buffer; ios: number; errors: number } {
  const file = path.join(tmp, `disk${fileSeq++}.img`);
  const made = createImage('raw', file, DISK);
  if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
  try {
    const knobs: Knobs = { ...k, frontend: front };
    const m = boot(vmArgs(knobs, `file=${file},format=raw,if=none,id=d0,cache=${w.cache}`), { seed });
    expect(m.guest.os.devices.has(guestDiskOf(knobs))).toBe(true);
    const r = runJobs(m, jobs(w, front), {
      hooks: { beforeWrite: (io, buf) => m.mem.write(buf, fillPattern(new Uint8Array(io.bytes), io.offset / 512 + 1)) },
      maxVirtualNs: 10_000_000_000,
    });
    if (E.isLeft(r)) throw new Error(vmErrorMessage(r.left));
    m.host.drives.get('d0')!.graph.close();
    return { image: fs.readFileSync(file), ios: r.right.jobs.reduce((n, j) => n + j.ios, 0), errors: r.right.jobs.reduce((n, j) => n + j.errors, 0) };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

describe('virtio-blk and virtio-scsi leave the same image', () => {
  it('the same jobs and seed give byte-identical image files through both front ends', () => {
    fc.assert(
      fc.property(knobsArb, workloadArb, fc.integer(), (k, w, seed) => {
        const blk = imageAfter(k, w, seed, 'virtio-blk');
        const scsi = imageAfter(k, w, seed, 'virtio-scsi');
        expect([blk.ios, blk.errors]).toEqual([w.ios * w.numjobs, 0]);
        expect([scsi.ios, scsi.errors]).toEqual([w.ios * w.numjobs, 0]);
        expect(blk.image.length).toBe(DISK);
        const d = firstDiff(scsi.image, blk.image);
        expect(d, d < 0 ? '' : `byte ${d}: virtio-scsi left ${scsi.image[d]}, virtio-blk ${blk.image[d]}`).toBe(-1);
        // The jobs wrote something (a write-free randrw of one read is the only exception).
        if (w.rw === 'write' || w.rw === 'randwrite') expect(blk.image.some((b) => b !== 0)).toBe(true);
      }),
      { numRuns: runs(20) },
    );
  });
});
