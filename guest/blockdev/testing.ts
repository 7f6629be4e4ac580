/**
 * Test helpers for the block layer (a driver-side mock, as rust-vmm ships one): a guest
 * kernel over vCPU ports that run work on the simulator without a host, and `MemDisk`,
 * a fake blk-mq driver that keeps the disk in a byte array. MemDisk logs every request
 * it is handed, completes them after a (seeded, random) latency in whatever order that
 * gives, and models a volatile write cache: a completed write is only durable after a
 * FUA or after a flush queued once it had completed; `powerCut` drops the rest.
 */
import { MSR_X2APIC_ICR, type InterruptEntry, type VcpuPort } from '../../hw/cpu.js';
import { GuestMemory } from '../../hw/memory.js';
import { CostModel } from '../../sim/costs.js';
import { Rng } from '../../sim/rng.js';
import { Simulator } from '../../sim/simulator.js';
import { Recorder, Trace } from '../../sim/trace.js';
import { GuestKernel } from '../kernel/kernel.js';
import { Task } from '../kernel/task.js';
import { BlockDevice } from './block-device.js';
import { BlkMq } from './blk-mq.js';
import type { SchedulerName } from './elevator.js';
import { resolveLimits, type DriverLimits } from './limits.js';
import type { BlkMqOps, BlkRequest, BlkStatus } from './request.js';

const SECTOR = 512;

/** A vCPU that runs work as simulator events; an ICR write delivers the IPI. */
class SimPort implements VcpuPort {
  entry: InterruptEntry | undefined;
  constructor(
    readonly index: number,
    private readonly sim: Simulator,
    private readonly all: SimPort[],
  ) {}
  pioRead(): number {
    return 0;
  }
  pioWrite(): void {}
  mmioRead(): number {
    return 0;
  }
  mmioWrite(): void {}
  wrmsr(msr: number, value: number): void {
    if (msr !== MSR_X2APIC_ICR) return;
    const target = this.all[Math.floor(value / 0x1_0000_0000)];
    this.sim.after(0, () => target.entry?.(value & 0xff));
  }
  halt(): void {}
  run(_what: string, fn: () => void): void {
    this.sim.after(0, fn);
  }
  setInterruptEntry(e: InterruptEntry): void {
    this.entry = e;
  }
  charge(ns: number): void {
    this.sim.advance(ns);
  }
  pvEoiPending(): boolean {
    return true;
  }
}

export interface TestKernel {
  sim: Simulator;
  trace: Trace;
  rec: Recorder;
  kernel: GuestKernel;
  /** A task on each CPU. */
  tasks: Task[];
}

/** A guest kernel with `cpus` CPUs and 64 MiB of RAM, recording its trace. */
export function testKernel(cpus = 1): TestKernel {
  const sim = new Simulator();
  const trace = new Trace();
  const rec = new Recorder();
  trace.attach(rec.sink);
  const ports: SimPort[] = [];
  for (let i = 0; i < cpus; i++) ports.push(new SimPort(i, sim, ports));
  const kernel = new GuestKernel(sim, trace, new CostModel(), new GuestMemory(64 << 20), ports, 64 << 20);
  const tasks = kernel.cpus.map((c, i) => new Task(100 + i, `t${i}`, c));
  return { sim, trace, rec, kernel, tasks };
}

export interface MemDiskOptions {
  name?: string;
  sectors?: number;
  nrHwQueues?: number;
  queueDepth?: number;
  /** Requests the "ring" holds per hardware queue; beyond, queue_rq answers BLK_STS_DEV_RESOURCE. Default: unlimited. */
  ringSize?: number;
  /** Completion latency in ns: [min, max], drawn per request; or a function of the request. */
  latencyNs?: [number, number] | ((rq: BlkRequest) => number);
  seed?: number;
  /** Requests for which this is true never complete. */
  hang?: (rq: BlkRequest) => boolean;
  /** Give the driver a timeout handler that ends the request with BLK_STS_TIMEOUT. */
  timeoutHandler?: boolean;
  /** A status other than ok for requests the device fails (their data is not applied). */
  fail?: (rq: BlkRequest) => BlkStatus | undefined;
  limits?: Partial<DriverLimits>;
}

export interface LoggedRequest {
  op: string;
  sector: number;
  sectors: number;
  fua: boolean;
  last: boolean;
  hwq: number;
  id: number;
  t: number;
}

/** A fake disk driver: blk-mq ops over a byte array, with a volatile write cache. */
export class MemDisk implements BlkMqOps {
  readonly blk: BlkMq;
  readonly stable: Uint8Array;
  /** Completed writes not yet durable: sector → its 512 bytes (undefined: zeroes were written). */
  readonly cache = new Map<number, Uint8Array>();
  /** Requests as queue_rq was handed them, in order. */
  readonly log: LoggedRequest[] = [];
  /** Requests as they completed, in order. */
  readonly completed: LoggedRequest[] = [];
  readonly writeCache: boolean;
  private readonly rng: Rng;
  private readonly inflight: Set<BlkRequest>[];
  private readonly opts: MemDiskOptions;

