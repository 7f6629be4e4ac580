/**
 * Test helpers for the page cache and for layers tested against it (Firecracker's
 * test_utils idea): a fake AddressSpaceOps over a byte array that completes after a
 * delay on the simulator, and a rig with a guest kernel on vCPUs that run work without
 * exits.
 */
import * as E from 'fp-ts/lib/Either.js';
import { Observable, type Observable as Obs } from 'rxjs';
import { MSR_X2APIC_ICR, type InterruptEntry, type VcpuPort } from '../../hw/cpu.js';
import { GuestMemory, PAGE_SIZE } from '../../hw/memory.js';
import { ExecutionContext } from '../../sim/context.js';
import { CostModel } from '../../sim/costs.js';
import { Simulator } from '../../sim/simulator.js';
import { Recorder, Trace } from '../../sim/trace.js';
import { DmaAllocator } from '../kernel/dma-alloc.js';
import { GuestKernel } from '../kernel/kernel.js';
import { PageAllocator } from '../kernel/page-alloc.js';
import { Task } from '../kernel/task.js';
import type { Mapping } from './mapping.js';
import { PageCache } from './pagecache.js';
import { sysctlErrorMessage, type VmSysctl } from './sysctl.js';
import type { AddressSpaceOps, Page, PageIoStatus, ReadaheadControl, WbReason, WritebackControl } from './types.js';

/**
 * A vCPU that runs guest work on an execution context and has no devices: no exits. An
 * x2APIC ICR write delivers the IPI (the reschedule IPI that wakes a halted CPU) to the
 * target's interrupt entry, as work on the target.
 */
export class SimplePort implements VcpuPort {
  private readonly ctx: ExecutionContext;
  private entry: InterruptEntry | undefined;
  constructor(
    readonly index: number,
    private readonly sim: Simulator,
    trace: Trace,
    private readonly all: SimplePort[],
  ) {
    this.ctx = new ExecutionContext(sim, trace, `vcpu${index}`, 'vcpu');
  }
  pioRead(): number {
    throw new Error('SimplePort: no devices');
  }
  pioWrite(): void {
    throw new Error('SimplePort: no devices');
  }
  mmioRead(): number {
    throw new Error('SimplePort: no devices');
  }
  mmioWrite(): void {
    throw new Error('SimplePort: no devices');
  }
  wrmsr(msr: number, value: number): void {
    if (msr !== MSR_X2APIC_ICR) return;
    const target = this.all[Math.floor(value / 0x1_0000_0000)];
    target.ctx.run('IPI', () => target.entry?.(value & 0xff));
  }
  halt(): void {}
  run(what: string, fn: () => void): void {
    this.ctx.run(what, fn);
  }
  setInterruptEntry(entry: InterruptEntry): void {
    this.entry = entry;
  }
  charge(ns: number): void {
    this.sim.advance(ns);
  }
  pvEoiPending(): boolean {
    return true;
  }
}

export interface FakeWrite {
  /** Submitted, completed (virtual ns). */
  t: number;
  doneAt: number;
  indexes: number[];
  reason: WbReason;
  status: PageIoStatus;
}

/**
 * A file on a fake disk: `data` is what reached the disk. Reads fill pages from it (zeroes
 * past its end and past i_size), writes copy pages into it; both complete `latencyNs` after
 * submission. `failRead` / `failWrite` choose pages whose I/O fails with `ioerr`.
 */
export class FakeFile implements AddressSpaceOps {
  private bytes = new Uint8Array(0);
  private length = 0;
  readonly reads: { t: number; index: number; pages: number; async: boolean }[] = [];
  readonly writes: FakeWrite[] = [];
  /** Every page write that reached the disk, in order: (index, completion time, first 4 bytes little-endian). */
  readonly landed: { index: number; t: number; stamp: number }[] = [];
  failRead: ((index: number) => boolean) | undefined;
  failWrite: ((index: number) => boolean) | undefined;

  constructor(
    private readonly sim: Simulator,
    private readonly mem: GuestMemory,
    public latencyNs = 100_000,
  ) {}

