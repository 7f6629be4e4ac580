import { describe, expect, it } from 'vitest';
import { MSR_X2APIC_EOI, msiAddress } from '../../hw/cpu.js';
import { ExecutionContext } from '../../sim/context.js';
import { CostModel } from '../../sim/costs.js';
import { Simulator } from '../../sim/simulator.js';
import { Recorder, Trace, type TraceEvent } from '../../sim/trace.js';
import type { IoRegionOps } from './address-space.js';
import { KvmVm, type KvmOptions } from './kvm.js';

function setup(opts: Partial<KvmOptions> = {}) {
  const sim = new Simulator();
  const trace = new Trace();
  const rec = new Recorder();
  trace.attach(rec.sink);
  const bql = new ExecutionContext(sim, trace, 'main-loop', 'main-loop');
  const vm = new KvmVm(sim, trace, new CostModel(), { apicv: false, pvEoi: false, haltPollNs: 0, ...opts }, bql, 1);
  const writes: [number, number][] = [];
  const region: IoRegionOps = {
    name: 'dev',
    read: (o) => 0x100 + o,
    write: (o, _s, v) => writes.push([o, v]),
    purpose: (o) => (o >= 0x3000 ? 'notify' : 'config'),
  };
  vm.mmio.map(region, 0xfe000000, 0x4000);
  const exits = () => rec.events.filter((e): e is Extract<TraceEvent, { kind: 'exit' }> => e.kind === 'exit');
  return { sim, vm, rec, writes, exits, bql };
}

describe('KVM exits', () => {
  it('MMIO to a QEMU region: EPT_VIOLATION first, then EPT_MISCONFIG, both to QEMU', () => {
    const { sim, vm, writes, exits } = setup();
    const v = vm.vcpus[0];
    let read = 0;
    v.run('t', () => {
      v.mmioWrite(0xfe000010, 4, 7);
      read = v.mmioRead(0xfe000014, 4);
    });
    sim.run();
    expect(writes).toEqual([[0x10, 7]]);
    expect(read).toBe(0x114);
    expect(exits().map((e) => [e.reason, e.handler, e.userspaceExit, e.purpose])).toEqual([
      ['EPT_VIOLATION', 'qemu', 'KVM_EXIT_MMIO', 'config'],
      ['EPT_MISCONFIG', 'qemu', 'KVM_EXIT_MMIO', 'config'],
    ]);
  });

  it('a zero-length ioeventfd turns the notify into a lightweight exit', () => {
    const { sim, vm, writes, exits } = setup();
    const v = vm.vcpus[0];
    let signalled = 0;
    vm.ioeventfds.assign({ addr: 0xfe003000, len: 0, pio: false, signal: () => signalled++ });
    v.run('t', () => {
      v.mmioWrite(0xfe003000, 2, 0); // first touch of the page
      v.mmioWrite(0xfe003000, 2, 0);
    });
    sim.run();
    expect(signalled).toBe(2);
    expect(writes).toEqual([]);
    expect(exits().map((e) => [e.reason, e.handler, e.purpose])).toEqual([
      ['EPT_VIOLATION', 'kvm', 'notify'],
      ['EPT_MISCONFIG', 'kvm', 'notify'],
    ]);
    // The fast path is cheaper than the heavyweight one.
    const [, fast] = exits();
    expect(fast.costNs).toBeLessThan(new CostModel().ns('kvm.exit.userspace'));
  });

  it('an access to nothing reads all-ones', () => {
    const { sim, vm } = setup();
    const v = vm.vcpus[0];
    let r = 0;
    v.run('t', () => (r = v.pioRead(0x510, 2)));
    sim.run();
    expect(r).toBe(0xffff);
  });

  it('a heavyweight exit waits for the BQL', () => {
    const { sim, vm, bql, exits } = setup();
    const v = vm.vcpus[0];
    bql.run('busy main loop', () => sim.advance(10_000));
    v.run('t', () => v.mmioWrite(0xfe000000, 4, 1));
    sim.run();
    expect(exits()[0].costNs).toBeGreaterThan(10_000);
  });

  it('MSI to a halted vCPU: no exit for the interrupt, EOI is a MSR_WRITE without APICv', () => {
    const { sim, vm, exits } = setup();
    const v = vm.vcpus[0];
    const got: number[] = [];
    v.setInterruptEntry((vec) => {
      got.push(vec);
      if (!v.pvEoiPending()) v.wrmsr(MSR_X2APIC_EOI, 0);
    });
    v.run('idle', () => v.halt());
    sim.at(1000, () => vm.signalMsi(msiAddress(0), 0x41, 'KVM_SIGNAL_MSI', 'd'));
    sim.run();
    expect(got).toEqual([0x41]);
    expect(exits().map((e) => e.reason)).toEqual(['HLT', 'MSR_WRITE']);
  });

  it('MSI to a running vCPU: EXTERNAL_INTERRUPT without APICv, nothing with posted interrupts', () => {
    for (const apicv of [false, true]) {
      const { sim, vm, exits } = setup({ apicv });
      const v = vm.vcpus[0];
      v.setInterruptEntry(() => v.wrmsr(MSR_X2APIC_EOI, 0));
      v.run('busy', () => {
        sim.advance(5000);
        vm.signalMsi(msiAddress(0), 0x42, 'irqfd', 'd');
      });
      sim.run();
      expect(exits().map((e) => e.reason)).toEqual(apicv ? [] : ['EXTERNAL_INTERRUPT', 'MSR_WRITE']);
    }
  });

  it('PV-EOI lets the guest skip the EOI write of an edge interrupt', () => {
    const { sim, vm, exits } = setup({ pvEoi: true });
    const v = vm.vcpus[0];
    v.setInterruptEntry(() => {
      if (!v.pvEoiPending()) v.wrmsr(MSR_X2APIC_EOI, 0);
    });
    v.run('idle', () => v.halt());
    sim.at(2000, () => vm.signalMsi(msiAddress(0), 0x43, 'irqfd', 'd'));
    sim.run();
    expect(exits().map((e) => e.reason)).toEqual(['HLT']);
  });

  it('INTx through the IOAPIC: level-triggered, EOI_INDUCED with APICv, re-delivered while the line stays high', () => {
    const { sim, vm, exits } = setup({ apicv: true });
    const v = vm.vcpus[0];
    let n = 0;
    v.setInterruptEntry(() => {
      n++;
      if (n === 2) vm.setIrqLine(10, false); // the handler lowers the line (an ISR read) the second time
      v.wrmsr(MSR_X2APIC_EOI, 0);
    });
    v.run('setup', () => {
      v.mmioWrite(0xfec00000, 4, 0x10 + 2 * 10);
      v.mmioWrite(0xfec00010, 4, 0x51 | (1 << 15));
      v.halt();
    });
    sim.at(100, () => vm.setIrqLine(10, true));
    sim.run();
    expect(n).toBe(2);
    const reasons = exits().map((e) => [e.reason, e.handler]);
    expect(reasons.filter(([r]) => r === 'EOI_INDUCED')).toHaveLength(2);
    expect(reasons.filter(([, h]) => h === 'qemu')).toHaveLength(0); // the IOAPIC is in the kernel
  });
});
