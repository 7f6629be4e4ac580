/**
 * Typed trace events: the record of what the simulation did. Reports, metrics and
 * teaching views are built from these and nothing else; no count is written down
 * anywhere else.
 *
 * Each event carries `t` (virtual ns, the local time when it happened) and a `kind`.
 * Events are delivered synchronously to the sinks attached to the `Trace`; a run that
 * wants the whole record attaches a `Recorder`, a run that only wants numbers attaches
 * a `Metrics` and keeps no history.
 */

/** VM-exit reasons, named after the kernel's (arch/x86/include/uapi/asm/vmx.h). */
export type ExitReason =
  | 'EXTERNAL_INTERRUPT'
  | 'HLT'
  | 'IO_INSTRUCTION'
  | 'MSR_WRITE'
  | 'APIC_ACCESS'
  | 'EOI_INDUCED'
  | 'EPT_VIOLATION'
  | 'EPT_MISCONFIG';

export const EXIT_REASONS: readonly ExitReason[] = [
  'EXTERNAL_INTERRUPT',
  'HLT',
  'IO_INSTRUCTION',
  'MSR_WRITE',
  'APIC_ACCESS',
  'EOI_INDUCED',
  'EPT_VIOLATION',
  'EPT_MISCONFIG',
];

/** Who finished handling an exit: KVM in the kernel (lightweight) or QEMU in userspace (heavyweight). */
export type ExitHandler = 'kvm' | 'qemu';

/** What the guest was doing when it exited, for per-purpose breakdowns. */
export type ExitPurpose = 'notify' | 'isr' | 'eoi' | 'idle' | 'irq' | 'ipi' | 'config' | 'msix' | 'pci' | 'other';

/** How an interrupt reached KVM. */
export type IrqPath = 'irqfd' | 'KVM_SIGNAL_MSI' | 'KVM_IRQ_LINE' | 'IPI';

