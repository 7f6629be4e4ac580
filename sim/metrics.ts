/**
 * Counters derived from the trace as it streams, so a long run keeps numbers without
 * keeping history. Only events inside the measured window (between the `run` phase
 * and the `done` phase) are counted; device setup and drain are left out, as `perf kvm
 * stat` around a fio run would leave out boot.
 */
import { EXIT_REASONS, sinkOf, type DirectHandlers, type ExitHandler, type ExitPurpose, type ExitReason, type IoOp, type IrqPath, type TraceEvent, type TraceSink } from './trace.js';

export interface MetricsSnapshot {
  windowNs: number;
  ios: number;
  ioErrors: number;
  bytes: number;
  latenciesNs: number[];
  exits: {
    total: number;
    byReason: Record<ExitReason, number>;
    byHandler: Record<ExitHandler, number>;
    byPurpose: Partial<Record<ExitPurpose, number>>;
    timeNs: number;
  };
  kicks: number;
  kicksSuppressed: number;
  notifications: number;
  interrupts: number;
  interruptsSuppressed: number;
  irqByPath: Partial<Record<IrqPath, number>>;
  busyNs: Record<string, number>;
  deviceErrors: number;
  /** Guest page cache counts (pages, except `throttles`: writer pauses). */
  pagecache: PageCacheCounts;
  /** Guest block layer counts. */
  block: BlockLayerCounts;
  /** Guest system calls that returned in the window. */
  syscalls: SyscallCounts;
}

/** System calls by name: how many returned, how many with an errno, and the time spent in them. */
export interface SyscallCounts {
  calls: number;
  errors: number;
  /** Virtual time from entry to return, summed. */
  timeNs: number;
  byName: Record<string, { calls: number; errors: number; timeNs: number }>;
}

export function emptySyscallCounts(): SyscallCounts {
  return { calls: 0, errors: 0, timeNs: 0, byName: {} };
}

/**
 * Follow one syscall event in `entered`, which keeps per task when its system call began
 * (a task makes one at a time): an entry is recorded; a return gives the call's time from
 * its entry, or undefined when its entry was not seen.
 */
export function syscallTime(entered: Map<number, number>, t: number, pid: number, phase: 'enter' | 'exit'): number | undefined {
  if (phase === 'enter') {
    entered.set(pid, t);
    return undefined;
  }
  // NaN marks "no call in progress": deleting and re-adding a key each call made the Map rebuild its table.
  const start = entered.get(pid);
  entered.set(pid, NaN);
  return start === undefined || Number.isNaN(start) ? undefined : t - start;
}

/**
 * Count one syscall event (its fields) into `c`; `entered` as for syscallTime. Only returns
 * are counted.
 */
export function countSyscallEvent(c: SyscallCounts, entered: Map<number, number>, t: number, pid: number, name: string, phase: 'enter' | 'exit', ret: number | string | undefined): void {
  const time = syscallTime(entered, t, pid, phase);
  if (phase === 'enter') return;
  const dt = time ?? 0;
  const err = typeof ret === 'string';
  const n = (c.byName[name] ??= { calls: 0, errors: 0, timeNs: 0 });
  c.calls++;
  n.calls++;
  c.timeNs += dt;
  n.timeNs += dt;
  if (err) {
    c.errors++;
    n.errors++;
  }
}

/** The guest block layer's numbers (one device's, or all devices' in Metrics). */
export interface BlockLayerCounts {
  /** Bios submitted (submit_bio). */
  bios: number;
  /** Bios split to the queue limits. */
  splits: number;
  /** Requests made from bios. */
  requests: number;
  /** Merges into requests: in a task's plug or in the I/O scheduler / software queue, at the back or front. */
  merges: { plug: { back: number; front: number }; sched: { back: number; front: number } };
  /** Requests handed to a driver's queue_rq (blktrace D; a re-dispatch after BLK_STS_DEV_RESOURCE counts again). */
  dispatched: number;
  /** Plug flushes. */
  plugFlushes: number;
  /** Flush requests issued by the flush machinery. */
  flushes: number;
  /** Requests that outlived the timeout. */
  timeouts: number;
}

export function emptyBlockLayerCounts(): BlockLayerCounts {
  return { bios: 0, splits: 0, requests: 0, merges: { plug: { back: 0, front: 0 }, sched: { back: 0, front: 0 } }, dispatched: 0, plugFlushes: 0, flushes: 0, timeouts: 0 };
}

