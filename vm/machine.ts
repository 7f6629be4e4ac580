/**
 * A whole VM from a VmSpec: the simulation services (clock, trace, metrics, cost model,
 * seeded generator), guest memory, the host (KVM, QEMU, storage) and the booted guest.
 * `vm/` is the one place that holds both the guest and the host.
 */
import * as E from 'fp-ts/lib/Either.js';
import { GuestMemory } from '../hw/memory.js';
import { CostModel } from '../sim/costs.js';
import { Metrics } from '../sim/metrics.js';
import { Rng } from '../sim/rng.js';
import { Simulator } from '../sim/simulator.js';
import { Recorder, Trace } from '../sim/trace.js';
import type { VmError } from './errors.js';
import { bootGuest, type Guest } from './guest-boot.js';
import { buildHost, type Host } from './host.js';
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
}

/** Build the host, boot the guest (running the simulation until boot is done). */
export function startMachine(spec: VmSpec, opts: MachineOptions = {}): E.Either<VmError, Machine> {
  const sim = new Simulator();
  const trace = new Trace();
  const metrics = new Metrics();
  trace.attach(metrics.sink);
  let recorder: Recorder | undefined;
  if (opts.record) {
    recorder = new Recorder();
    trace.attach(recorder.sink);
  }
  const costs = opts.costs ?? new CostModel();
  const rng = new Rng(opts.seed ?? 1);
  const mem = new GuestMemory(spec.memBytes);
  trace.emit({ kind: 'phase', t: 0, name: 'setup' });
  const host = buildHost(spec, sim, trace, costs, mem);
  if (E.isLeft(host)) return host;
  let booted: Guest | { error: string; dev: string } | undefined;
  bootGuest(sim, trace, costs, mem, host.right.kvm.vcpus, (r) => (booted = r));
  // Boot, then let everything it set in motion settle (the guest idles, queues drain).
  sim.run();
  if (!booted) return E.left({ _tag: 'GuestProbe', dev: 'boot', message: 'the guest never finished booting' });
  if ('error' in booted) return E.left({ _tag: 'GuestProbe', dev: booted.dev, message: booted.error });
  return E.right({ spec, sim, trace, metrics, recorder, costs, rng, mem, host: host.right, guest: booted });
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
