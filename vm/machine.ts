/**
 * A whole VM from a VmSpec: the simulation services (clock, trace, metrics, cost model,
 * seeded generator), guest memory, the host (KVM, QEMU, storage) and the booted guest.
 * `vm/` is the one place that holds both the guest and the host.
 */
import { freemem } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import { GuestMemory } from '../hw/memory.js';
import { CostModel } from '../sim/costs.js';
import { Metrics } from '../sim/metrics.js';
import { Rng } from '../sim/rng.js';
import { Simulator } from '../sim/simulator.js';
import { Recorder, Trace } from '../sim/trace.js';
import type { VmError } from './errors.js';
import { bootGuest, type Guest } from './guest-boot.js';
import { buildHost, type Host, type HostStorage } from './host.js';
import { attachRunState, type StoppedState } from './runstate.js';
import type { VmSpec } from './spec.js';

export interface MachineOptions {
  seed?: number;
  costs?: CostModel;
  /** Keep every trace event (for trace views and tests); off for long runs. */
  record?: boolean;
}

export interface Machine {
  spec: VmSpec;
  sim: Simulator;
  trace: Trace;
  metrics: Metrics;
  recorder?: Recorder;
  costs: CostModel;
  rng: Rng;
  mem: GuestMemory;
  host: Host;
  guest: Guest;
  /**
   * `paused` (QMP stop) and `io-error` (a drive's rerror/werror policy) are stopped states
   * that `cont` ends (vm/runstate.ts); `off` after a power cut or a reboot (vm/power.ts):
   * nothing of this machine runs again.
   */
  state: 'running' | StoppedState | 'off';
}

/** What a machine's life runs on, kept across a reboot. */
export interface MachineServices {
  sim: Simulator;
  trace: Trace;
  metrics: Metrics;
  recorder?: Recorder;
  costs: CostModel;
  rng: Rng;
}

/** Build the host, boot the guest (running the simulation until boot is done). */
export function startMachine(spec: VmSpec, opts: MachineOptions = {}): E.Either<VmError, Machine> {
  const trace = new Trace();
  const metrics = new Metrics();
  trace.attach(metrics.sink);
  let recorder: Recorder | undefined;
  if (opts.record) {
    recorder = new Recorder();
    trace.attach(recorder.sink);
  }
  return bootMachine(spec, { sim: new Simulator(), trace, metrics, recorder, costs: opts.costs ?? new CostModel(), rng: new Rng(opts.seed ?? 1) });
}

/** Boot a machine on `svc`: fresh guest memory, host and guest, over `storage` if given (a reboot) or the spec's drives. */
export function bootMachine(spec: VmSpec, svc: MachineServices, storage?: HostStorage): E.Either<VmError, Machine> {
  const { sim, trace, costs } = svc;
  const mem = new GuestMemory(spec.memBytes);
  if (spec.memPrealloc) {
    const free = freemem();
    if (spec.memBytes > free) return E.left({ _tag: 'Prealloc', bytes: spec.memBytes, freeBytes: free });
    mem.preallocate();
  }
  trace.emit({ kind: 'phase', t: sim.now, name: 'setup' });
  const host = buildHost(spec, sim, trace, costs, mem, storage);
  if (E.isLeft(host)) return host;
  let booted: Guest | { error: string; dev: string } | undefined;
  bootGuest(sim, trace, costs, mem, host.right.kvm.vcpus, (r) => (booted = r));
  // Boot, then let everything it set in motion settle (the guest idles, queues drain).
  sim.run();
  if (!booted) return E.left({ _tag: 'GuestProbe', dev: 'boot', message: 'the guest never finished booting' });
  if ('error' in booted) return E.left({ _tag: 'GuestProbe', dev: booted.dev, message: booted.error });
  const m: Machine = { spec, ...svc, mem, host: host.right, guest: booted, state: 'running' };
  attachRunState(m);
  return E.right(m);
}

/**
 * The first instant at which nothing in the machine is busy: every context's work done.
 * (Work runs ahead of the event clock in local time, so the clock alone does not say.)
 */
export function quiescentTime(m: Machine): number {
  let t = m.sim.now;
  for (const v of m.host.kvm.vcpus) t = Math.max(t, v.ctx.freeAt);
  t = Math.max(t, m.host.mainLoop.freeAt);
  for (const c of m.host.iothreads.values()) t = Math.max(t, c.freeAt);
  return t;
}