/** Count one block-layer event into `c`; false when `e` is not one (shared with guest/blockdev's per-device stats). */
export function countBlockEvent(c: BlockLayerCounts, e: TraceEvent): boolean {
  switch (e.kind) {
    case 'bio':
      c.bios++;
      return true;
    case 'bio-split':
      c.splits++;
      return true;
    case 'rq-alloc':
      c.requests++;
      return true;
    case 'merge':
      c.merges[e.where][e.dir]++;
      return true;
    case 'io-dispatch':
      c.dispatched++;
      return true;
    case 'plug-flush':
      c.plugFlushes++;
      return true;
    case 'flush':
      c.flushes++;
      return true;
    case 'rq-timeout':
      c.timeouts++;
      return true;
    default:
      return false;
  }
}

export interface PageCacheCounts {
  hits: number;
  misses: number;
  readaheadPages: number;
  dirtied: number;
  written: { periodic: number; background: number; sync: number; vmscan: number };
  throttles: number;
  reclaimed: number;
}

export function emptyPageCacheCounts(): PageCacheCounts {
  return { hits: 0, misses: 0, readaheadPages: 0, dirtied: 0, written: { periodic: 0, background: 0, sync: 0, vmscan: 0 }, throttles: 0, reclaimed: 0 };
}

/** Count one page-cache event into `c` (shared with guest/pagecache's own stats). */
export function countPageCacheEvent(c: PageCacheCounts, e: Extract<TraceEvent, { kind: 'pagecache' }>): void {
  switch (e.what) {
    case 'hit':
      c.hits += e.pages;
      break;
    case 'miss':
      c.misses += e.pages;
      break;
    case 'readahead':
      c.readaheadPages += e.pages;
      break;
    case 'dirty':
      c.dirtied += e.pages;
      break;
    case 'writeback':
      if (e.reason === 'periodic' || e.reason === 'background' || e.reason === 'sync' || e.reason === 'vmscan') c.written[e.reason] += e.pages;
      break;
    case 'throttle':
      c.throttles++;
      break;
    case 'reclaim':
      c.reclaimed += e.pages;
      break;
  }
}

export class Metrics {
  private inWindow = false;
  private start = 0;
  private end = 0;
  private m: MetricsSnapshot = Metrics.empty();
  /** Per task, when its current system call began. */
  private readonly syscallStart = new Map<number, number>();

  static empty(): MetricsSnapshot {
    const byReason = Object.fromEntries(EXIT_REASONS.map((r) => [r, 0])) as Record<ExitReason, number>;
    return {
      windowNs: 0,
      ios: 0,
      ioErrors: 0,
      bytes: 0,
      latenciesNs: [],
      exits: { total: 0, byReason, byHandler: { kvm: 0, qemu: 0 }, byPurpose: {}, timeNs: 0 },
      kicks: 0,
      kicksSuppressed: 0,
      notifications: 0,
      interrupts: 0,
      interruptsSuppressed: 0,
      irqByPath: {},
      busyNs: {},
      deviceErrors: 0,
      pagecache: emptyPageCacheCounts(),
      block: emptyBlockLayerCounts(),
      syscalls: emptySyscallCounts(),
    };
  }

  /**
   * The counting of the frequent kinds, with the events' fields as arguments: the sink's
   * handlers for those kinds call these, and a Trace whose only listener for such a kind
   * is this sink calls them directly (`DirectHandlers`).
   */
  private readonly direct = {
    work: (_t: number, ctx: string, durNs: number): void => {
      if (!this.inWindow) return;
      const b = this.m.busyNs;
      b[ctx] = (b[ctx] ?? 0) + durNs;
    },
    'io-submit': (_t: number, _dev: string, _tag: number, _op: IoOp, _sector: number, sectors: number): void => {
      if (this.inWindow) this.m.bytes += sectors * 512;
    },
    kick: (_t: number, _dev: string, _vq: number, notify: boolean): void => {
      if (!this.inWindow) return;
      if (notify) this.m.kicks++;
      else this.m.kicksSuppressed++;
    },
    used: (_t: number, _dev: string, _vq: number, _n: number, interrupt: boolean): void => {
      if (this.inWindow && !interrupt) this.m.interruptsSuppressed++;
    },
    'io-complete': (_t: number, _dev: string, _tag: number, op: IoOp, status: string, latencyNs: number): void => {
      if (!this.inWindow || op === 'get-id') return;
      const m = this.m;
      m.ios++;
      if (status !== 'ok') m.ioErrors++;
      m.latenciesNs.push(latencyNs);
    },
    exit: (_t: number, _vcpu: number, reason: ExitReason, handler: ExitHandler, purpose: ExitPurpose, _us: unknown, _addr: unknown, costNs: number): void => {
      if (!this.inWindow) return;
      const x = this.m.exits;
      x.total++;
      x.byReason[reason]++;
      x.byHandler[handler]++;
      x.byPurpose[purpose] = (x.byPurpose[purpose] ?? 0) + 1;
      x.timeNs += costNs;
    },
    notify: (_t: number, _dev: string, _vq: number, _via: 'ioeventfd' | 'exit'): void => {
      if (this.inWindow) this.m.notifications++;
    },
    irq: (_t: number, _dev: string, _vector: number, path: IrqPath, _vcpu: number, _state: 'running' | 'halted', _posted: boolean): void => {
      if (!this.inWindow) return;
      const m = this.m;
      m.interrupts++;
      m.irqByPath[path] = (m.irqByPath[path] ?? 0) + 1;
    },
    syscall: (t: number, pid: number, name: string, phase: 'enter' | 'exit', ret: number | string | undefined): void => {
      // A call that enters before the window and returns in it is timed from its entry.
      if (this.inWindow) countSyscallEvent(this.m.syscalls, this.syscallStart, t, pid, name, phase, ret);
      else if (phase === 'enter') this.syscallStart.set(pid, t);
    },
  } satisfies DirectHandlers;

