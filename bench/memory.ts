/**
 * Memory: a VM with 1 TiB of RAM and a 1 TiB disk (raw over the sparse memory driver)
 * writes 1 GiB (sequential 4 KiB writes, iodepth 32). Guest RAM and the disk cost host
 * memory only for what is touched, so resident memory should be the 1 GiB written plus
 * a modest overhead (target < 1.5 GiB). Run in a child process so the figure is this
 * scenario's alone.
 *
 * Every block written is made distinct (its number stamped into the buffer before the
 * write, as fio's verify header does): written from fio's unchanging buffers, all the
 * disk's blocks would share the job's 32 buffer pages (lent guest pages, see
 * docs/architecture.md) and the figure would say nothing about the 1 GiB.
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseQemuArgs } from '../vm/cmdline/index.js';
import { startMachine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB } from '../workload/index.js';

export interface MemoryResult {
  bytesWritten: number;
  rssBytes: number;
  heapUsedBytes: number;
  guestPagesTouched: number;
  wallMs: number;
}

export function benchMemory(bytes = 1 << 30): MemoryResult {
  const spec = parseQemuArgs(['-m', '1T', '-blockdev', 'driver=raw,node-name=disk0,file.driver=memory,file.size=1T', '-device', 'virtio-blk-pci,drive=disk0']);
  if (E.isLeft(spec)) throw new Error('memory benchmark VM does not parse');
  const m = startMachine(spec.right, { seed: 1 });
  if (E.isLeft(m)) throw new Error('memory benchmark VM does not boot');
  const ios = Math.floor(bytes / 4096);
  const t0 = performance.now();
  const mem = m.right.mem;
  const hooks = { beforeWrite: (io: { offset: number }, buf: number): void => mem.write32(buf, io.offset / 4096) };
  const r = runJobs(m.right, [{ ...DEFAULT_JOB, rw: 'write', size: bytes, iodepth: 32, numberIos: ios, ioSize: bytes }], { hooks });
  const wallMs = performance.now() - t0;
  if (E.isLeft(r)) throw new Error('memory benchmark job failed');
  global.gc?.();
  const mu = process.memoryUsage();
  return { bytesWritten: r.right.metrics.bytes, rssBytes: mu.rss, heapUsedBytes: mu.heapUsed, guestPagesTouched: m.right.mem.pagesTouched, wallMs };
}
