/**
 * Data integrity through the whole path: fio-style jobs in the guest issue random writes
 * (random bytes), reads, discards, write-zeroes and flushes — through blk-mq, the
 * virtio-blk driver, the rings, KVM's exits, QEMU's virtio-blk and its block layer — to
 * a memory or a real host file image, under every device knob that changes the path
 * (EVENT_IDX, indirect descriptors, ioeventfd, MSI-X or INTx, queue size, iothread,
 * one or two queues and vCPUs) and the cache modes writeback, none and writethrough.
 *
 * The model is an 8 MiB Uint8Array. Properties:
 * - every I/O completes OK and every read returns the model's bytes;
 * - afterwards the image, read back through the BlockBackend, equals the model byte for
 *   byte; for a host file, so does the file itself once the graph is closed.
 *
 * Concurrency: I/Os in flight together to overlapping ranges have no defined order, on
 * real hardware as here. The generated sequence gives each I/O a wanted range; when it
 * is submitted, a range overlapping an I/O still in flight (submitted and not yet reaped
 * by its job) is moved to the next free place (or shrunk until one exists). So no two
 * concurrent I/Os overlap, by construction, and the model's order is the submission
 * order. Flushes have no range.
 *
 * Discard: with the drive's discard=ignore QEMU drops it (the data stays); with
 * discard=unmap iopath's drivers zero exactly (storage-contract.prop.ts relies on the
 * same), so the model zeroes. Write-zeroes always zeroes.
 *
 * The same over virtio-scsi (virtio-scsi-pci with the same knobs, one scsi-hd, the jobs on
 * /dev/sda): the guest's SCSI midlayer and sd, QEMU's virtio-scsi and scsi-hd in place of
 * virtio-blk on both sides.
 *
 * Runs: 60 per backend × cache mode (virtio-scsi: 20); IOPATH_DEEP=1 gives ten times as many.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createImage } from '../host/storage/open.js';
import { findBlockDriver } from '../host/storage/registry.js';
import '../host/storage/drivers/index.js';
import { blockErrorMessage } from '../host/storage/errors.js';
import type { JobIo } from '../workload/block-job.js';
import { DEFAULT_JOB, type FioJob } from '../workload/index.js';
import { vmErrorMessage } from '../vm/errors.js';
import { runJobs } from '../vm/run-jobs.js';
import { boot, fillPattern, firstDiff, knobsArb, readBack, runs, vmArgs, type Knobs } from './support/vm.js';

const MiB = 1024 * 1024;
const DISK = 8 * MiB;
const SECTORS = DISK / 512;
/** Half the wanted ranges fall in the first 256 KiB, so reads often meet earlier writes. */
const HOT_SECTORS = (256 * 1024) / 512;
const MAX_SECTORS = (64 * 1024) / 512;
const RUNS = runs(60);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-integrity-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileSeq = 0;

type Op = JobIo['op'];

/**
 * One generated I/O: what it does and where it would like to go: near one of the last
 * ranges written (`recent`, so reads and overwrites meet earlier data), in the first
 * 256 KiB (`hot`) or anywhere.
 */
interface GenIo {
  op: Op;
  where: 'recent' | 'hot' | 'any';
  pos: number;
  /** For `recent`: which of the last writes (0 = the latest), and how far to shift from its start. */
  back: number;
  shift: number;
  sectors: number;
  dataSeed: number;
}

const genIo: fc.Arbitrary<GenIo> = fc.record({
  op: fc.oneof(
    { weight: 4, arbitrary: fc.constant<Op>('write') },
    { weight: 4, arbitrary: fc.constant<Op>('read') },
    { weight: 1, arbitrary: fc.constant<Op>('discard') },
    { weight: 1, arbitrary: fc.constant<Op>('write-zeroes') },
    { weight: 1, arbitrary: fc.constant<Op>('flush') },
  ),
  where: fc.constantFrom<GenIo['where']>('recent', 'recent', 'hot', 'any'),
  pos: fc.nat(),
  back: fc.nat(7),
  shift: fc.integer({ min: -16, max: 16 }),
  sectors: fc.oneof(fc.constantFrom(1, 8, MAX_SECTORS), fc.integer({ min: 1, max: MAX_SECTORS })),
  dataSeed: fc.nat(),
});

