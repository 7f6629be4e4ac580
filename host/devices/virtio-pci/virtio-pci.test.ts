/**
 * virtio-pci as the guest sees it in config space and in the common config window:
 * identity, capabilities, BARs, the device status state machine, queue registers.
 */
import { describe, expect, it } from 'vitest';
import { VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, featureBits } from '../../../hw/virtio/constants.js';
import * as L from '../../../hw/virtio/pci-layout.js';
import { SplitVirtqueue } from '../virtio/virtqueue.js';
import { BAR4, rig } from './test-rig.js';

const F = (...bits: number[]) => featureBits(...bits);

describe('identity and capabilities', () => {
  it('presents 1af4:1042 rev 1, subsystem 1af4:1100, class 0x0100, INTA#', () => {
    const r = rig();
    expect(r.cfgRead(0x00, 4)).toBe(0x10421af4);
    expect(r.cfgRead(0x08, 4)).toBe(0x01000001);
    expect(r.cfgRead(0x2c, 4)).toBe(0x11001af4);
    expect(r.cfgRead(0x3d, 1)).toBe(1);
    expect(r.cfgRead(0x06, 2) & 0x10).toBe(0x10);
  });

  it('lists MSI-X, pci_cfg, notify, device, isr, common, at QEMU offsets, with their fields', () => {
    const r = rig();
    const walk: number[] = [];
    for (let p = r.cfgRead(0x34, 1); p !== 0; p = r.cfgRead(p + 1, 1)) walk.push(p);
    expect(walk).toEqual([0x98, 0x84, 0x70, 0x60, 0x50, 0x40]);
    expect(r.cfgRead(0x98, 1)).toBe(0x11);
    const vcap = (p: number) => ({ vndr: r.cfgRead(p, 1), len: r.cfgRead(p + 2, 1), type: r.cfgRead(p + 3, 1), bar: r.cfgRead(p + 4, 1), offset: r.cfgRead(p + 8, 4), length: r.cfgRead(p + 12, 4) });
    expect(vcap(0x40)).toEqual({ vndr: 9, len: 16, type: 1, bar: 4, offset: 0x0000, length: 0x1000 });
    expect(vcap(0x50)).toEqual({ vndr: 9, len: 16, type: 3, bar: 4, offset: 0x1000, length: 0x1000 });
    expect(vcap(0x60)).toEqual({ vndr: 9, len: 16, type: 4, bar: 4, offset: 0x2000, length: 0x1000 });
    expect(vcap(0x70)).toEqual({ vndr: 9, len: 20, type: 2, bar: 4, offset: 0x3000, length: 0x1000 });
    expect(r.cfgRead(0x70 + 16, 4)).toBe(4); // notify_off_multiplier
    expect(vcap(0x84)).toMatchObject({ vndr: 9, len: 20, type: 5 });
    expect(r.cfgRead(0x98 + 2, 2)).toBe(2); // 3 vectors
  });

  it('with vectors=0 has no MSI-X capability and no BAR 1', () => {
    const r = rig({ vectors: 0 });
    expect(r.cfgRead(0x34, 1)).toBe(0x84);
    expect(r.t.pci.msix).toBeUndefined();
    r.cfgWrite(0x14, 0xffffffff, 4);
    expect(r.cfgRead(0x14, 4)).toBe(0);
  });

  it('BAR 4 is 16 KiB, 64-bit, prefetchable; BAR 1 is 4 KiB', () => {
    const r = rig();
    r.cfgWrite(0x20, 0xffffffff, 4);
    r.cfgWrite(0x24, 0xffffffff, 4);
    r.cfgWrite(0x14, 0xffffffff, 4);
    expect(r.cfgRead(0x20, 4)).toBe(0xffffc00c);
    expect(r.cfgRead(0x24, 4)).toBe(0xffffffff);
    expect(r.cfgRead(0x14, 4)).toBe(0xfffff000);
  });

  it('BAR 4 regions report their purpose for exit accounting', () => {
    const r = rig();
    const region = r.kvm.mmio.find(BAR4)!;
    expect([0x0, 0x1000, 0x2000, 0x3000, 0x3004].map((o) => region.ops.purpose(o))).toEqual(['config', 'isr', 'config', 'notify', 'notify']);
  });

  it('the pci_cfg window reads and writes BAR 4 through config space', () => {
    const r = rig();
    r.wr(r.common(L.VIRTIO_PCI_COMMON_STATUS), 3, 1);
    r.cfgWrite(0x84 + 4, 4, 1); // bar
    r.cfgWrite(0x84 + 8, L.VIRTIO_PCI_COMMON_STATUS, 4); // offset
    r.cfgWrite(0x84 + 12, 1, 4); // length
    expect(r.cfgRead(0x84 + 16, 1)).toBe(3);
    r.cfgWrite(0x84 + 16, 7, 1);
    expect(r.status()).toBe(7);
  });
});

