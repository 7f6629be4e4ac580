/**
 * Test support: one logical unit reached over several paths, without QEMU — a test
 * kernel with one fake virtio-scsi HBA per path (../virtio-drivers/virtio-scsi/testing.ts),
 * every HBA in front of the same FakeScsiTarget, sd bound to all of them (sda, sdb…),
 * and multipathd over sd's disks.
 *
 * Each HBA reaches the target through a `PathLink` that can be cut: a cut link answers
 * every command with VIRTIO_SCSI_S_TRANSPORT_FAILURE, including commands the target
 * already executed whose answer was still on its way back (a write that landed but whose
 * acknowledgement was lost — the case failover must not turn into a lost write).
 */
import { VIRTIO_SCSI_S_TRANSPORT_FAILURE } from '../../hw/virtio/scsi.js';
import type { Simulator } from '../../sim/simulator.js';
import { readBio, writeBio } from '../blockdev/bio.js';
import type { BlkStatus } from '../blockdev/request.js';
import { testKernel, type TestKernel } from '../blockdev/testing.js';
import { SdDriver } from '../scsi/sd.js';
import { FakeScsiTarget, type FakeLun, type FakeLunOptions, type ScsiResponder, type TargetReply, type TargetRequest } from '../scsi/testing.js';
import { VirtioScsiDriver } from '../virtio-drivers/virtio-scsi/driver.js';
import { FakeVirtioScsiDevice } from '../virtio-drivers/virtio-scsi/testing.js';
import type { MultipathDevice } from './multipath.js';
import { Multipathd, type MultipathdOptions } from './multipathd.js';

/** A link between an HBA and the target: up, or cut. */
export class PathLink implements ScsiResponder {
  up = true;
  /** Commands answered with a transport failure. */
  failed = 0;
  private epoch = 0;

  constructor(
    private readonly sim: Simulator,
    readonly target: FakeScsiTarget,
    /** Time an answer takes back over the link. */
    readonly returnNs = 10_000,
  ) {}

  cut(): void {
    this.up = false;
    this.epoch++;
  }

  restore(): void {
    this.up = true;
  }

  hasTarget(target: number): boolean {
    return this.target.hasTarget(target);
  }

  command(r: TargetRequest, reply: (x: TargetReply) => void): void {
    const lost = (): void => {
      this.failed++;
      reply({ response: VIRTIO_SCSI_S_TRANSPORT_FAILURE, status: 0 });
    };
    if (!this.up) return lost();
    const epoch = this.epoch;
    this.target.command(r, (x) => this.sim.after(this.returnNs, () => (this.up && this.epoch === epoch ? reply(x) : lost())));
  }
}

export interface MpathRig {
  tk: TestKernel;
  target: FakeScsiTarget;
  lun: FakeLun;
  links: PathLink[];
  drivers: VirtioScsiDriver[];
  sd: SdDriver;
  mpd: Multipathd;
  map: MultipathDevice;
}

export interface MpathRigOptions extends MultipathdOptions {
  paths?: number;
  cpus?: number;
  lun?: FakeLunOptions;
  /** Device latency per request, ns. */
  latencyNs?: number;
}

/** Boot `paths` HBAs to LUN 0:0, bind sd, start multipathd (not its checker loop). */
export function mpathRig(o: MpathRigOptions = {}): MpathRig {
  const tk = testKernel(o.cpus ?? 2);
  const target = new FakeScsiTarget();
  const lun = target.addLun(0, 0, { blocks: 4096, ...o.lun });
  const n = o.paths ?? 2;
  const links = Array.from({ length: n }, () => new PathLink(tk.sim, target));
  const sd = new SdDriver(tk.kernel);
  const drivers: VirtioScsiDriver[] = [];
  let scanned = 0;
  // Probe every HBA, then scan them one after the other, so that link i leads to the i-th disk (sda, sdb…).
  tk.kernel.cpus[0].schedule('boot', () => {
    for (const [i, link] of links.entries()) {
      const dev = new FakeVirtioScsiDevice(tk.kernel, link, { latencyNs: o.latencyNs ?? 20_000 });
      const d = VirtioScsiDriver.probe(tk.kernel, dev, i);
      if ('_tag' in d) throw new Error(`probe: ${d._tag}`);
      drivers.push(d);
      sd.attach(d.host);
    }
    const next = (): void => {
      if (scanned < n) drivers[scanned].scan(() => (scanned++, next()));
    };
    next();
  });
  tk.sim.run({ stop: () => scanned === n, until: 100e9 });
  if (scanned !== n) throw new Error('scan did not finish');
  const mpd = new Multipathd(tk.kernel, o);
  mpd.attachSd(sd);
  const map = [...mpd.maps.values()][0];
  if (map === undefined) throw new Error(`no map over ${[...sd.disks.keys()].join(', ')}`);
  return { tk, target, lun, links, drivers, sd, mpd, map };
}

/** One bio on the map from task 0, run until it completes (or `limitNs` passes). */
export function mapBio(r: MpathRig, op: 'read' | 'write', sector: number, data: Uint8Array, limitNs = 100e9): { status: BlkStatus | 'pending'; data: Uint8Array } {
  const { kernel, sim, tasks } = r.tk;
  const buf = kernel.alloc.alloc(data.length, 4096);
  if (op === 'write') kernel.mem.write(buf, data);
  let st: BlkStatus | undefined;
  const sg = [{ addr: buf, len: data.length }];
  tasks[0].run('io', () => r.map.submitBioCb(tasks[0], op === 'write' ? writeBio(sector, sg) : readBio(sector, sg), (s) => (st = s)));
  sim.run({ stop: () => st !== undefined, until: sim.now + limitNs });
  const out = kernel.mem.read(buf, data.length);
  kernel.alloc.free(buf, data.length, 4096);
  return { status: st ?? 'pending', data: out };
}
