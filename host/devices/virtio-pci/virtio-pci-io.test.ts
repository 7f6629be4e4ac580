/**
 * virtio-pci on the I/O path: kicks through ioeventfd or through a heavyweight exit,
 * interrupts through MSI-X (KVM_SIGNAL_MSI or irqfd) or INTx, masking, and the ring
 * error that sets DEVICE_NEEDS_RESET.
 */
import { describe, expect, it } from 'vitest';
import { VIRTQ_AVAIL_F_NO_INTERRUPT } from '../../../hw/virtio/constants.js';
import * as L from '../../../hw/virtio/pci-layout.js';
import type { TraceEvent } from '../../../sim/trace.js';
import { BAR1, BAR4, rig } from './test-rig.js';

type Rig = ReturnType<typeof rig>;

/** Publish one request on queue `q` and ring its doorbell `kicks` times from vCPU 0. */
function request(r: Rig, q = 0, kicks = 1): number {
  const drv = r.queues[q];
  const head = drv.addChain([{ len: 16 }, { len: 1, write: true }]);
  drv.publish(head);
  r.vcpu.run('kick', () => {
    for (let i = 0; i < kicks; i++) r.vcpu.mmioWrite(r.doorbell(q), 2, q);
  });
  r.sim.run();
  return head;
}

/** Let DRIVER_OK's initial notifier kicks run, then forget them. */
function settle(r: Rig): void {
  r.sim.run();
  r.model.outputs.length = 0;
  r.rec.events.length = 0;
}

const of = <K extends TraceEvent['kind']>(r: Rig, kind: K) => r.rec.events.filter((e): e is Extract<TraceEvent, { kind: K }> => e.kind === kind);

describe('kicks', () => {
  it('ioeventfd=on: doorbells are lightweight exits; the main loop runs the handler after the wakeup, once per batch of kicks', () => {
    const r = rig();
    r.driver();
    settle(r);
    const head = request(r, 0, 2);
    const exits = of(r, 'exit').filter((e) => e.purpose === 'notify');
    expect(exits.map((e) => [e.reason, e.handler])).toEqual([['EPT_VIOLATION', 'kvm'], ['EPT_MISCONFIG', 'kvm']]);
    expect(r.model.outputs).toHaveLength(1);
    expect(r.model.outputs[0].ctx).toBe('main-loop');
    expect(r.model.outputs[0].t).toBeGreaterThanOrEqual(exits[1].t + r.costs.ns('qemu.eventfd.wakeup'));
    expect(of(r, 'notify')).toEqual([expect.objectContaining({ dev: 'vda', vq: 0, via: 'ioeventfd' })]);
    expect(r.queues[0].takeUsed()).toEqual([{ id: head, len: 0 }]);
    expect(r.msiCalls).toEqual([{ addr: 0xfee00000, data: 0x41, path: 'KVM_SIGNAL_MSI' }]);
    expect(of(r, 'irq')).toEqual([expect.objectContaining({ vector: 0x41, path: 'KVM_SIGNAL_MSI' })]);
  });

  it('with an iothread the handler runs there and the interrupt goes by irqfd', () => {
    const r = rig({ iothread: true });
    r.driver();
    settle(r);
    request(r, 1);
    expect(r.model.outputs).toEqual([expect.objectContaining({ q: 1, ctx: 'iothread0' })]);
    expect(r.msiCalls).toEqual([{ addr: 0xfee00000, data: 0x42, path: 'irqfd' }]);
    expect(of(r, 'work').some((e) => e.ctx === 'iothread0' && e.what === 'virtio notify')).toBe(true);
  });

  it('ioeventfd=off: the doorbell is a heavyweight exit and QEMU runs the handler inline on the vCPU', () => {
    const r = rig({ ioeventfd: false });
    r.driver();
    let inside = -1;
    r.vcpu.run('kick', () => {
      r.queues[0].publish(r.queues[0].addChain([{ len: 16 }]));
      r.vcpu.mmioWrite(r.doorbell(0), 2, 0);
      inside = r.model.outputs.length;
    });
    r.sim.run();
    expect(inside).toBe(1);
    const exit = of(r, 'exit').find((e) => e.purpose === 'notify');
    expect(exit).toMatchObject({ handler: 'qemu', userspaceExit: 'KVM_EXIT_MMIO' });
    expect(of(r, 'notify')).toEqual([expect.objectContaining({ via: 'exit' })]);
    expect(r.kvm.ioeventfds.match(false, r.doorbell(0), 0, 0)).toBeUndefined();
  });

  it('DRIVER_OK with ioeventfd sets every queue notifier once, as QEMU does for requests already in the ring', () => {
    const r = rig();
    r.driver(undefined, { driverOk: false });
    const head = r.queues[1].addChain([{ len: 16 }]);
    r.queues[1].publish(head);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_STATUS), 15, 1);
    r.sim.run();
    expect(r.model.outputs.map((o) => o.q)).toEqual([0, 1]);
    expect(of(r, 'notify').map((e) => [e.vq, e.via])).toEqual([[0, 'ioeventfd'], [1, 'ioeventfd']]);
    expect(r.queues[1].takeUsed()).toEqual([{ id: head, len: 0 }]);
  });

  it('ioeventfds exist only after DRIVER_OK, follow BAR 4 when it moves, and go away on reset', () => {
    const r = rig();
    r.driver(undefined, { driverOk: false });
    expect(r.kvm.ioeventfds.match(false, r.doorbell(0), 0, 0)).toBeUndefined();
    r.wr(r.common(L.VIRTIO_PCI_COMMON_STATUS), 15, 1);
    expect(r.kvm.ioeventfds.match(false, BAR4 + 0x3000, 0, 0)?.len).toBe(0);
    expect(r.kvm.ioeventfds.match(false, BAR4 + 0x3004, 0, 0)).toBeDefined();
    r.cfgWrite(0x20, 0xfd000000, 4);
    expect(r.kvm.ioeventfds.match(false, BAR4 + 0x3000, 0, 0)).toBeUndefined();
    expect(r.kvm.ioeventfds.match(false, 0xfd003004, 0, 0)).toBeDefined();
    r.wr(0xfd000000 + L.VIRTIO_PCI_COMMON_STATUS, 0, 1);
    expect(r.kvm.ioeventfds.match(false, 0xfd003000, 0, 0)).toBeUndefined();
  });

  it('a kick before DRIVER_OK is ignored', () => {
    const r = rig({ ioeventfd: false });
    r.driver(undefined, { driverOk: false });
    r.wr(r.doorbell(0), 0, 2);
    expect(r.model.outputs).toEqual([]);
  });
});