interface Scenario {
  knobs: Knobs;
  discard: 'ignore' | 'unmap';
  /** One list of I/Os per job (jobs run on vCPU i % smp, so two jobs on two vCPUs use both queues). */
  jobs: { iodepth: number; ios: GenIo[] }[];
  seed: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  knobs: knobsArb,
  discard: fc.constantFrom<'ignore' | 'unmap'>('ignore', 'unmap'),
  jobs: fc.array(fc.record({ iodepth: fc.integer({ min: 1, max: 32 }), ios: fc.array(genIo, { minLength: 1, maxLength: 60, size: 'max' }) }), { minLength: 1, maxLength: 2 }),
  seed: fc.integer(),
});

interface Range {
  start: number;
  end: number;
}

/**
 * Where an I/O goes: its wanted range if it overlaps nothing in flight, else the first
 * free place at or after it (wrapping), else the same with half the length.
 */
function place(want: Range, busy: readonly Range[]): Range {
  const free = (s: number, n: number): boolean => s + n <= SECTORS && busy.every((b) => s + n <= b.start || s >= b.end);
  for (let n = want.end - want.start; n >= 1; n = Math.ceil(n / 2)) {
    const s0 = Math.min(want.start, SECTORS - n);
    if (free(s0, n)) return { start: s0, end: s0 + n };
    const candidates = [0, ...busy.map((b) => b.end)].filter((s) => s + n <= SECTORS).sort((a, b) => ((a - s0 + SECTORS) % SECTORS) - ((b - s0 + SECTORS) % SECTORS));
    for (const s of candidates) if (free(s, n)) return { start: s, end: s + n };
    if (n === 1) break;
  }
  throw new Error('no free sector: more I/O in flight than the disk holds');
}

interface Run {
  model: Uint8Array;
  problems: string[];
  completed: number;
}

function runScenario(sc: Scenario, driveArg: string, initial?: Uint8Array): Run & { m: ReturnType<typeof boot> } {
  const m = boot(vmArgs(sc.knobs, driveArg), { seed: sc.seed });
  const model = initial ? initial.slice() : new Uint8Array(DISK);
  const inflight = new Map<JobIo, Range>();
  const writes = new Map<JobIo, Uint8Array>();
  const problems: string[] = [];
  /** First sector of every write so far, in submission order. */
  const written: number[] = [];
  let completed = 0;

  const iterate = (list: readonly GenIo[]): Iterator<JobIo> => {
    let i = 0;
    return {
      next: (): IteratorResult<JobIo> => {
        if (i >= list.length) return { done: true, value: undefined };
        const g = list[i++];
        if (g.op === 'flush') return { done: false, value: { op: 'flush', offset: 0, bytes: 0 } };
        const recent = written[written.length - 1 - (g.back % Math.max(1, written.length))];
        const first =
          g.where === 'recent' && recent !== undefined
            ? Math.max(0, Math.min(SECTORS - 1, recent + g.shift))
            : g.where === 'any'
              ? g.pos % SECTORS
              : g.pos % HOT_SECTORS;
        const r = place({ start: first, end: first + g.sectors }, [...inflight.values()]);
        const io: JobIo = { op: g.op, offset: r.start * 512, bytes: (r.end - r.start) * 512 };
        inflight.set(io, r);
        // The model changes at submission: nothing overlapping is in flight, so any order is this one.
        if (g.op === 'write') {
          const data = fillPattern(new Uint8Array(io.bytes), g.dataSeed);
          writes.set(io, data);
          model.set(data, io.offset);
          written.push(r.start);
        } else if (g.op === 'write-zeroes' || (g.op === 'discard' && sc.discard === 'unmap')) model.fill(0, io.offset, io.offset + io.bytes);
        return { done: false, value: io };
      },
    };
  };

  const jobs: FioJob[] = sc.jobs.map((j, i) => ({ ...DEFAULT_JOB, name: `j${i}`, bs: MAX_SECTORS * 512, iodepth: j.iodepth }));
  const r = runJobs(m, jobs, {
    ios: (_job, i) => iterate(sc.jobs[i].ios),
    hooks: {
      beforeWrite: (io, buf) => m.mem.write(buf, writes.get(io)!),
      completed: (io, status, buf) => {
        completed++;
        const where = `${io.op} of ${io.bytes} bytes at ${io.offset}`;
        if (status !== 'ok') problems.push(`${where} completed with ${status}`);
        else if (io.op === 'read') {
          const got = m.mem.read(buf, io.bytes);
          const d = firstDiff(got, model.subarray(io.offset, io.offset + io.bytes));
          if (d >= 0) problems.push(`${where} returned ${got[d]} at byte ${d} (disk offset ${io.offset + d}), the model has ${model[io.offset + d]}`);
        }
        inflight.delete(io);
        writes.delete(io);
      },
    },
    maxVirtualNs: 10_000_000_000,
  });
  if (E.isLeft(r)) throw new Error(vmErrorMessage(r.left));
  expect(r.right.jobs.reduce((n, j) => n + j.errors, 0)).toBe(0);
  return { m, model, problems, completed };
}

