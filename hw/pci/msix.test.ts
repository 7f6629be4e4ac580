import { describe, expect, it } from 'vitest';
import { PciConfigSpace } from './config-space.js';
import { PCI_MSIX_FLAGS } from './constants.js';
import { MsixState, msixExclusiveLayout } from './msix.js';

const ids = { vendorId: 0x1af4, deviceId: 0x1042, revision: 1, classCode: 0x0100 };

function setup(n = 3) {
  const cfg = new PciConfigSpace(ids);
  const sent: { addr: number; data: number; v: number }[] = [];
  let deasserts = 0;
  const l = msixExclusiveLayout(n);
  const m = new MsixState(cfg, n, 1, l.tableOffset, l.pbaOffset, {
    send: (addr, data, v) => sent.push({ addr, data, v }),
    deassertIntx: () => deasserts++,
  });
  const ctrl = m.cap + PCI_MSIX_FLAGS;
  const guestCtrl = (v: number) => {
    cfg.write(ctrl, v, 2);
    m.configWritten(ctrl, 2);
  };
  const program = (v: number, addr: number, data: number, masked: boolean) => {
    m.tableWrite(16 * v, addr);
    m.tableWrite(16 * v + 4, 0);
    m.tableWrite(16 * v + 8, data);
    m.tableWrite(16 * v + 12, masked ? 1 : 0);
  };
  return { cfg, m, sent, guestCtrl, program, deasserts: () => deasserts };
}

describe('MSI-X capability', () => {
  it('encodes table size, table and PBA offset|BIR, with only Enable and Function Mask writable', () => {
    const { cfg, m } = setup(3);
    expect(cfg.config[m.cap]).toBe(0x11);
    expect(cfg.read(m.cap + 2, 2)).toBe(2); // N-1
    expect(cfg.read(m.cap + 4, 4)).toBe(0x00000001); // table at 0 in BAR 1
    expect(cfg.read(m.cap + 8, 4)).toBe(0x00000801); // PBA at 2 KiB in BAR 1
    cfg.write(m.cap + 2, 0xffff, 2);
    expect(cfg.read(m.cap + 2, 2)).toBe(0xc002);
    cfg.write(m.cap + 4, 0xffffffff, 4);
    expect(cfg.read(m.cap + 4, 4)).toBe(1);
  });

  it('lays out the exclusive BAR like QEMU, growing it for big tables', () => {
    expect(msixExclusiveLayout(2)).toEqual({ tableOffset: 0, pbaOffset: 0x800, pbaSize: 8, barSize: 0x1000 });
    expect(msixExclusiveLayout(200)).toEqual({ tableOffset: 0, pbaOffset: 200 * 16, pbaSize: 32, barSize: 0x1000 });
    expect(msixExclusiveLayout(2048).barSize).toBe(0x10000);
  });

  it('starts with every vector masked', () => {
    const { m } = setup(3);
    for (let v = 0; v < 3; v++) expect(m.tableRead(16 * v + 12)).toBe(1);
    expect(m.functionMasked).toBe(true);
  });
});

describe('MSI-X delivery', () => {
  it('sends an unmasked, used vector once enabled, with the programmed address and data', () => {
    const s = setup();
    s.m.vectorUse(1);
    s.program(1, 0xfee01000, 0x4041, false);
    s.guestCtrl(0x8000);
    expect(s.m.enabled).toBe(true);
    expect(s.deasserts()).toBe(1);
    s.m.notify(1);
    expect(s.sent).toEqual([{ addr: 0xfee01000, data: 0x4041, v: 1 }]);
  });

  it('does nothing for a vector the device has not declared in use, or out of range', () => {
    const s = setup();
    s.program(0, 0xfee00000, 0x30, false);
    s.guestCtrl(0x8000);
    s.m.notify(0);
    s.m.notify(7);
    s.m.notify(0xffff);
    expect(s.sent).toEqual([]);
    expect(s.m.pbaRead(0)).toBe(0);
  });

  it('a masked vector sets its PBA bit and fires when unmasked', () => {
    const s = setup();
    s.m.vectorUse(2);
    s.program(2, 0xfee00000, 0x51, true);
    s.guestCtrl(0x8000);
    s.m.notify(2);
    expect(s.sent).toEqual([]);
    expect(s.m.pbaRead(0)).toBe(0b100);
    s.m.tableWrite(16 * 2 + 12, 0);
    expect(s.sent).toEqual([{ addr: 0xfee00000, data: 0x51, v: 2 }]);
    expect(s.m.pbaRead(0)).toBe(0);
  });

  it('Function Mask holds every vector pending until it is cleared', () => {
    const s = setup();
    s.m.vectorUse(0);
    s.m.vectorUse(1);
    s.program(0, 0xfee00000, 0x40, false);
    s.program(1, 0xfee00000, 0x41, false);
    s.guestCtrl(0xc000);
    expect(s.m.functionMasked).toBe(true);
    s.m.notify(0);
    s.m.notify(1);
    expect(s.m.pbaRead(0)).toBe(0b11);
    s.guestCtrl(0x8000);
    expect(s.sent.map((x) => x.data)).toEqual([0x40, 0x41]);
    expect(s.m.pbaRead(0)).toBe(0);
  });

  it('while MSI-X is disabled a vector only pends; enabling delivers it', () => {
    const s = setup();
    s.m.vectorUse(0);
    s.program(0, 0xfee00000, 0x40, false);
    s.m.notify(0);
    expect(s.m.isPending(0)).toBe(true);
    s.guestCtrl(0x8000);
    expect(s.sent.length).toBe(1);
  });

  it('releasing a vector clears its pending bit', () => {
    const s = setup();
    s.m.vectorUse(1);
    s.m.notify(1);
    expect(s.m.isPending(1)).toBe(true);
    s.m.vectorUnuse(1);
    expect(s.m.isPending(1)).toBe(false);
    expect(s.m.vectorUse(3)).toBe(false);
  });

  it('reset disables, clears the table and masks every vector', () => {
    const s = setup();
    s.program(0, 0xfee00000, 0x40, false);
    s.guestCtrl(0x8000);
    s.m.reset();
    expect(s.m.enabled).toBe(false);
    expect(s.m.tableRead(0)).toBe(0);
    expect(s.m.tableRead(12)).toBe(1);
  });
});
