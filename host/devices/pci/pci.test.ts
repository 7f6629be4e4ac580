import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { AccessSize } from '../../../hw/cpu.js';
import { PCI_BAR_UNMAPPED } from '../../../hw/pci/config-space.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PCI_STATUS, PCI_STATUS_INTERRUPT, pciConfigAddress } from '../../../hw/pci/constants.js';
import { ExecutionContext } from '../../../sim/context.js';
import { CostModel } from '../../../sim/costs.js';
import { Simulator } from '../../../sim/simulator.js';
import { Recorder, Trace } from '../../../sim/trace.js';
import type { IoRegionOps } from '../../kvm-exits/address-space.js';
import { KvmVm } from '../../kvm-exits/kvm.js';
import { I440fxHost } from './i440fx.js';
import { PciBus, pciDevfn } from './pci-bus.js';
import { PciDevice, type PciVm } from './pci-device.js';

function vm() {
  const sim = new Simulator();
  const trace = new Trace();
  const rec = new Recorder();
  trace.attach(rec.sink);
  const kvm = new KvmVm(sim, trace, new CostModel(), { apicv: false, pvEoi: false, haltPollNs: 0 }, new ExecutionContext(sim, trace, 'main-loop', 'main-loop'), 1);
  return { sim, trace, rec, kvm, vcpu: kvm.vcpus[0] };
}

const region = (name: string): IoRegionOps & { log: string[] } => {
  const log: string[] = [];
  return { name, log, purpose: () => 'other', read: (o) => (log.push(`r${o}`), 0x1234), write: (o, _s, v) => void log.push(`w${o}=${v}`) };
};

const testDev = (name = 'dev') => new PciDevice(name, { vendorId: 0x1234, deviceId: 0x5678, revision: 3, classCode: 0x0180 });

describe('i440FX config mechanism #1', () => {
  it('reads the host bridge at 00:00.0 and all-ones for an empty slot, each access a heavyweight exit', () => {
    const { sim, rec, kvm, vcpu } = vm();
    new I440fxHost(kvm);
    const got: number[] = [];
    vcpu.run('enum', () => {
      vcpu.pioWrite(0xcf8, 4, pciConfigAddress(0, 0, 0, 0));
      got.push(vcpu.pioRead(0xcfc, 4));
      got.push(vcpu.pioRead(0xcfe, 2));
      vcpu.pioWrite(0xcf8, 4, pciConfigAddress(0, 0, 0, 0x08));
      got.push(vcpu.pioRead(0xcfc, 4));
      vcpu.pioWrite(0xcf8, 4, pciConfigAddress(0, 5, 0, 0));
      got.push(vcpu.pioRead(0xcfc, 4));
      got.push(vcpu.pioRead(0xcf8, 4));
    });
    sim.run();
    expect(got).toEqual([0x12378086, 0x1237, 0x06000002, 0xffffffff, pciConfigAddress(0, 5, 0, 0)]);
    const exits = rec.events.filter((e) => e.kind === 'exit');
    expect(exits).toHaveLength(8);
    for (const e of exits) {
      expect(e).toMatchObject({ reason: 'IO_INSTRUCTION', handler: 'qemu', userspaceExit: 'KVM_EXIT_IO', purpose: 'pci' });
    }
  });

  it('ignores CONFIG_DATA with the enable bit clear, and partial writes to CONFIG_ADDRESS', () => {
    const { kvm } = vm();
    const host = new I440fxHost(kvm);
    host.write(0, 4, 0x00000000);
    expect(host.read(4, 4)).toBe(0xffffffff);
    host.write(0, 2, 0x8000);
    expect(host.configReg).toBe(0);
    host.write(0, 4, pciConfigAddress(0, 0, 0, 0x0c));
    host.write(5, 1, 0x40); // latency timer, byte 1 of the dword: read-only in QEMU's wmask
    expect(host.read(4, 4)).toBe(0);
    host.write(0, 4, pciConfigAddress(0, 0, 0, 0x3c));
    host.write(4, 1, 0x0b); // interrupt line
    expect(host.read(4, 1)).toBe(0x0b);
  });

  it('refuses a second function at a taken devfn, as a value', () => {
    const { kvm } = vm();
    const host = new I440fxHost(kvm);
    const r = host.bus.attach(testDev('b'), 0, 0);
    expect(E.isLeft(r) && r.left).toEqual({ _tag: 'PciSlotInUse', slot: 0, fn: 0, by: 'i440FX' });
    expect(E.isLeft(host.bus.attach(testDev('c'), 32, 0))).toBe(true);
  });

  it('hides functions 1..7 of a slot with no function 0', () => {
    const { kvm } = vm();
    const bus = new PciBus(kvm);
    bus.attach(testDev(), 3, 1);
    expect(bus.configRead(pciDevfn(3, 1), 0, 4)).toBe(0xffffffff);
    bus.attach(testDev('f0'), 3, 0);
    expect(bus.configRead(pciDevfn(3, 1), 0, 4)).toBe(0x56781234);
  });
});

