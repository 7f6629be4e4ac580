/**
 * GuestCpu, GuestIdt and GuestKernel: the idle loop halts only when no work is queued;
 * an interrupt runs its handler and writes the x2APIC EOI unless PV-EOI says skip; the
 * kernel knows which CPU is running and routes IOAPIC pins. First against a fake
 * VcpuPort that records what the guest does, then against KVM's vCPU model.
 */
import { describe, expect, it } from 'vitest';
import { MSR_X2APIC_EOI, msiAddress, type AccessSize, type InterruptEntry, type VcpuPort } from '../../hw/cpu.js';
import { GuestMemory } from '../../hw/memory.js';
import { KvmVm, type KvmOptions } from '../../host/kvm-exits/kvm.js';
import { ExecutionContext } from '../../sim/context.js';
import { CostModel } from '../../sim/costs.js';
import { Simulator } from '../../sim/simulator.js';
import { Recorder, Trace } from '../../sim/trace.js';
import { FIRST_DEVICE_VECTOR, GuestCpu, GuestIdt } from './cpu.js';
import { GuestKernel } from './kernel.js';

/** A vCPU that queues `run` work for the test to step, and logs every access. */
class FakePort implements VcpuPort {
  readonly log: string[] = [];
  readonly pending: (() => void)[] = [];
  entry: InterruptEntry | undefined;
  pvEoi = false;
  constructor(readonly index = 0) {}
  pioRead(port: number): number {
    this.log.push(`in ${port.toString(16)}`);
    return 0;
  }
  pioWrite(port: number, _s: AccessSize, v: number): void {
    this.log.push(`out ${port.toString(16)}=${v}`);
  }
  mmioRead(addr: number): number {
    this.log.push(`mmio-r ${addr.toString(16)}`);
    return 0;
  }
  mmioWrite(addr: number, _s: AccessSize, v: number): void {
    this.log.push(`mmio-w ${addr.toString(16)}=${v.toString(16)}`);
  }
  wrmsr(msr: number, v: number): void {
    this.log.push(`wrmsr ${msr.toString(16)}=${v}`);
  }
  halt(): void {
    this.log.push('hlt');
  }
  run(what: string, fn: () => void): void {
    this.pending.push(() => {
      this.log.push(`run ${what}`);
      fn();
    });
  }
  setInterruptEntry(e: InterruptEntry): void {
    this.entry = e;
  }
  charge(): void {}
  pvEoiPending(): boolean {
    const p = this.pvEoi;
    this.pvEoi = false;
    return p;
  }
  step(): void {
    this.pending.shift()!();
  }
  /** KVM delivers `vector` now (inside its own run, as KvmVcpu does). */
  interrupt(vector: number): void {
    this.entry!(vector);
  }
}

function fakeCpu() {
  const port = new FakePort();
  const idt = new GuestIdt();
  const entered: number[] = [];
  const cpu: GuestCpu = new GuestCpu(port, idt, { enter: (c) => entered.push(c.index), current: () => cpu });
  return { port, idt, cpu, entered };
}

describe('GuestCpu idle loop', () => {
  it('halts after the last queued task, not before', () => {
    const { port, cpu, entered } = fakeCpu();
    cpu.schedule('a', () => port.log.push('A'));
    cpu.schedule('b', () => port.log.push('B'));
    port.step();
    expect(port.log).toEqual(['run a', 'A']);
    port.step();
    expect(port.log).toEqual(['run a', 'A', 'run b', 'B', 'hlt']);
    expect(entered).toEqual([0, 0]);
  });

  it('does not halt when a task queues more work; halts after that work', () => {
    const { port, cpu } = fakeCpu();
    cpu.schedule('a', () => cpu.schedule('b', () => port.log.push('B')));
    port.step();
    expect(port.log).not.toContain('hlt');
    port.step();
    expect(port.log.at(-1)).toBe('hlt');
    expect(port.log.filter((l) => l === 'hlt')).toHaveLength(1);
  });
});