  /**
   * One handler per kind counted, so that each sees events of one shape. Outside the
   * measured window only `phase` and syscall entries matter.
   */
  readonly sink: TraceSink = sinkOf({
    work: (e) => this.direct.work(e.t, e.ctx, e.durNs),
    'io-submit': (e) => this.direct['io-submit'](e.t, e.dev, e.tag, e.op, e.sector, e.sectors),
    kick: (e) => this.direct.kick(e.t, e.dev, e.vq, e.notify),
    used: (e) => this.direct.used(e.t, e.dev, e.vq, e.n, e.interrupt),
    'io-complete': (e) => this.direct['io-complete'](e.t, e.dev, e.tag, e.op, e.status, e.latencyNs),
    exit: (e) => this.direct.exit(e.t, e.vcpu, e.reason, e.handler, e.purpose, e.userspaceExit, e.addr, e.costNs),
    notify: (e) => this.direct.notify(e.t, e.dev, e.vq, e.via),
    irq: (e) => this.direct.irq(e.t, e.dev, e.vector, e.path, e.vcpu, e.vcpuState, e.posted),
    'device-error': () => {
      if (this.inWindow) this.m.deviceErrors++;
    },
    'io-dispatch': (e) => this.block(e),
    bio: (e) => this.block(e),
    'bio-split': (e) => this.block(e),
    'rq-alloc': (e) => this.block(e),
    merge: (e) => this.block(e),
    'plug-flush': (e) => this.block(e),
    flush: (e) => this.block(e),
    'rq-timeout': (e) => this.block(e),
    pagecache: (e) => {
      if (this.inWindow) countPageCacheEvent(this.m.pagecache, e);
    },
    syscall: (e) => this.direct.syscall(e.t, e.pid, e.name, e.phase, e.ret),
    phase: (e) => {
      if (e.name === 'run') {
        // A new measured window: counts start again from zero.
        this.m = Metrics.empty();
        this.inWindow = true;
        this.start = e.t;
      } else if (e.name === 'done' && this.inWindow) {
        this.inWindow = false;
        this.end = e.t;
      }
    },
  }, this.direct);

  private block(e: TraceEvent): void {
    if (this.inWindow) countBlockEvent(this.m.block, e);
  }

  /** A copy of the counts of the current (or last) window, unaffected by what runs later. */
  snapshot(): MetricsSnapshot {
    const m = this.m;
    return {
      ...m,
      windowNs: (this.inWindow ? this.start : this.end) - this.start,
      latenciesNs: [...m.latenciesNs],
      exits: { ...m.exits, byReason: { ...m.exits.byReason }, byHandler: { ...m.exits.byHandler }, byPurpose: { ...m.exits.byPurpose } },
      irqByPath: { ...m.irqByPath },
      busyNs: { ...m.busyNs },
      pagecache: { ...m.pagecache, written: { ...m.pagecache.written } },
      block: { ...m.block, merges: { plug: { ...m.block.merges.plug }, sched: { ...m.block.merges.sched } } },
      syscalls: { ...m.syscalls, byName: Object.fromEntries(Object.entries(m.syscalls.byName).map(([k, v]) => [k, { ...v }])) },
    };
  }
}

/** The p-th percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
