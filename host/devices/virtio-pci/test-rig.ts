/**
 * A test rig for virtio-pci: a KVM VM with one vCPU, the i440FX host bridge, 16 MiB of
 * RAM, and a fake device model behind a `VirtioPciTransport` at slot 4, with its BARs
 * programmed and decoding (BAR 4 at 0xfe000000, BAR 1 at 0xfebf1000) and bus mastering on.
 * `driver` does the Linux virtio_pci_modern probe steps by hand, register by register.
 */
import * as E from 'fp-ts/lib/Either.js';
import { GuestMemory } from '../../../hw/memory.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../../hw/pci/constants.js';
import { VIRTIO_F_VERSION_1, type Features } from '../../../hw/virtio/constants.js';
import * as L from '../../../hw/virtio/pci-layout.js';
import { ExecutionContext } from '../../../sim/context.js';
import { CostModel } from '../../../sim/costs.js';
import { Simulator } from '../../../sim/simulator.js';
import { Recorder, Trace } from '../../../sim/trace.js';
import { KvmVm } from '../../kvm-exits/kvm.js';
import { I440fxHost } from '../pci/i440fx.js';
import { pciDevfn } from '../pci/pci-bus.js';
import { MockSplitQueue } from '../virtio/test-utils.js';
import type { DeviceVirtqueue, VirtioDeviceModel } from '../virtio/types.js';
import { createVirtioPci, virtioPciErrorMessage } from './options.js';

export const BAR4 = 0xfe000000;
export const BAR1 = 0xfebf1000;
export const SLOT = 4;

/** A device model that records what the transport asks of it. */
export class FakeModel implements VirtioDeviceModel {
  readonly name = 'fake';
  readonly deviceId = 2;
  readonly configSize = 8;
  readonly config = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  readonly calls: string[] = [];
  readonly outputs: { t: number; q: number; ctx: string }[] = [];
  features: Features | undefined;
  queues: DeviceVirtqueue[] = [];
  /** Pop, push and notify everything on each kick. */
  autoComplete = true;
  constructor(
    readonly context: ExecutionContext,
    private readonly sim: Simulator,
    private readonly offered: Features,
  ) {}
  hostFeatures(): Features {
    return this.offered;
  }
  numQueues(): number {
    return 2;
  }
  queueMaxSize(): number {
    return 64;
  }
  readConfig(off: number, size: 1 | 2 | 4 | 8): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.config[off + i];
    return v;
  }
  writeConfig(off: number, size: 1 | 2 | 4 | 8, value: number): void {
    this.calls.push(`writeConfig ${off} ${size} ${value}`);
  }
  setFeatures(f: Features): void {
    this.features = f;
    this.calls.push('setFeatures');
  }
  start(queues: DeviceVirtqueue[]): void {
    this.queues = queues;
    this.calls.push('start');
  }
  handleOutput(vq: DeviceVirtqueue): void {
    this.outputs.push({ t: this.sim.now, q: vq.index, ctx: this.context.name });
    if (!this.autoComplete) return;
    let n = 0;
    for (;;) {
      const r = vq.pop();
      if (r.kind !== 'elem') break;
      vq.push(r.elem, 0);
      n++;
    }
    if (n > 0) vq.notify();
  }
  reset(): void {
    this.calls.push('reset');
  }
}

export interface RigOptions {
  vectors?: number;
  ioeventfd?: boolean;
  iothread?: boolean;
  offered?: Features;
}