export type TraceEvent =
  | { kind: 'phase'; t: number; name: 'setup' | 'run' | 'drain' | 'done' }
  /** A VM exit and how it was handled. `userspaceExit` is KVM_EXIT_IO / KVM_EXIT_MMIO when it went to QEMU. */
  | {
      kind: 'exit';
      t: number;
      vcpu: number;
      reason: ExitReason;
      handler: ExitHandler;
      purpose: ExitPurpose;
      userspaceExit?: 'KVM_EXIT_IO' | 'KVM_EXIT_MMIO';
      addr?: number;
      costNs: number;
    }
  /** The guest driver decided whether to notify the device after publishing buffers. */
  | { kind: 'kick'; t: number; dev: string; vq: number; notify: boolean }
  /** A notification reached the device model (via ioeventfd or a userspace exit). */
  | { kind: 'notify'; t: number; dev: string; vq: number; via: 'ioeventfd' | 'exit' }
  /** The device decided whether to interrupt the driver after pushing used buffers. */
  | { kind: 'used'; t: number; dev: string; vq: number; n: number; interrupt: boolean }
  /** An interrupt was delivered to a vCPU. */
  | {
      kind: 'irq';
      t: number;
      dev: string;
      vector: number;
      path: IrqPath;
      vcpu: number;
      vcpuState: 'running' | 'halted';
      posted: boolean;
    }
  /** Work charged to an execution context, [t, t + durNs). */
  | { kind: 'work'; t: number; ctx: string; durNs: number; what: string }
  /** A request entered the guest's block layer / reached the driver / completed. */
  | { kind: 'io-submit'; t: number; dev: string; tag: number; op: IoOp; sector: number; sectors: number }
  | { kind: 'io-dispatch'; t: number; dev: string; tag: number; hwq: number; last: boolean }
  | { kind: 'io-complete'; t: number; dev: string; tag: number; op: IoOp; status: string; latencyNs: number }
  /** The device parsed a request from the ring. */
  | { kind: 'device-request'; t: number; dev: string; vq: number; head: number; type: string; sector: number; bytes: number }
  /** The device completed a request with a status. */
  | { kind: 'device-complete'; t: number; dev: string; vq: number; head: number; status: string }
  /** The device found the ring broken and set DEVICE_NEEDS_RESET. */
  | { kind: 'device-error'; t: number; dev: string; vq: number; message: string }
  /** A block-layer node did I/O. */
  | { kind: 'block'; t: number; node: string; op: 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes'; offset: number; bytes: number; latencyNs: number; ok: boolean }
  /**
   * Guest page cache (guest/pagecache): `pages` pages from `index` of `mapping` were hit,
   * missed, read ahead (`reason` sync/async), newly dirtied, submitted for writeback
   * (`reason` periodic/background/sync/vmscan), or reclaimed (`reason` vmscan/drop). For
   * `throttle`, a writer paused in balance_dirty_pages at page `index`, `pages` dirty +
   * writeback pages above the dirty limit.
   */
  | { kind: 'pagecache'; t: number; mapping: string; what: PageCacheWhat; index: number; pages: number; reason?: PageCacheReason }
  /**
   * Guest block layer (guest/blockdev). Requests are named by `tag`, the id io-submit,
   * io-dispatch and io-complete carry.
   * - bio: a bio entered device `dev` (submit_bio) from task `task`; `flags` as "PREFLUSH|FUA".
   * - bio-split: bio `bio` was split to the queue limits into `parts` parts.
   * - rq-alloc: request `tag` was made from a bio (blk_mq_get_new_requests), on CPU `cpu`'s software queue.
   * - merge: a bio (`what` bio) or a whole request (`what` rq) of `sectors` sectors joined request
   *   `tag` at its back or front, in a task's plug or in the I/O scheduler / software queue.
   * - plug-flush: task `task`'s plug handed `requests` requests to `dev`, and why.
   * - sched: the I/O scheduler `sched` took (insert) or gave out (dispatch) request `tag`.
   * - flush: the flush machinery issued flush request `tag` on hardware queue `hwq` for `waiting` requests.
   * - rq-timeout: request `tag` outlived the queue's timeout; what the driver's handler answered.
   */
  | { kind: 'bio'; t: number; dev: string; bio: number; task: number; op: IoOp; sector: number; sectors: number; flags: string }
  | { kind: 'bio-split'; t: number; dev: string; bio: number; parts: number }
  | { kind: 'rq-alloc'; t: number; dev: string; tag: number; op: IoOp; sector: number; sectors: number; cpu: number }
  | { kind: 'merge'; t: number; dev: string; tag: number; where: 'plug' | 'sched'; dir: 'back' | 'front'; what: 'bio' | 'rq'; sectors: number }
  | { kind: 'plug-flush'; t: number; dev: string; task: number; requests: number; reason: PlugFlushReason }
  | { kind: 'sched'; t: number; dev: string; sched: string; tag: number; action: 'insert' | 'dispatch' }
  | { kind: 'flush'; t: number; dev: string; tag: number; hwq: number; waiting: number }
  | { kind: 'rq-timeout'; t: number; dev: string; tag: number; action: 'done' | 'reset-timer' }
  /**
   * A system call of guest task `pid` (guest/vfs): at entry (`phase` enter, its arguments as
   * text in `args`) and at return (`phase` exit, `ret` the result: a byte count, fd or
   * offset, 0 for success without a value, or the errno's name).
   */
  | { kind: 'syscall'; t: number; pid: number; name: string; phase: 'enter' | 'exit'; args?: string; ret?: number | string }
  /**
   * QMP's BLOCK_IO_ERROR: device `dev`'s request on drive `node` failed with `reason` (an
   * errno's name) and its rerror/werror policy chose `action`.
   */
  | { kind: 'block-io-error'; t: number; dev: string; node: string; operation: 'read' | 'write'; action: 'report' | 'ignore' | 'stop'; nospace: boolean; reason: string }
  /** The VM's run state changed (QMP's STOP and RESUME): `io-error` is a stop an rerror/werror policy asked for. */
  | { kind: 'runstate'; t: number; state: RunState }
  /** Free-form annotation for teaching views. */
  | { kind: 'note'; t: number; where: string; text: string };

/** QEMU's RunState values iopath models (qapi/run-state.json). */
export type RunState = 'running' | 'paused' | 'io-error' | 'shutdown';

export type IoOp = 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes' | 'get-id';

/** Why a plug was flushed: it was full (`count`), its last request was big (`size`), blk_finish_plug, the task slept (`schedule`), or waited for a request (`wait`). */
export type PlugFlushReason = 'count' | 'size' | 'finish' | 'schedule' | 'wait';

/** What happened to page-cache pages. */
export type PageCacheWhat = 'hit' | 'miss' | 'readahead' | 'dirty' | 'writeback' | 'reclaim' | 'throttle';

/** Why: readahead `sync` (on a miss) / `async` (at the marker); writeback by wb_reason; reclaim by `vmscan` or `drop` (drop_caches). */
export type PageCacheReason = 'sync' | 'async' | 'periodic' | 'background' | 'vmscan' | 'drop';

export type TraceKind = TraceEvent['kind'];

/** Every kind, once (checked against the union: a kind added to TraceEvent must be added here). */
const ALL_KINDS = {
  phase: true,
  exit: true,
  kick: true,
  notify: true,
  used: true,
  irq: true,
  work: true,
  'io-submit': true,
  'io-dispatch': true,
  'io-complete': true,
  'device-request': true,
  'device-complete': true,
  'device-error': true,
  block: true,
  pagecache: true,
  bio: true,
  'bio-split': true,
  'rq-alloc': true,
  merge: true,
  'plug-flush': true,
  sched: true,
  flush: true,
  'rq-timeout': true,
  syscall: true,
  'block-io-error': true,
  runstate: true,
  note: true,
} as const satisfies Record<TraceKind, true>;

export const TRACE_KINDS = Object.keys(ALL_KINDS) as TraceKind[];

/** Per kind, a function that takes events of that kind only. */
export type TraceHandlers = { readonly [K in TraceKind]?: (e: Extract<TraceEvent, { kind: K }>) => void };

/**
 * A listener. One that only looks at some kinds of events says which in `kinds` (or gives
 * one handler per kind in `handlers`): attached to a `Trace`, it is handed events of those
 * kinds only, and an event of a kind no sink listens for may be left unbuilt (see
 * `Trace.wants`). A sink without either listens for everything.
 */
export type TraceSink = ((e: TraceEvent) => void) & {
  readonly kinds?: readonly TraceKind[];
  readonly handlers?: TraceHandlers;
  /** Handlers of some frequent kinds taking the event's fields as arguments: see `DirectHandlers`. */
  readonly direct?: DirectHandlers;
};

type ExitArgs = (
  t: number,
  vcpu: number,
  reason: ExitReason,
  handler: ExitHandler,
  purpose: ExitPurpose,
  userspaceExit: 'KVM_EXIT_IO' | 'KVM_EXIT_MMIO' | undefined,
  addr: number | undefined,
  costNs: number,
) => void;

/**
 * The most frequent kinds of a run (several per I/O), with the event's fields as arguments
 * in declaration order. When the only sink listening for such a kind has one of these,
 * the kind's `Trace.emit…` method calls it and builds no event; it must do exactly what
 * the sink does with the event. Every other combination of sinks gets the event itself.
 */
export interface DirectHandlers {
  readonly work?: (t: number, ctx: string, durNs: number, what: string) => void;
  readonly kick?: (t: number, dev: string, vq: number, notify: boolean) => void;
  readonly used?: (t: number, dev: string, vq: number, n: number, interrupt: boolean) => void;
  readonly 'io-submit'?: (t: number, dev: string, tag: number, op: IoOp, sector: number, sectors: number) => void;
  readonly 'io-complete'?: (t: number, dev: string, tag: number, op: IoOp, status: string, latencyNs: number) => void;
  readonly exit?: ExitArgs;
  readonly notify?: (t: number, dev: string, vq: number, via: 'ioeventfd' | 'exit') => void;
  readonly irq?: (t: number, dev: string, vector: number, path: IrqPath, vcpu: number, vcpuState: 'running' | 'halted', posted: boolean) => void;
  /** `syscall` without `args`. Unlike the kinds above, when every listener has one each is called in turn. */
  readonly syscall?: (t: number, pid: number, name: string, phase: 'enter' | 'exit', ret: number | string | undefined) => void;
}

/** A system call's arguments as the `syscall` event's text, made only when an event is built. */
export interface SyscallArgs {
  args(): string;
}

/** `fn` as a sink that listens only for `kinds`. */
export function sinkFor(kinds: readonly TraceKind[], fn: (e: TraceEvent) => void): TraceSink {
  return Object.assign(fn, { kinds });
}

/**
 * A sink made of one handler per kind it listens for. A `Trace` calls each handler for its
 * own kind only (so each sees events of one shape); called directly, the sink hands an event
 * to its kind's handler and ignores other kinds.
 */
export function sinkOf(handlers: TraceHandlers, direct?: DirectHandlers): TraceSink {
  const table = handlers as Partial<Record<TraceKind, (e: TraceEvent) => void>>;
  const fn = (e: TraceEvent): void => table[e.kind]?.(e);
  return Object.assign(fn, { kinds: Object.keys(handlers) as TraceKind[], handlers, direct });
}

type Listener = (e: TraceEvent) => void;

function perKind<T>(make: () => T): Record<TraceKind, T> {
  const w = {} as Record<TraceKind, T>;
  for (const k of TRACE_KINDS) w[k] = make();
  return w;
}

/** The event bus of one run. */
export class Trace {
  private sinks: TraceSink[] = [];
  private listened = false;
  /** Per kind, who is handed events of that kind, in the order the sinks were attached. */
  private listeners: Record<TraceKind, Listener[]> = perKind((): Listener[] => []);
  /**
   * Per kind, whether some sink listens for it. An emitter whose event costs something to
   * build, and that no report needs when nobody listens, checks `wants.<kind>` instead
   * of `active`.
   */
  readonly wants: Readonly<Record<TraceKind, boolean>> = perKind(() => false);
  /** Per direct kind, the sole listener's direct handler, if it has one. */
  private direct: DirectHandlers = directTable(undefined);
  /** The `syscall` listeners' direct handlers, when every listener has one (none listening: an empty list). */
  private syscallDirect: NonNullable<DirectHandlers['syscall']>[] | undefined = [];

  /** True when someone listens; callers may skip building an event when false. */
  get active(): boolean {
    return this.listened;
  }

  attach(sink: TraceSink): () => void {
    this.sinks.push(sink);
    this.update();
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
      this.update();
    };
  }

  emit(e: TraceEvent): void {
    const l = this.listeners[e.kind];
    for (let i = 0; i < l.length; i++) l[i](e);
  }

  /* emit({ kind, ...fields }), without building the event when its sole listener takes the fields (see DirectHandlers). */

  emitWork(t: number, ctx: string, durNs: number, what: string): void {
    const d = this.direct.work;
    if (d !== undefined) d(t, ctx, durNs, what);
    else this.emit({ kind: 'work', t, ctx, durNs, what });
  }

  emitKick(t: number, dev: string, vq: number, notify: boolean): void {
    const d = this.direct.kick;
    if (d !== undefined) d(t, dev, vq, notify);
    else this.emit({ kind: 'kick', t, dev, vq, notify });
  }

  emitUsed(t: number, dev: string, vq: number, n: number, interrupt: boolean): void {
    const d = this.direct.used;
    if (d !== undefined) d(t, dev, vq, n, interrupt);
    else this.emit({ kind: 'used', t, dev, vq, n, interrupt });
  }

  emitIoSubmit(t: number, dev: string, tag: number, op: IoOp, sector: number, sectors: number): void {
    const d = this.direct['io-submit'];
    if (d !== undefined) d(t, dev, tag, op, sector, sectors);
    else this.emit({ kind: 'io-submit', t, dev, tag, op, sector, sectors });
  }

  emitIoComplete(t: number, dev: string, tag: number, op: IoOp, status: string, latencyNs: number): void {
    const d = this.direct['io-complete'];
    if (d !== undefined) d(t, dev, tag, op, status, latencyNs);
    else this.emit({ kind: 'io-complete', t, dev, tag, op, status, latencyNs });
  }

  /** `userspaceExit` and `addr` are always keys of the event built, undefined or not. */
  emitExit(t: number, vcpu: number, reason: ExitReason, handler: ExitHandler, purpose: ExitPurpose, userspaceExit: 'KVM_EXIT_IO' | 'KVM_EXIT_MMIO' | undefined, addr: number | undefined, costNs: number): void {
    const d = this.direct.exit;
    if (d !== undefined) d(t, vcpu, reason, handler, purpose, userspaceExit, addr, costNs);
    else this.emit({ kind: 'exit', t, vcpu, reason, handler, purpose, userspaceExit, addr, costNs });
  }

  emitNotify(t: number, dev: string, vq: number, via: 'ioeventfd' | 'exit'): void {
    const d = this.direct.notify;
    if (d !== undefined) d(t, dev, vq, via);
    else this.emit({ kind: 'notify', t, dev, vq, via });
  }

  emitIrq(t: number, dev: string, vector: number, path: IrqPath, vcpu: number, vcpuState: 'running' | 'halted', posted: boolean): void {
    const d = this.direct.irq;
    if (d !== undefined) d(t, dev, vector, path, vcpu, vcpuState, posted);
    else this.emit({ kind: 'irq', t, dev, vector, path, vcpu, vcpuState, posted });
  }

  /** A system call's `enter` event (`args` asked only if an event is built) or `exit` event (`ret`). */
  emitSyscall(t: number, pid: number, name: string, phase: 'enter' | 'exit', args: SyscallArgs | undefined, ret: number | string | undefined): void {
    const d = this.syscallDirect;
    if (d !== undefined) {
      for (let i = 0; i < d.length; i++) d[i](t, pid, name, phase, ret);
    } else if (phase === 'enter') this.emit({ kind: 'syscall', t, pid, name, phase, args: args?.args() });
    else this.emit({ kind: 'syscall', t, pid, name, phase, ret });
  }

  /** Rebuild the per-kind lists (new arrays: an emit in progress keeps the lists it started with). */
  private update(): void {
    this.listened = this.sinks.length > 0;
    const listening = perKind((): TraceSink[] => []);
    const listeners = perKind((): Listener[] => []);
    const w = this.wants as Record<TraceKind, boolean>;
    for (const k of TRACE_KINDS) {
      for (const s of this.sinks) {
        const h = s.handlers?.[k] as Listener | undefined;
        if (h === undefined && (s.handlers !== undefined || (s.kinds !== undefined && !s.kinds.includes(k)))) continue;
        listening[k].push(s);
        listeners[k].push(h ?? s);
      }
      w[k] = listeners[k].length > 0;
    }
    this.listeners = listeners;
    this.direct = directTable(listening);
    const sys = listening.syscall.map((s) => s.direct?.syscall);
    this.syscallDirect = sys.every((h) => h !== undefined) ? (sys as NonNullable<DirectHandlers['syscall']>[]) : undefined;
  }
}

/** Per direct kind, the direct handler of its sole listener (every key present, undefined or not, so the table has one shape). */
function directTable(listening: Record<TraceKind, readonly TraceSink[]> | undefined): DirectHandlers {
  const sole = <K extends keyof DirectHandlers>(k: K): DirectHandlers[K] => (listening !== undefined && listening[k].length === 1 ? listening[k][0].direct?.[k] : undefined);
  return {
    work: sole('work'),
    kick: sole('kick'),
    used: sole('used'),
    'io-submit': sole('io-submit'),
    'io-complete': sole('io-complete'),
    exit: sole('exit'),
    notify: sole('notify'),
    irq: sole('irq'),
  };
}

/** Keeps every event, in order. */
export class Recorder {
  readonly events: TraceEvent[] = [];
  readonly sink: TraceSink = (e) => {
    this.events.push(e);
  };
}
