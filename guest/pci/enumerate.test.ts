/**
 * enumeratePciBus: BAR sizing (all-ones, read back the mask) and placement aligned in
 * the windows, 64-bit BARs over two slots, decoding enabled, capability lists walked,
 * INTx lines assigned. First over config spaces behind a fake 0xCF8/0xCFC port, then
 * over a real host (KVM + i440FX + virtio-blk-pci) built from a QEMU command line.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { AccessSize, VcpuPort } from '../../hw/cpu.js';
import { GuestMemory } from '../../hw/memory.js';
import { PciConfigSpace } from '../../hw/pci/config-space.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_INTERRUPT_LINE } from '../../hw/pci/constants.js';
import { CostModel } from '../../sim/costs.js';
import { Simulator } from '../../sim/simulator.js';
import { Recorder, Trace } from '../../sim/trace.js';
import { parseQemuArgs } from '../../vm/cmdline/index.js';
import { buildHost } from '../../vm/host.js';
import { PciConfigAccess } from './config-access.js';
import { enumeratePciBus, type PciFunction } from './enumerate.js';

const WIN = { mmioBase: 0xc0000000, ioBase: 0xc000 };

/** Configuration mechanism #1 over a table of config spaces (bus 0, function 0 only). */
class ConfigPort implements VcpuPort {
  readonly index = 0;
  private addr = 0;
  accesses = 0;
  constructor(readonly slots: Map<number, PciConfigSpace>) {}
  private target(): { cs: PciConfigSpace | undefined; reg: number } {
    const slot = (this.addr >>> 11) & 0x1f;
    const fn = (this.addr >>> 8) & 7;
    return { cs: fn === 0 && this.addr & 0x80000000 ? this.slots.get(slot) : undefined, reg: this.addr & 0xfc };
  }
  pioWrite(port: number, size: AccessSize, v: number): void {
    this.accesses++;
    if (port === 0xcf8 && size === 4) this.addr = v >>> 0;
    else if (port >= 0xcfc && port < 0xd00) this.target().cs?.write(this.target().reg + (port - 0xcfc), v, size);
  }
  pioRead(port: number, size: AccessSize): number {
    this.accesses++;
    const { cs, reg } = this.target();
    if (port < 0xcfc || !cs) return size === 4 ? 0xffffffff : 2 ** (8 * size) - 1;
    return cs.read(reg + (port - 0xcfc), size);
  }
  mmioRead(): number {
    throw new Error('no MMIO during enumeration');
  }
  mmioWrite(): void {
    throw new Error('no MMIO during enumeration');
  }
  wrmsr(): void {}
  halt(): void {}
  run(_w: string, fn: () => void): void {
    fn();
  }
  setInterruptEntry(): void {}
  charge(): void {}
  pvEoiPending(): boolean {
    return false;
  }
}

function device(ids: { vendorId: number; deviceId: number }): PciConfigSpace {
  return new PciConfigSpace({ ...ids, revision: 0, classCode: 0x0100 });
}

function expectPlaced(f: PciFunction): void {
  for (const b of f.bars) {
    expect(b.addr % b.size, `BAR${b.index} at 0x${b.addr.toString(16)} not aligned to ${b.size}`).toBe(0);
    expect(b.addr).toBeGreaterThanOrEqual(b.io ? WIN.ioBase : WIN.mmioBase);
  }
}

function expectDisjoint(bars: { io: boolean; addr: number; size: number }[]): void {
  for (const a of bars) for (const b of bars) if (a !== b && a.io === b.io) expect(a.addr + a.size <= b.addr || b.addr + b.size <= a.addr).toBe(true);
}