export function rig(o: RigOptions = {}) {
  const sim = new Simulator();
  const trace = new Trace();
  const rec = new Recorder();
  trace.attach(rec.sink);
  const costs = new CostModel();
  const bql = new ExecutionContext(sim, trace, 'main-loop', 'main-loop');
  const kvm = new KvmVm(sim, trace, costs, { apicv: false, pvEoi: false, haltPollNs: 0 }, bql, 1);
  const host = new I440fxHost(kvm);
  const mem = new GuestMemory(16 << 20);
  const ctx = o.iothread ? new ExecutionContext(sim, trace, 'iothread0', 'iothread') : bql;
  const model = new FakeModel(ctx, sim, o.offered ?? 1n << BigInt(VIRTIO_F_VERSION_1));
  const made = createVirtioPci({ kvm, sim, trace, costs, mem, model, props: { vectors: o.vectors ?? 3, ioeventfd: o.ioeventfd ?? true }, devName: 'vda', bus: host.bus, slot: SLOT });
  if (E.isLeft(made)) throw new Error(virtioPciErrorMessage(made.left));
  const t = made.right;
  const devfn = pciDevfn(SLOT, 0);
  const cfgRead = (off: number, len: number): number => host.bus.configRead(devfn, off, len);
  const cfgWrite = (off: number, val: number, len: number): void => host.bus.configWrite(devfn, off, val, len);
  cfgWrite(0x20, BAR4, 4);
  cfgWrite(0x24, 0, 4);
  if ((o.vectors ?? 3) > 0) cfgWrite(0x14, BAR1, 4);
  cfgWrite(0x3c, 10, 1);
  cfgWrite(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
  /** MMIO without an exit (QEMU's side of the access only). */
  const rd = (addr: number, size: 1 | 2 | 4 = 4): number => {
    const r = kvm.mmio.find(addr);
    return r ? r.ops.read(addr - r.base, size) : 0xffffffff;
  };
  const wr = (addr: number, val: number, size: 1 | 2 | 4 = 4): void => {
    const r = kvm.mmio.find(addr);
    r?.ops.write(addr - r.base, size, val);
  };
  const common = (off: number) => BAR4 + L.QEMU_VIRTIO_PCI_COMMON_OFFSET + off;
  const msiCalls: { addr: number; data: number; path: string }[] = [];
  const signalMsi = kvm.signalMsi.bind(kvm);
  kvm.signalMsi = (addr, data, path, dev) => {
    msiCalls.push({ addr, data, path });
    signalMsi(addr, data, path, dev);
  };
  const irqLines: [number, boolean][] = [];
  const setIrqLine = kvm.setIrqLine.bind(kvm);
  kvm.setIrqLine = (gsi, level) => {
    irqLines.push([gsi, level]);
    setIrqLine(gsi, level);
  };
  const queues = [new MockSplitQueue(mem, { size: 64, base: 0x10000 }), new MockSplitQueue(mem, { size: 64, base: 0x40000 })];

  /** Linux's probe: reset, ACK, DRIVER, features, FEATURES_OK, queues, DRIVER_OK. */
  function driver(accept: Features = 1n << BigInt(VIRTIO_F_VERSION_1), opts: { driverOk?: boolean; msix?: boolean } = {}): void {
    wr(common(L.VIRTIO_PCI_COMMON_STATUS), 0, 1);
    wr(common(L.VIRTIO_PCI_COMMON_STATUS), 1, 1);
    wr(common(L.VIRTIO_PCI_COMMON_STATUS), 3, 1);
    wr(common(L.VIRTIO_PCI_COMMON_GFSELECT), 0);
    wr(common(L.VIRTIO_PCI_COMMON_GF), Number(accept & 0xffffffffn));
    wr(common(L.VIRTIO_PCI_COMMON_GFSELECT), 1);
    wr(common(L.VIRTIO_PCI_COMMON_GF), Number(accept >> 32n));
    wr(common(L.VIRTIO_PCI_COMMON_STATUS), 11, 1);
    if (opts.msix !== false && t.pci.msix) {
      const cap = t.pci.msix.cap;
      cfgWrite(cap + 2, 0x8000, 2);
      for (let v = 0; v < t.pci.msix.nentries; v++) {
        wr(BAR1 + 16 * v, 0xfee00000);
        wr(BAR1 + 16 * v + 8, 0x40 + v);
        wr(BAR1 + 16 * v + 12, 0);
      }
      wr(common(L.VIRTIO_PCI_COMMON_MSIX), 0, 2);
    }
    queues.forEach((q, i) => {
      wr(common(L.VIRTIO_PCI_COMMON_Q_SELECT), i, 2);
      if (t.pci.msix) wr(common(L.VIRTIO_PCI_COMMON_Q_MSIX), i + 1, 2);
      wr(common(L.VIRTIO_PCI_COMMON_Q_DESCLO), q.ring.desc);
      wr(common(L.VIRTIO_PCI_COMMON_Q_AVAILLO), q.ring.avail);
      wr(common(L.VIRTIO_PCI_COMMON_Q_USEDLO), q.ring.used);
      wr(common(L.VIRTIO_PCI_COMMON_Q_ENABLE), 1, 2);
    });
    if (opts.driverOk !== false) wr(common(L.VIRTIO_PCI_COMMON_STATUS), 15, 1);
  }
  const status = (): number => rd(common(L.VIRTIO_PCI_COMMON_STATUS), 1);
  const doorbell = (q: number): number => BAR4 + L.QEMU_VIRTIO_PCI_NOTIFY_OFFSET + 4 * q;
  return { sim, trace, rec, costs, kvm, host, mem, model, t, ctx, cfgRead, cfgWrite, rd, wr, common, driver, status, doorbell, queues, msiCalls, irqLines, vcpu: kvm.vcpus[0] };
}