describe('BAR mapping into KVM address spaces', () => {
  it('maps a memory BAR when MEMORY decoding is on, moves it, unmaps it', () => {
    const { kvm } = vm();
    const bus = new PciBus(kvm);
    const dev = testDev();
    const ops = region('bar1');
    dev.registerBar(1, 0x1000, { space: 'mem32' }, ops);
    const seen: [number, number][] = [];
    dev.onBarMapped((n, a) => seen.push([n, a]));
    bus.attach(dev, 4);
    const d = pciDevfn(4, 0);
    bus.configWrite(d, 0x14, 0xffffffff, 4);
    expect(bus.configRead(d, 0x14, 4)).toBe(0xfffff000);
    bus.configWrite(d, 0x14, 0xfebf1000, 4);
    expect(kvm.mmio.find(0xfebf1000)).toBeUndefined();
    bus.configWrite(d, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    expect(kvm.mmio.find(0xfebf1abc)?.ops).toBe(ops);
    expect(dev.barAddress(1)).toBe(0xfebf1000);
    bus.configWrite(d, 0x14, 0xfebf3000, 4);
    expect(kvm.mmio.find(0xfebf1abc)).toBeUndefined();
    expect(kvm.mmio.find(0xfebf3004)?.base).toBe(0xfebf3000);
    bus.configWrite(d, PCI_COMMAND, 0, 2);
    expect(kvm.mmio.find(0xfebf3004)).toBeUndefined();
    expect(dev.barAddress(1)).toBe(PCI_BAR_UNMAPPED);
    expect(seen).toEqual([[1, 0xfebf1000], [1, 0xfebf3000], [1, PCI_BAR_UNMAPPED]]);
  });

  it('maps an I/O BAR on the port bus, where a guest IN reaches it', () => {
    const { sim, kvm, vcpu } = vm();
    const host = new I440fxHost(kvm);
    const dev = testDev();
    const ops = region('io');
    dev.registerBar(0, 0x40, { space: 'io' }, ops);
    host.bus.attach(dev, 2);
    const d = pciDevfn(2, 0);
    host.bus.configWrite(d, 0x10, 0xc040, 4);
    host.bus.configWrite(d, PCI_COMMAND, PCI_COMMAND_IO, 2);
    let v = 0;
    vcpu.run('in', () => (v = vcpu.pioRead(0xc044, 2 as AccessSize)));
    sim.run();
    expect(v).toBe(0x1234);
    expect(ops.log).toEqual(['r4']);
  });
});

describe('INTx', () => {
  function intx() {
    const calls: [number, boolean][] = [];
    const fake: PciVm = { mmio: vm().kvm.mmio, pio: vm().kvm.pio, setIrqLine: (g, l) => void calls.push([g, l]) };
    const bus = new PciBus(fake);
    const dev = testDev();
    dev.config.setInterruptPin(1);
    bus.attach(dev, 3);
    bus.configWrite(pciDevfn(3, 0), 0x3c, 11, 1);
    return { calls, dev, bus, d: pciDevfn(3, 0) };
  }

  it('raises and lowers the GSI in PCI_INTERRUPT_LINE only on a change, with STATUS.INTERRUPT', () => {
    const { calls, dev, bus, d } = intx();
    dev.setIrq(true);
    dev.setIrq(true);
    expect(bus.configRead(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT).toBe(PCI_STATUS_INTERRUPT);
    dev.setIrq(false);
    expect(bus.configRead(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT).toBe(0);
    expect(calls).toEqual([[11, true], [11, false]]);
  });

  it('INTX_DISABLE masks the line and lowers an asserted one; clearing it re-raises', () => {
    const { calls, dev, bus, d } = intx();
    dev.setIrq(true);
    bus.configWrite(d, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
    bus.configWrite(d, PCI_COMMAND, 0, 2);
    bus.configWrite(d, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
    dev.setIrq(false);
    dev.setIrq(true);
    expect(calls).toEqual([[11, true], [11, false], [11, true], [11, false]]);
  });
});