describe('enumeratePciBus over fake config spaces', () => {
  function rig() {
    const bridge = device({ vendorId: 0x8086, deviceId: 0x1237 });
    const dev = device({ vendorId: 0x1af4, deviceId: 0x1042 });
    dev.registerBar(0, 32, { space: 'io' });
    dev.registerBar(1, 0x1000, { space: 'mem32' });
    dev.registerBar(2, 0x4000, { space: 'mem64', prefetch: true });
    dev.registerBar(5, 0x100000, { space: 'mem32' });
    dev.addCapability(0x11, 12);
    dev.addCapability(0x09, 16);
    dev.addCapability(0x09, 20);
    dev.setInterruptPin(1);
    const other = device({ vendorId: 0x1af4, deviceId: 0x1048 });
    other.registerBar(1, 0x1000, { space: 'mem32' });
    other.setInterruptPin(1);
    const port = new ConfigPort(new Map([[0, bridge], [3, dev], [4, other]]));
    const fns = enumeratePciBus(new PciConfigAccess(port), WIN);
    return { bridge, dev, other, port, fns };
  }

  it('finds the functions present, in slot order, with their IDs', () => {
    const { fns } = rig();
    expect(fns.map((f) => [f.slot, f.vendor, f.device])).toEqual([
      [0, 0x8086, 0x1237],
      [3, 0x1af4, 0x1042],
      [4, 0x1af4, 0x1048],
    ]);
    expect(fns[0].bars).toEqual([]);
  });

  it('sizes every BAR, a 64-bit BAR once over its two slots, and places each aligned in its window', () => {
    const { fns, dev, other } = rig();
    const f = fns[1];
    expect(f.bars.map((b) => [b.index, b.io, b.size])).toEqual([
      [0, true, 32],
      [1, false, 0x1000],
      [2, false, 0x4000],
      [5, false, 0x100000],
    ]);
    expectPlaced(f);
    expectPlaced(fns[2]);
    expectDisjoint([...f.bars, ...fns[2].bars]);
    // The device decodes where the guest says it placed each BAR; the 64-bit high dword is 0.
    for (const b of f.bars) expect(dev.barAddress(b.index)).toBe(b.addr);
    expect(dev.get32(PCI_BASE_ADDRESS_0 + 4 * 3)).toBe(0);
    expect(other.barAddress(1)).toBe(fns[2].bars[0].addr);
    // Type bits survive the address write.
    expect(dev.get32(PCI_BASE_ADDRESS_0 + 8) & 0xf).toBe(0xc);
    expect(dev.get32(PCI_BASE_ADDRESS_0) & 0x3).toBe(0x1);
  });

  it('enables I/O, memory decoding and bus mastering', () => {
    const { dev } = rig();
    expect(dev.get16(PCI_COMMAND) & 0x7).toBe(0x7);
  });

  it('walks the capability list in list order', () => {
    const { fns, dev } = rig();
    expect(fns[1].caps.map((c) => c.offset)).toEqual(dev.capabilities());
    expect(fns[1].caps.map((c) => c.id)).toEqual([0x09, 0x09, 0x11]); // last added is first found
    expect(fns[0].caps).toEqual([]);
  });

  it('routes INTA# to a GSI and writes it to the interrupt line register; no pin, no line', () => {
    const { fns, dev, other, bridge } = rig();
    expect(fns.map((f) => [f.irqPin, f.irqLine])).toEqual([
      [0, 0],
      [1, 11],
      [1, 10],
    ]);
    expect(dev.get8(PCI_INTERRUPT_LINE)).toBe(11);
    expect(other.get8(PCI_INTERRUPT_LINE)).toBe(10);
    expect(bridge.get8(PCI_INTERRUPT_LINE)).toBe(0);
  });

  it('never reports the high dword of a 64-bit BAR as a BAR of its own, even for a BAR of 4 GiB or more', () => {
    const dev = device({ vendorId: 0x1af4, deviceId: 0x1110 });
    dev.registerBar(2, 8 * 2 ** 30, { space: 'mem64', prefetch: true });
    const fns = enumeratePciBus(new PciConfigAccess(new ConfigPort(new Map([[5, dev]]))), WIN);
    expect(fns[0].bars.filter((b) => b.index === 3)).toEqual([]);
  });
});

describe('enumeratePciBus over a real host', () => {
  function host(args: string[]) {
    const spec = parseQemuArgs(['-m', '256M', '-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=64M', '-blockdev', 'driver=raw,node-name=d1,file.driver=memory,file.size=64M', ...args]);
    if (E.isLeft(spec)) throw new Error('bad command line');
    const sim = new Simulator();
    const trace = new Trace();
    const rec = new Recorder();
    trace.attach(rec.sink);
    const h = buildHost(spec.right, sim, trace, new CostModel(), new GuestMemory(spec.right.memBytes));
    if (E.isLeft(h)) throw new Error('host did not build');
    const vcpu = h.right.kvm.vcpus[0];
    let fns: PciFunction[] = [];
    vcpu.run('enumerate', () => (fns = enumeratePciBus(new PciConfigAccess(vcpu), WIN)));
    sim.run();
    return { host: h.right, fns, rec };
  }

  it('finds the host bridge and each virtio-blk-pci, and every BAR it places decodes there', () => {
    const { host: h, fns } = host(['-device', 'virtio-blk-pci,drive=d0', '-device', 'virtio-blk-pci,drive=d1,vectors=0']);
    expect(fns.map((f) => [f.slot, f.vendor.toString(16), f.device.toString(16)])).toEqual([
      [0, '8086', '1237'],
      [2, '1af4', '1042'],
      [3, '1af4', '1042'],
    ]);
    const all = fns.flatMap((f) => f.bars);
    expectDisjoint(all);
    for (const [i, d] of h.devices.entries()) {
      const f = fns[i + 1];
      expectPlaced(f);
      for (const b of f.bars) {
        expect(d.transport.pci.config.bar(b.index)?.size).toBe(b.size);
        expect(d.transport.pci.config.barAddress(b.index)).toBe(b.addr);
      }
      expect(f.caps.map((c) => c.offset)).toEqual(d.transport.pci.config.capabilities());
      expect(f.irqLine).toBe(10 + (f.slot % 2));
    }
    // The modern BAR (4, 64-bit) is one BAR; the MSI-X BAR exists only with vectors.
    expect(fns[1].bars.map((b) => b.index)).toEqual([1, 4]);
    expect(fns[2].bars.map((b) => b.index)).toEqual([4]);
    expect(fns[1].caps.some((c) => c.id === 0x11)).toBe(true);
    expect(fns[2].caps.some((c) => c.id === 0x11)).toBe(false);
    expect(fns[1].caps.filter((c) => c.id === 0x09).length).toBeGreaterThanOrEqual(4);
  });

  it('every config access is a heavyweight port exit to QEMU', () => {
    const { rec } = host(['-device', 'virtio-blk-pci,drive=d0']);
    const exits = rec.events.filter((e) => e.kind === 'exit');
    expect(exits.length).toBeGreaterThan(0);
    for (const e of exits) {
      expect(e).toMatchObject({ reason: 'IO_INSTRUCTION', handler: 'qemu', userspaceExit: 'KVM_EXIT_IO', purpose: 'pci' });
      if (e.kind === 'exit') expect(e.addr! >= 0xcf8 && e.addr! <= 0xcff).toBe(true);
    }
  });
});
