/**
 * Test helpers for the VFS and what is built on it: a guest OS over a test kernel (vCPUs
 * with no exits) and `MemDisk`, the block layer's fake disk with a volatile write cache,
 * so a test can write through the whole guest stack, cut the power (`disk.powerCut()`)
 * and look at what is left (`disk.stable`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../../hw/memory.js';
import type { BlockDevice } from '../blockdev/block-device.js';
import { MemDisk, testKernel, type MemDiskOptions, type TestKernel } from '../blockdev/testing.js';
import { DmaAllocator } from '../kernel/dma-alloc.js';
import { PageAllocator } from '../kernel/page-alloc.js';
import type { Task } from '../kernel/task.js';
import { PageCache } from '../pagecache/pagecache.js';
import type { VmSysctl } from '../pagecache/sysctl.js';
import type { Errno } from './errno.js';
import { GuestOs } from './guest-os.js';
import type { Sys, UserBuf } from './syscalls-api.js';

export interface VfsRigOptions {
  cpus?: number;
  /** Disk size in 512-byte sectors (default 64 MiB). */
  sectors?: number;
  /** Page-cache pages (default 2048: 8 MiB). */
  cachePages?: number;
  disk?: MemDiskOptions;
  sysctl?: Partial<VmSysctl>;
  commitIntervalMs?: number;
}

export interface VfsRig {
  readonly tk: TestKernel;
  readonly disk: MemDisk;
  readonly dev: BlockDevice;
  readonly cache: PageCache;
  readonly os: GuestOs;
  /** A process made for the test. */
  readonly task: Task;
  /** Run the clock until `call` returns; its result. */
  run<T>(call: Sys<T>): E.Either<Errno, T>;
  /** `run`, and the value (throws naming the errno otherwise). */
  ok<T>(call: Sys<T>): T;
  /** A user buffer of `bytes`, filled with `fill` if given. */
  buf(bytes: number, fill?: Uint8Array | number): UserBuf;
  /** The bytes of a user buffer. */
  bytes(buf: UserBuf, len?: number): Uint8Array;
}

const MIB = 1 << 20;

export function vfsRig(o: VfsRigOptions = {}): VfsRig {
  const tk = testKernel(o.cpus ?? 1);
  const k = tk.kernel;
  const disk = new MemDisk(tk, { name: 'vda', sectors: o.sectors ?? 131072, latencyNs: [20_000, 60_000], ...o.disk });
  const dev = disk.device();
  const userEnd = 24 * MIB;
  const user = new DmaAllocator(k.dmaEnd, userEnd);
  const pages = new PageAllocator(userEnd, userEnd + (o.cachePages ?? 2048) * PAGE_SIZE, k.mem);
  const cache = PageCache.create(k, { pages, sysctl: o.sysctl });
  if (E.isLeft(cache)) throw new Error(`vfsRig: ${JSON.stringify(cache.left)}`);
  const os = new GuestOs(k, user, cache.right, new Map([['/dev/vda', dev]]), { commitIntervalMs: o.commitIntervalMs });
  const task = os.spawn('test');
  const run = <T>(call: Sys<T>): E.Either<Errno, T> => {
    let out: E.Either<Errno, T> | undefined;
    call.subscribe((r) => (out = r));
    tk.sim.run({ stop: () => out !== undefined });
    if (!out) throw new Error('vfsRig: the call never returned (nothing left to run)');
    return out;
  };
  return {
    tk,
    disk,
    dev,
    cache: cache.right,
    os,
    task,
    run,
    ok: <T>(call: Sys<T>): T => {
      const r = run(call);
      if (E.isLeft(r)) throw new Error(`vfsRig: call failed with ${r.left}`);
      return r.right;
    },
    buf: (bytes, fill) => {
      const b = os.allocUser(bytes);
      if (fill instanceof Uint8Array) k.mem.write(b.addr, fill.subarray(0, bytes));
      else if (fill !== undefined) k.mem.fill(b.addr, bytes, fill);
      return b;
    },
    bytes: (b, len = b.len) => k.mem.read(b.addr, len),
  };
}

/** `n` bytes of a recognisable pattern (seeded). */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Where two byte arrays first differ (-1: they are equal), for quick assertions on large buffers. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