describe('interrupts', () => {
  it('a masked vector leaves its PBA bit set and fires on unmask', () => {
    const r = rig();
    r.driver();
    r.wr(BAR1 + 16 * 1 + 12, 1);
    request(r, 0);
    expect(r.msiCalls).toEqual([]);
    expect(r.rd(BAR1 + 0x800)).toBe(0b10);
    r.wr(BAR1 + 16 * 1 + 12, 0);
    expect(r.msiCalls).toEqual([{ addr: 0xfee00000, data: 0x41, path: 'KVM_SIGNAL_MSI' }]);
    expect(r.rd(BAR1 + 0x800)).toBe(0);
  });

  it('MSI-X table accesses are heavyweight exits with purpose msix', () => {
    const r = rig();
    r.vcpu.run('msix', () => void r.vcpu.mmioRead(BAR1 + 8, 4));
    r.sim.run();
    expect(of(r, 'exit')).toEqual([expect.objectContaining({ purpose: 'msix', handler: 'qemu' })]);
  });

  it('without bus mastering an MSI never arrives', () => {
    const r = rig();
    r.driver();
    r.cfgWrite(0x04, 0x2, 2);
    request(r, 0);
    expect(r.msiCalls).toEqual([]);
    expect(of(r, 'note').some((e) => /bus mastering/.test(e.text))).toBe(true);
  });

  it('a driver that suppresses interrupts gets none', () => {
    const r = rig();
    r.driver();
    r.queues[0].setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    request(r, 0);
    expect(r.msiCalls).toEqual([]);
    expect(of(r, 'used')).toEqual([expect.objectContaining({ interrupt: false, n: 1 })]);
  });

  it('vectors=0: INTx on the GSI in PCI_INTERRUPT_LINE; reading ISR clears it and lowers the line', () => {
    const r = rig({ vectors: 0 });
    r.kvm.ioapic.write(0x00, 4, 0x10 + 2 * 10); // the guest routes GSI 10: vector 0x30, level-triggered
    r.kvm.ioapic.write(0x10, 4, 0x30 | (1 << 15));
    r.driver();
    request(r, 0);
    expect(r.irqLines).toEqual([[10, true]]);
    expect(r.cfgRead(0x06, 2) & 0x08).toBe(0x08);
    let isr = -1;
    r.vcpu.run('isr', () => (isr = r.vcpu.mmioRead(BAR4 + 0x1000, 1)));
    r.sim.run();
    expect(isr).toBe(1);
    expect(r.irqLines).toEqual([[10, true], [10, false]]);
    expect(r.rd(BAR4 + 0x1000, 1)).toBe(0);
    expect(of(r, 'exit').find((e) => e.purpose === 'isr')).toMatchObject({ handler: 'qemu' });
    expect(of(r, 'irq')).toEqual([expect.objectContaining({ vector: 0x30, path: 'KVM_IRQ_LINE' })]);
  });
});

describe('a broken ring', () => {
  it('sets DEVICE_NEEDS_RESET, raises the config interrupt, and stops the device until reset', () => {
    const r = rig();
    r.driver();
    r.queues[0].setAvailIdx(200);
    r.vcpu.run('kick', () => r.vcpu.mmioWrite(r.doorbell(0), 2, 0));
    r.sim.run();
    expect(r.status()).toBe(15 | 0x40);
    expect(of(r, 'device-error')).toEqual([expect.objectContaining({ dev: 'vda', vq: 0, message: 'Guest moved index from 0 to 200' })]);
    expect(r.msiCalls).toEqual([{ addr: 0xfee00000, data: 0x40, path: 'KVM_SIGNAL_MSI' }]);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_CFGGENERATION), 1)).toBe(1);
    expect(r.t.isr).toBe(3);
    request(r, 1);
    expect(r.model.outputs.map((o) => o.q)).toEqual([0]); // queue 1 never reaches the model
    // The driver resets the device and starts over with fresh rings.
    r.queues.forEach((q) => q.startAt(0));
    r.driver();
    expect(r.status()).toBe(15);
    r.model.outputs.length = 0;
    const head = request(r, 1);
    expect(r.model.outputs.map((o) => o.q)).toEqual([0, 1]);
    expect(r.queues[1].takeUsed()).toEqual([{ id: head, len: 0 }]);
    expect(r.status()).toBe(15);
  });
});