describe('features and status', () => {
  it('offers the model features plus VERSION_1, 32 bits at a time', () => {
    const r = rig({ offered: F(VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX, 9) });
    r.wr(r.common(L.VIRTIO_PCI_COMMON_DFSELECT), 0);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_DF))).toBe((1 << 28) | (1 << 29) | (1 << 9));
    r.wr(r.common(L.VIRTIO_PCI_COMMON_DFSELECT), 1);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_DF))).toBe(1);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_DFSELECT), 2);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_DF))).toBe(0);
  });

  it('refuses FEATURES_OK for a feature that was not offered, leaving status unchanged', () => {
    const r = rig();
    r.driver(F(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX), { driverOk: false });
    expect(r.status() & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
    expect(r.status()).toBe(3);
    expect(r.model.calls).not.toContain('setFeatures');
    expect(r.rec.events.some((e) => e.kind === 'note' && /not offered/.test(e.text))).toBe(true);
  });

  it('refuses FEATURES_OK without VERSION_1', () => {
    const r = rig();
    r.driver(0n, { driverOk: false });
    expect(r.status()).toBe(3);
  });

  it('accepts an offered subset, hands it to the model, and arms the rings', () => {
    const r = rig({ offered: F(VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX) });
    r.driver(F(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX), { driverOk: false });
    expect(r.status()).toBe(11);
    expect(r.model.features).toBe(F(VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX));
    expect(r.t.ringFeatures).toEqual({ eventIdx: true, indirectDesc: false, notifyOnEmpty: false });
    r.wr(r.common(L.VIRTIO_PCI_COMMON_GFSELECT), 0);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_GF))).toBe(1 << VIRTIO_F_EVENT_IDX);
  });

  it('DRIVER_OK starts the model with every queue; status 0 resets model, queues and registers', () => {
    const r = rig();
    r.driver();
    expect(r.status()).toBe(15);
    expect(r.model.calls).toEqual(['reset', 'setFeatures', 'start']); // the probe starts with a reset
    expect(r.model.queues.map((q) => q.index)).toEqual([0, 1]);
    expect(r.model.queues.every((q) => q instanceof SplitVirtqueue && q.ready)).toBe(true);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_STATUS), 0, 1);
    expect(r.model.calls).toEqual(['reset', 'setFeatures', 'start', 'reset']);
    expect(r.status()).toBe(0);
    expect(r.t.queues.every((q) => !q.ready)).toBe(true);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_ENABLE), 2)).toBe(0);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_DESCLO))).toBe(0);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_MSIX), 2)).toBe(0xffff);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_MSIX), 2)).toBe(0xffff);
  });
});

describe('queue registers', () => {
  it('reports num_queues, sizes, notify offsets; a missing queue has size 0', () => {
    const r = rig();
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_NUMQ), 2)).toBe(2);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_SELECT), 1, 2);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_SIZE), 2)).toBe(64);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_NOFF), 2)).toBe(1);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_SELECT), 5, 2);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_SIZE), 2)).toBe(0);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_SELECT), 4096, 2);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_SELECT), 2)).toBe(5); // ≥ VIRTIO_QUEUE_MAX ignored
  });

  it('queue_size accepts only powers of two up to the maximum', () => {
    const r = rig();
    const size = r.common(L.VIRTIO_PCI_COMMON_Q_SIZE);
    for (const [w, want] of [[48, 64], [128, 64], [0, 64], [16, 16], [1, 1]] as const) {
      r.wr(size, w, 2);
      expect(r.rd(size, 2)).toBe(want);
    }
  });

  it('queue addresses are 64-bit, split in dwords; a 64-bit access is split low first', () => {
    const r = rig();
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_DESCLO), 0x1000);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_DESCHI), 0x2);
    expect(r.kvm.mmio.find(BAR4)!.ops.read(L.VIRTIO_PCI_COMMON_Q_DESCLO, 8)).toBe(0x2_0000_1000);
    r.kvm.mmio.find(BAR4)!.ops.write(L.VIRTIO_PCI_COMMON_Q_AVAILLO, 8, 0x3_0000_2000);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_AVAILHI))).toBe(3);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_AVAILLO))).toBe(0x2000);
  });

  it('a queue vector the MSI-X table does not have reads back NO_VECTOR', () => {
    const r = rig({ vectors: 2 });
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_MSIX), 1, 2);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_MSIX), 2)).toBe(1);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_MSIX), 2, 2);
    expect(r.rd(r.common(L.VIRTIO_PCI_COMMON_Q_MSIX), 2)).toBe(0xffff);
  });

  it('enabling rings outside RAM breaks the device (DEVICE_NEEDS_RESET)', () => {
    const r = rig();
    r.driver(undefined, { driverOk: false });
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_DESCHI), 1);
    r.wr(r.common(L.VIRTIO_PCI_COMMON_Q_ENABLE), 1, 2);
    expect(r.status() & 0x40).toBe(0x40);
    expect(r.rec.events.find((e) => e.kind === 'device-error')).toMatchObject({ message: 'Cannot map desc' });
  });

  it('device config reads go to the model; past its size they read all-ones', () => {
    const r = rig();
    const dev = BAR4 + L.QEMU_VIRTIO_PCI_DEVICE_OFFSET;
    expect(r.rd(dev, 4)).toBe(0x04030201);
    expect(r.rd(dev + 6, 2)).toBe(0x0807);
    expect(r.rd(dev + 6, 4)).toBe(0xffffffff);
    r.wr(dev + 2, 0xab, 1);
    r.wr(dev + 8, 1, 1);
    expect(r.model.calls).toEqual(['writeConfig 2 1 171']);
  });
});