function checkImage(run: Run & { m: ReturnType<typeof boot> }, total: number): void {
  expect(run.problems).toEqual([]);
  expect(run.completed).toBe(total);
  const image = readBack(run.m, 'd0', 0, DISK);
  const d = firstDiff(image, run.model);
  expect(d, d < 0 ? '' : `image byte ${d} is ${image[d]}, the model has ${run.model[d]}`).toBe(-1);
}

/**
 * Run `sc` over a fresh raw host file with this cache mode: every read sees the model, the
 * image equals it afterwards, and so does the file once the drive is closed (closing writes
 * the host page cache back).
 */
function checkRawFileScenario(sc: Scenario, cache: string): void {
  const file = path.join(tmp, `disk${fileSeq++}.img`);
  const made = createImage('raw', file, DISK);
  if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
  try {
    const run = runScenario(sc, `file=${file},format=raw,if=none,id=d0,cache=${cache},discard=${sc.discard}`);
    checkImage(run, sc.jobs.reduce((n, j) => n + j.ios.length, 0));
    run.m.host.drives.get('d0')!.graph.close();
    const onDisk = fs.readFileSync(file);
    expect(onDisk.length).toBe(DISK);
    const d = firstDiff(onDisk, run.model);
    expect(d, d < 0 ? '' : `file byte ${d} is ${onDisk[d]}, the model has ${run.model[d]}`).toBe(-1);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

const CACHE_MODES = ['writeback', 'none', 'writethrough'] as const;

const scsiScenarioArb: fc.Arbitrary<Scenario> = scenarioArb.map((sc) => ({ ...sc, knobs: { ...sc.knobs, frontend: 'virtio-scsi' as const } }));
const SCSI_RUNS = runs(20);

describe.each(CACHE_MODES)('data integrity end to end over virtio-scsi and scsi-hd, cache=%s', (cache) => {
  it('memory image: every read sees the model, and the image equals it afterwards', () => {
    fc.assert(
      fc.property(scsiScenarioArb, (sc) => {
        const run = runScenario(sc, `if=none,id=d0,driver=memory,size=${DISK},cache=${cache},discard=${sc.discard}`);
        expect(run.m.guest.sd.disks.has('sda')).toBe(true);
        checkImage(run, sc.jobs.reduce((n, j) => n + j.ios.length, 0));
      }),
      { numRuns: SCSI_RUNS },
    );
  });

  it('host file image (format=raw): every read sees the model; the image and the file equal it afterwards', () => {
    fc.assert(
      fc.property(scsiScenarioArb, (sc) => {
        checkRawFileScenario(sc, cache);
      }),
      { numRuns: Math.max(5, Math.floor(SCSI_RUNS / 2)) },
    );
  });
});

describe.each(CACHE_MODES)('data integrity end to end, cache=%s', (cache) => {
  it('memory image: every read sees the model, and the image equals it afterwards', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const run = runScenario(sc, `if=none,id=d0,driver=memory,size=${DISK},cache=${cache},discard=${sc.discard}`);
        checkImage(run, sc.jobs.reduce((n, j) => n + j.ios.length, 0));
      }),
      { numRuns: RUNS },
    );
  });

  it('host file image (format=raw): every read sees the model; the image and the file equal it afterwards', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        checkRawFileScenario(sc, cache);
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * The same over qcow2 (once the driver is registered): several cluster sizes, with and
 * without a backing file. Discard is left at `ignore` here: qcow2 discards only whole
 * clusters and keeps the data of a partial one (QEMU's qcow2_co_pdiscard), which the
 * model cannot predict without knowing the cluster layout; write-zeroes still zeroes.
 * With a backing file the base holds a pattern the overlay must show through where the
 * guest has not written, so the model starts from that pattern.
 */
const QCOW2_CASES = [
  { cluster: 4096, backing: false },
  { cluster: 65536, backing: false },
  { cluster: 2 * MiB, backing: false },
  { cluster: 65536, backing: true },
] as const;

describe.skipIf(!findBlockDriver('qcow2')).each(QCOW2_CASES)('data integrity end to end over qcow2, cluster_size=$cluster backing=$backing', ({ cluster, backing }) => {
  it('every read sees the model, and the image equals it afterwards', () => {
    fc.assert(
      fc.property(scenarioArb, fc.constantFrom(...CACHE_MODES), (given, cache) => {
        const sc: Scenario = { ...given, discard: 'ignore' };
        const file = path.join(tmp, `disk${fileSeq++}.qcow2`);
        const base = path.join(tmp, `base${fileSeq}.img`);
        const initial = new Uint8Array(DISK);
        if (backing) {
          fillPattern(initial, fileSeq);
          fs.writeFileSync(base, initial);
        }
        const made = createImage('qcow2', file, DISK, backing ? { cluster_size: cluster, backing_file: base, backing_fmt: 'raw' } : { cluster_size: cluster });
        if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
        try {
          const run = runScenario(sc, `file=${file},format=qcow2,if=none,id=d0,cache=${cache},discard=ignore`, initial);
          checkImage(run, sc.jobs.reduce((n, j) => n + j.ios.length, 0));
        } finally {
          fs.rmSync(file, { force: true });
          fs.rmSync(base, { force: true });
        }
      }),
      { numRuns: Math.max(4, Math.floor(RUNS / 4)) },
    );
  });
});

/**
 * Drive wiring. QEMU takes -drive's `aio` as a flag (blockdev.c
 * extract_common_blockdev_options → bdrv_parse_aio sets BDRV_O_NATIVE_AIO /
 * BDRV_O_IO_URING) that only file-posix reads; drivers without host AIO ignore it. So a
 * raw format node over a memory or null-co protocol node opens whether `aio` is left at
 * its default or given.
 * BUG, kept failing on purpose: iopath passes an explicit `aio=` (other than threads) as
 * an option of whatever protocol node -drive builds (host/storage/drive.ts protocolSpec),
 * and memory / null-co refuse it ("doesn't support the option 'aio'"). The default case
 * failed too when this suite was written; vm/host.ts now leaves aio=threads out.
 */
describe('drive wiring', () => {
  it('-drive format=raw over a memory or null-co protocol node opens, with aio unset or given (as QEMU)', () => {
    fc.assert(
      fc.property(fc.constantFrom('memory', 'null-co'), fc.constantFrom(...CACHE_MODES), fc.constantFrom('', ',aio=threads', ',aio=io_uring'), (protocol, cache, aio) => {
        const args = ['-drive', `if=none,id=d0,format=raw,file.driver=${protocol},file.size=1M,cache=${cache}${aio}`, '-device', 'virtio-blk-pci,drive=d0'];
        const m = boot(args, { seed: 1 });
        expect(m.host.drives.get('d0')!.blk.length()).toBe(MiB);
      }),
      { numRuns: 18 },
    );
  });
});
