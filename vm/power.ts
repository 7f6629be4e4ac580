/**
 * A machine's power: cutting it, rebooting on the same host storage, and shutting down.
 *
 * `powerCut(m)` — the host loses power. Everything of the guest is gone (its memory, the
 * page cache's dirty pages, requests queued or in flight in the guest and in QEMU), and
 * every drive's block graph drops its volatile data (`BlockGraph.powerCut`: what the
 * host's page cache or a write-back cache held and no flush made durable; requests in
 * flight never complete). What a completed flush or a FUA write made durable stays.
 * The machine is `off`: nothing of it runs again.
 *
 * `reboot(m)` — a fresh guest boots on the SAME host storage: the same BlockBackends and
 * graphs (their images as the cut left them), with new guest memory, a new KVM and new
 * device models, so the file system's journal is replayed at the next mount. Time goes
 * on from where it stopped, on a new simulator (the old one, with whatever it still
 * held, is abandoned); the trace, metrics, recorder, cost model and generator carry
 * over. Rebooting a machine that is still running is QEMU's system_reset: the requests
 * its devices already handed to the drives complete first (bdrv_drain_all) and the host's
 * caches survive, but the guest — its page cache included — is lost.
 *
 * `closeMachine(m)` — the end: the machine is off and its drives are closed (a `file`
 * image gets what the host's cache held, as closing a file does).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockGraph } from '../host/storage/index.js';
import { Simulator } from '../sim/simulator.js';
import type { VmError } from './errors.js';
import { bootMachine, type Machine } from './machine.js';

function graphs(m: Machine): BlockGraph[] {
  return [...new Set([...m.host.storage.drives.values()].map((d) => d.graph))];
}

function stopGuest(m: Machine): void {
  m.guest.os.shutdown();
  m.state = 'off';
}

/** The host loses power (see above). */
export function powerCut(m: Machine): void {
  if (m.state === 'off') return;
  stopGuest(m);
  for (const g of graphs(m)) g.powerCut();
  m.trace.emit({ kind: 'note', t: m.sim.now, where: 'vm', text: 'power cut: guest memory, requests in flight and the host\'s volatile caches are lost' });
}

/** Boot a fresh guest on `m`'s host storage (see above); `m` is off afterwards. */
export function reboot(m: Machine): E.Either<VmError, Machine> {
  if (m.state !== 'off') {
    const backends = [...[...m.host.storage.drives.values()].map((d) => d.blk), ...m.host.storage.sharedBackends.values()];
    const busy = (): boolean => backends.some((b) => b.inFlight > 0);
    m.sim.run({ stop: () => !busy() });
    stopGuest(m);
    // qemu_system_reset: each device's reset handler runs; virtio-blk's gives the drive back the write cache it found at realize.
    for (const d of m.host.devices) d.model.reset();
    m.trace.emit({ kind: 'note', t: m.sim.now, where: 'vm', text: 'system_reset: the guest is lost; requests already at the drives completed' });
  }
  const sim = new Simulator();
  const now = m.sim.now;
  sim.at(now, () => {});
  sim.run();
  const storage = m.host.storage;
  storage.env.sim = sim;
  return bootMachine(m.spec, { sim, trace: m.trace, metrics: m.metrics, recorder: m.recorder, costs: m.costs, rng: m.rng }, storage);
}

/** The machine is off and its drives closed. */
export function closeMachine(m: Machine): void {
  stopGuest(m);
  for (const g of graphs(m)) g.close();
}