describe('GuestCpu interrupts', () => {
  it('runs the handler, writes the x2APIC EOI, then halts when idle', () => {
    const { port, idt, cpu, entered } = fakeCpu();
    const v = idt.requestIrq(() => port.log.push('handler'));
    port.interrupt(v);
    expect(port.log).toEqual(['handler', `wrmsr ${MSR_X2APIC_EOI.toString(16)}=0`, 'hlt']);
    expect(entered).toEqual([cpu.index]);
  });

  it('skips the EOI write when PV-EOI says so', () => {
    const { port, idt } = fakeCpu();
    const v = idt.requestIrq(() => port.log.push('handler'));
    port.pvEoi = true;
    port.interrupt(v);
    expect(port.log).toEqual(['handler', 'hlt']);
  });

  it('does not halt after an interrupt while work is queued, nor when the handler queues work', () => {
    const { port, idt, cpu } = fakeCpu();
    const v = idt.requestIrq(() => cpu.schedule('bottom half', () => port.log.push('BH')));
    cpu.schedule('task', () => undefined);
    port.interrupt(FIRST_DEVICE_VECTOR + 99); // a vector without a handler is still acknowledged
    expect(port.log).toEqual([`wrmsr ${MSR_X2APIC_EOI.toString(16)}=0`]);
    port.step();
    expect(port.log.at(-1)).toBe('hlt');
    port.log.length = 0;
    port.interrupt(v);
    expect(port.log).toEqual([`wrmsr ${MSR_X2APIC_EOI.toString(16)}=0`]);
    port.step();
    expect(port.log).toEqual([`wrmsr ${MSR_X2APIC_EOI.toString(16)}=0`, 'run bottom half', 'BH', 'hlt']);
  });
});

describe('GuestIdt', () => {
  it('hands out vectors from 0x30 upward, each with its handler, until 0xef', () => {
    const idt = new GuestIdt();
    const got: number[] = [];
    const vs = Array.from({ length: 0xef - FIRST_DEVICE_VECTOR + 1 }, (_, i) => idt.requestIrq(() => got.push(i)));
    expect(vs[0]).toBe(0x30);
    expect(vs.at(-1)).toBe(0xef);
    idt.handler(0x31)?.();
    expect(got).toEqual([1]);
    expect(idt.handler(0x2f)).toBeUndefined();
    expect(() => idt.requestIrq(() => undefined)).toThrow(/out of interrupt vectors/);
  });
});

describe('GuestKernel', () => {
  const kernelOn = (ports: FakePort[], memBytes = 256 << 20) =>
    new GuestKernel(new Simulator(), new Trace(), new CostModel(), new GuestMemory(memBytes), ports, 0xc0000000);

  it('knows the CPU that is running', () => {
    const ports = [new FakePort(0), new FakePort(1)];
    const k = kernelOn(ports);
    expect(k.current.index).toBe(0);
    k.cpus[1].schedule('t', () => expect(k.current.index).toBe(1));
    ports[1].step();
    expect(k.current.index).toBe(1);
    ports[0].interrupt(0x30);
    expect(k.current.index).toBe(0);
  });

  it('programs an IOAPIC redirection entry: destination high dword, then vector with level trigger', () => {
    const p = new FakePort();
    const k = kernelOn([p]);
    k.routeIoapicPin(11, 0x41, 0);
    expect(p.log).toEqual(['mmio-w fec00000=27', 'mmio-w fec00010=0', 'mmio-w fec00000=26', `mmio-w fec00010=${(0x41 | 0x8000).toString(16)}`]);
  });

  it('keeps a DMA area of a quarter of RAM (4 MiB to 256 MiB) above 1 MiB', () => {
    expect(kernelOn([new FakePort()], 256 << 20).dmaEnd).toBe(0x100000 + (64 << 20));
    expect(kernelOn([new FakePort()], 8 << 20).dmaEnd).toBe(0x100000 + (4 << 20));
    expect(kernelOn([new FakePort()], 4 * 2 ** 30).dmaEnd).toBe(0x100000 + (256 << 20));
  });
});