  /** The bytes on the disk (a copy). */
  get data(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** Put bytes on the disk directly (a file that existed before the test). */
  preload(offset: number, src: Uint8Array): void {
    this.ensure(offset + src.length);
    this.bytes.set(src, offset);
  }

  /** The file system's half of truncate: blocks past `size` are freed (they read as zeroes again). */
  truncate(size: number): void {
    if (size < this.length) {
      this.bytes.fill(0, size, this.length);
      this.length = size;
    }
  }

  readPages(mapping: Mapping, pages: readonly Page[], rac: ReadaheadControl): Obs<PageIoStatus> {
    return new Observable<PageIoStatus>((sub) => {
      this.reads.push({ t: this.sim.now, index: pages[0].index, pages: pages.length, async: rac.async });
      this.sim.after(this.latencyNs, () => {
        const fail = pages.some((p) => this.failRead?.(p.index));
        if (!fail) for (const p of pages) this.mem.write(p.addr, this.pageBytes(p.index, mapping.size));
        sub.next(fail ? 'ioerr' : 'ok');
        sub.complete();
      });
    });
  }

  writePages(_mapping: Mapping, pages: readonly Page[], wbc: WritebackControl): Obs<PageIoStatus> {
    return new Observable<PageIoStatus>((sub) => {
      const w: FakeWrite = { t: this.sim.now, doneAt: -1, indexes: pages.map((p) => p.index), reason: wbc.reason, status: 'ok' };
      this.writes.push(w);
      this.sim.after(this.latencyNs, () => {
        const fail = pages.some((p) => this.failWrite?.(p.index));
        if (!fail) {
          for (const p of pages) {
            const b = this.mem.read(p.addr, PAGE_SIZE);
            this.preload(p.index * PAGE_SIZE, b);
            this.landed.push({ index: p.index, t: this.sim.now, stamp: (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0 });
          }
        }
        w.doneAt = this.sim.now;
        w.status = fail ? 'ioerr' : 'ok';
        sub.next(w.status);
        sub.complete();
      });
    });
  }

  private pageBytes(index: number, size: number): Uint8Array {
    const out = new Uint8Array(PAGE_SIZE);
    const start = index * PAGE_SIZE;
    const end = Math.min(start + PAGE_SIZE, this.length, Math.max(size, 0));
    if (end > start) out.set(this.bytes.subarray(start, end));
    return out;
  }

  private ensure(n: number): void {
    if (n > this.bytes.length) {
      const next = new Uint8Array(Math.max(n, this.bytes.length * 2));
      next.set(this.bytes);
      this.bytes = next;
    }
    if (n > this.length) this.length = n;
  }
}

export interface RigOptions {
  /** Pages the page allocator manages (the guest's memory for the cache). */
  cachePages: number;
  sysctl?: Partial<VmSysctl>;
  vcpus?: number;
  costs?: CostModel;
}

/** A guest kernel with a page cache over `cachePages` pages, user memory for buffers, and a trace recorder. */
export function pageCacheRig(o: RigOptions) {
  const sim = new Simulator();
  const trace = new Trace();
  const recorder = new Recorder();
  trace.attach(recorder.sink);
  const costs = o.costs ?? new CostModel();
  const userBytes = 16 << 20;
  const cacheStart = 32 << 20;
  const mem = new GuestMemory(cacheStart + o.cachePages * PAGE_SIZE);
  const ports: SimplePort[] = [];
  for (let i = 0; i < (o.vcpus ?? 1); i++) ports.push(new SimplePort(i, sim, trace, ports));
  const kernel = new GuestKernel(sim, trace, costs, mem, ports, mem.size);
  const user = new DmaAllocator(cacheStart - userBytes, cacheStart);
  const pages = new PageAllocator(cacheStart, mem.size, mem);
  const pc = PageCache.create(kernel, { pages, sysctl: o.sysctl });
  if (E.isLeft(pc)) throw new Error(sysctlErrorMessage(pc.left));
  const cache = pc.right;
  let pid = 100;
  return {
    sim,
    trace,
    recorder,
    mem,
    kernel,
    user,
    pages,
    cache,
    /** A task on CPU `cpu`. */
    task(name = 'fio', cpu = 0): Task {
      return new Task(pid++, name, kernel.cpus[cpu]);
    },
    /** A file on a fake disk with a mapping over it. */
    file(name = 'ino:12', latencyNs?: number, size = 0): { ops: FakeFile; mapping: Mapping } {
      const ops = new FakeFile(sim, mem, latencyNs);
      return { ops, mapping: cache.createMapping({ name, ops, size }) };
    },
    /** Subscribe and run the simulation until `obs` emits; its value. */
    await<T>(obs: Obs<T>): T {
      let got: { v: T } | undefined;
      obs.subscribe((v) => (got = { v }));
      sim.run({ stop: () => got !== undefined });
      if (!got) throw new Error('rig: the operation never completed (the simulation ran dry)');
      return got.v;
    },
  };
}

export type PageCacheRig = ReturnType<typeof pageCacheRig>;

/** Where two byte arrays first differ (-1 when equal): a fast check with a useful message. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