  constructor(
    private readonly tk: TestKernel,
    opts: MemDiskOptions = {},
  ) {
    this.opts = opts;
    const nr = opts.nrHwQueues ?? 1;
    this.blk = new BlkMq(tk.sim, tk.trace, tk.kernel.costs, { name: opts.name ?? 'vdt', nrHwQueues: nr, queueDepth: opts.queueDepth ?? 32, cpuToHwq: (c) => c % nr });
    this.blk.setOps(this);
    this.stable = new Uint8Array((opts.sectors ?? 4096) * SECTOR);
    this.writeCache = opts.limits?.writeCache ?? true;
    this.rng = new Rng(opts.seed ?? 1);
    this.inflight = Array.from({ length: nr }, () => new Set());
    if (opts.timeoutHandler) this.timeout = (_hwq, rq) => this.expire(rq);
  }

  timeout?: (hwq: number, rq: BlkRequest) => 'done' | 'reset-timer';

  /** The block device over this disk. */
  device(opts: { scheduler?: SchedulerName; timeoutMs?: number } = {}): BlockDevice {
    const limits = resolveLimits({ logicalBlockSize: 512, maxSegments: 128, maxDiscardSectors: 1 << 20, maxWriteZeroesSectors: 1 << 20, ...this.opts.limits, writeCache: this.writeCache });
    return new BlockDevice(this.tk.kernel, { name: this.blk.opts.name, capacitySectors: this.stable.length / SECTOR, limits, blk: this.blk, ops: this, ...opts });
  }

  queueRq(hwq: number, rq: BlkRequest, last: boolean): BlkStatus {
    const q = this.inflight[hwq];
    if (this.opts.ringSize !== undefined && q.size >= this.opts.ringSize) return 'resource';
    q.add(rq);
    this.log.push({ op: rq.op, sector: rq.sector, sectors: rq.sectors, fua: rq.fua === true, last, hwq, id: rq.id, t: this.tk.sim.now });
    if (this.opts.hang?.(rq)) return 'ok';
    // A flush covers the writes completed before it was queued.
    const covered = rq.op === 'flush' ? [...this.cache.keys()] : [];
    const lat = this.opts.latencyNs ?? [1000, 50_000];
    this.tk.sim.after(typeof lat === 'function' ? lat(rq) : this.rng.int(lat[0], lat[1]), () => {
      if (!q.delete(rq)) return;
      const status = this.opts.fail?.(rq) ?? 'ok';
      if (status === 'ok') this.apply(rq, covered);
      this.completed.push({ op: rq.op, sector: rq.sector, sectors: rq.sectors, fua: rq.fua === true, last: false, hwq, id: rq.id, t: this.tk.sim.now });
      this.blk.complete(rq, status);
      this.blk.startStoppedQueues();
    });
    return 'ok';
  }

  commitRqs(): void {}

  private expire(rq: BlkRequest): 'done' {
    this.inflight[rq.hwq].delete(rq);
    this.blk.complete(rq, 'timeout');
    return 'done';
  }

  /** Requests handed to this driver and not completed. */
  get inFlight(): number {
    return this.inflight.reduce((n, q) => n + q.size, 0);
  }

  private apply(rq: BlkRequest, covered: number[]): void {
    const mem = this.tk.kernel.mem;
    switch (rq.op) {
      case 'read': {
        const data = new Uint8Array(rq.sectors * SECTOR);
        for (let i = 0; i < rq.sectors; i++) data.set(this.sectorData(rq.sector + i), i * SECTOR);
        let off = 0;
        for (const e of rq.sg) {
          mem.write(e.addr, data.subarray(off, off + e.len));
          off += e.len;
        }
        break;
      }
      case 'write': {
        const data = new Uint8Array(rq.sectors * SECTOR);
        let off = 0;
        for (const e of rq.sg) {
          data.set(mem.read(e.addr, e.len), off);
          off += e.len;
        }
        for (let i = 0; i < rq.sectors; i++) this.store(rq.sector + i, data.subarray(i * SECTOR, (i + 1) * SECTOR), rq.fua === true);
        break;
      }
      case 'discard':
      case 'write-zeroes':
        for (let i = 0; i < rq.sectors; i++) this.store(rq.sector + i, new Uint8Array(SECTOR), false);
        break;
      case 'flush':
        for (const s of covered) {
          const d = this.cache.get(s);
          if (d !== undefined) this.stable.set(d, s * SECTOR);
          this.cache.delete(s);
        }
        break;
      default:
        break;
    }
  }

  private store(sector: number, data: Uint8Array, fua: boolean): void {
    if (!this.writeCache || fua) {
      this.stable.set(data, sector * SECTOR);
      this.cache.delete(sector);
    } else this.cache.set(sector, Uint8Array.from(data));
  }

  private sectorData(s: number): Uint8Array {
    return this.cache.get(s) ?? this.stable.subarray(s * SECTOR, (s + 1) * SECTOR);
  }

  /** What a reader sees now (cache over stable storage). */
  contents(): Uint8Array {
    const out = Uint8Array.from(this.stable);
    for (const [s, d] of this.cache) out.set(d, s * SECTOR);
    return out;
  }

  /** The power fails: the volatile cache is gone. */
  powerCut(): void {
    this.cache.clear();
  }
}