describe('GuestCpu on KVM', () => {
  function onKvm(opts: Partial<KvmOptions> = {}) {
    const sim = new Simulator();
    const trace = new Trace();
    const rec = new Recorder();
    trace.attach(rec.sink);
    const vm = new KvmVm(sim, trace, new CostModel(), { apicv: false, pvEoi: false, haltPollNs: 0, ...opts }, new ExecutionContext(sim, trace, 'main-loop', 'main-loop'), 1);
    const idt = new GuestIdt();
    const cpu: GuestCpu = new GuestCpu(vm.vcpus[0], idt, { enter: () => undefined, current: () => cpu });
    const exits = () => rec.events.flatMap((e) => (e.kind === 'exit' ? [e.reason] : []));
    return { sim, vm, idt, cpu, exits };
  }

  it('a HLT exit follows the work, and an MSI runs the handler then writes EOI (MSR_WRITE) and halts again', () => {
    const { sim, vm, idt, cpu, exits } = onKvm();
    let handled = 0;
    const v = idt.requestIrq(() => handled++);
    cpu.schedule('t1', () => sim.advance(1000));
    cpu.schedule('t2', () => sim.advance(1000));
    sim.run();
    expect(exits()).toEqual(['HLT']);
    expect(vm.vcpus[0].halted).toBe(true);
    sim.at(sim.now + 10_000, () => vm.signalMsi(msiAddress(0), v, 'irqfd', 'test'));
    sim.run();
    expect(handled).toBe(1);
    expect(exits()).toEqual(['HLT', 'MSR_WRITE', 'HLT']);
  });

  it('with PV-EOI the EOI of an MSI costs no exit', () => {
    const { sim, vm, idt, cpu, exits } = onKvm({ pvEoi: true });
    const v = idt.requestIrq(() => undefined);
    cpu.schedule('t', () => undefined);
    sim.run();
    sim.at(sim.now + 10_000, () => vm.signalMsi(msiAddress(0), v, 'irqfd', 'test'));
    sim.run();
    expect(exits()).toEqual(['HLT', 'HLT']);
  });
});

describe('cross-CPU wakeups', () => {
  it('work for a halted CPU from another CPU costs a reschedule IPI: an ICR write that exits on the sender', () => {
    const sim = new Simulator();
    const trace = new Trace();
    const rec = new Recorder();
    trace.attach(rec.sink);
    const vm = new KvmVm(sim, trace, new CostModel(), { apicv: true, pvEoi: true, haltPollNs: 0 }, new ExecutionContext(sim, trace, 'main-loop', 'main-loop'), 2);
    const k = new GuestKernel(sim, trace, new CostModel(), new GuestMemory(64 << 20), vm.vcpus, 0xc0000000);
    const ran: string[] = [];
    k.cpus[1].schedule('idle', () => ran.push('cpu1 first'));
    sim.run();
    sim.at(10_000, () => k.cpus[0].schedule('waker', () => k.cpus[1].schedule('woken', () => ran.push(`cpu1 woken, current=${k.current.index}`))));
    sim.run();
    expect(ran).toEqual(['cpu1 first', 'cpu1 woken, current=1']);
    const exits = rec.events.flatMap((e) => (e.kind === 'exit' ? [`${e.vcpu}:${e.reason}:${e.purpose}`] : []));
    expect(exits).toContain('0:MSR_WRITE:ipi');
    const irqs = rec.events.flatMap((e) => (e.kind === 'irq' ? [`${e.vcpu}:${e.path}:${e.vcpuState}`] : []));
    expect(irqs).toEqual(['1:IPI:halted']);
  });

  it('work for a running CPU needs no IPI', () => {
    const sim = new Simulator();
    const trace = new Trace();
    const rec = new Recorder();
    trace.attach(rec.sink);
    const vm = new KvmVm(sim, trace, new CostModel(), { apicv: true, pvEoi: true, haltPollNs: 0 }, new ExecutionContext(sim, trace, 'main-loop', 'main-loop'), 1);
    const k = new GuestKernel(sim, trace, new CostModel(), new GuestMemory(64 << 20), vm.vcpus, 0xc0000000);
    k.cpus[0].schedule('a', () => k.cpus[0].schedule('b', () => undefined));
    sim.run();
    expect(rec.events.some((e) => e.kind === 'exit' && e.purpose === 'ipi')).toBe(false);
  });
});
