import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { ScsiBus } from './bus.js';
import { INQUIRY, REPORT_LUNS, REQUEST_SENSE, SENSE, TEST_UNIT_READY, TYPE_DISK, parseSense, type SenseCode } from './defs.js';
import { ScsiDeviceCommon, type ScsiDevice } from './device.js';
import type { ScsiRequest } from './request.js';

/**
 * A device whose handler completes every command at once with no data: GOOD by default (enough
 * to exercise the bus), else `status()` after building `sense` when given; `releasesRequest`
 * as its handler says.
 */
function stubDevice(
  name: string,
  addr: { id?: number; lun?: number },
  o: { releasesRequest?: boolean; status?: () => number; sense?: SenseCode } = {},
): ScsiDevice {
  const status = o.status ?? ((): number => 0);
  const dev: ScsiDevice = {
    name,
    common: new ScsiDeviceCommon(addr),
    type: TYPE_DISK,
    blocksize: 512,
    newHandler: (req) => ({
      ...(o.releasesRequest === undefined ? {} : { releasesRequest: o.releasesRequest }),
      sendCommand() {
        if (o.sense !== undefined && status() !== 0) req.buildSense(o.sense);
        req.complete(status());
        return 0;
      },
      continue() {},
      cancelIo: () => false,
    }),
    reset() {
      dev.common.purgeRequests(SENSE.RESET);
    },
  };
  return dev;
}

const BUS = { tcq: true, maxChannel: 0, maxTarget: 255, maxLun: 16383 };

interface Answer {
  status: number;
  data: Uint8Array;
  residual: number;
  sense: SenseCode | undefined;
  req: ScsiRequest;
}

/** Run one command the way an HBA does, with a data-in buffer of `alloc` bytes. */
function run(bus: ScsiBus, id: number, lun: number, cdb: number[], alloc = 256): Answer {
  const dev = bus.find(0, id, lun);
  if (!dev) throw new Error('no target');
  const data = new Uint8Array(alloc);
  let done: ScsiRequest | undefined;
  const req = bus.newRequest(dev, { tag: 1, lun, cdb: Uint8Array.from([...cdb, ...new Array(16).fill(0)].slice(0, 16)), data, onComplete: (r) => (done = r) });
  if (req.enqueue() !== 0) req.continue();
  if (!done) throw new Error('not complete');
  const sense = req.getSense();
  return { status: req.status, data: data.subarray(0, alloc - req.residual), residual: req.residual, sense: sense.length ? parseSense(sense) : undefined, req };
}

const cdb16 = (op: number, alloc: number) => [op, 0, 0, 0, 0, 0, (alloc >>> 24) & 0xff, (alloc >>> 16) & 0xff, (alloc >>> 8) & 0xff, alloc & 0xff, 0, 0];
const inquiry = (alloc: number, evpd = 0, page = 0) => [INQUIRY, evpd, page, 0, alloc, 0];

function busWith(...addrs: { id?: number; lun?: number }[]): { bus: ScsiBus; devs: ScsiDevice[] } {
  const bus = new ScsiBus(BUS);
  const devs = addrs.map((a, i) => {
    const d = stubDevice(`d${i}`, a);
    const r = bus.attach(d);
    if (E.isLeft(r)) throw new Error(r.left.message);
    return d;
  });
  // Consume the power-on unit attention of every device.
  for (const d of devs) d.common.unitAttention = SENSE.NO_SENSE;
  return { bus, devs };
}

describe('scsi-bus: addressing (scsi_device_find, scsi_qdev_realize)', () => {
  it('chooses the first free target, then the first free LUN', () => {
    const { devs } = busWith({}, {}, { id: 3 }, { id: 3 });
    expect(devs.map((d) => [d.common.id, d.common.lun])).toEqual([[0, 0], [1, 0], [3, 0], [3, 1]]);
  });

  it("refuses a taken address with QEMU's message", () => {
    const bus = new ScsiBus(BUS);
    expect(E.isRight(bus.attach(stubDevice('a', { id: 1, lun: 2 })))).toBe(true);
    const r = bus.attach(stubDevice('b', { id: 1, lun: 2 }));
    expect(r).toEqual(E.left({ _tag: 'AddressInUse', message: "lun already used by 'a'" }));
    expect(bus.attach(stubDevice('c', { id: 256 }))).toEqual(E.left({ _tag: 'BadAddress', message: 'bad scsi device id: 256' }));
    expect(bus.attach(stubDevice('c', { id: 0, lun: 16384 }))).toEqual(E.left({ _tag: 'BadAddress', message: 'bad scsi device lun: 16384' }));
  });

  it('finds the exact LUN, else the newest device of that target, else nothing', () => {
    const { bus, devs } = busWith({ id: 2, lun: 1 }, { id: 2, lun: 5 });
    expect(bus.find(0, 2, 1)).toBe(devs[0]);
    expect(bus.find(0, 2, 7)).toBe(devs[1]);
    expect(bus.find(0, 3, 0)).toBeUndefined();
  });
});

describe('scsi-bus: REPORT LUNS and absent LUNs (reqops_target_command)', () => {
  it('lists LUN 0 first even when absent, then the other LUNs newest first', () => {
    const { bus } = busWith({ id: 0, lun: 3 }, { id: 0, lun: 300 }, { id: 1, lun: 4 });
    const a = run(bus, 0, 0, cdb16(REPORT_LUNS, 64));
    expect(a.status).toBe(0);
    // Header: list length 24 (3 entries), then LUN 0, 300 (flat addressing 0x41 0x2c), 3.
    expect([...a.data]).toEqual([0, 0, 0, 24, 0, 0, 0, 0, ...new Array(8).fill(0), 0x41, 0x2c, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]);
  });

  it('REPORT LUNS addressed to a LUN other than 0 is LOGICAL UNIT NOT SUPPORTED (scsi_target_send_command)', () => {
    const { bus } = busWith({ id: 0, lun: 3 });
    expect(run(bus, 0, 3, cdb16(REPORT_LUNS, 64)).sense).toEqual(SENSE.LUN_NOT_SUPPORTED);
  });

  it('REPORT LUNS: an allocation length below 16 or SELECT REPORT above 2 is INVALID FIELD', () => {
    const { bus } = busWith({ id: 0, lun: 0 });
    expect(run(bus, 0, 0, cdb16(REPORT_LUNS, 15)).sense).toEqual(SENSE.INVALID_FIELD);
    const c = cdb16(REPORT_LUNS, 64);
    c[2] = 3;
    expect(run(bus, 0, 0, c).sense).toEqual(SENSE.INVALID_FIELD);
  });

  it('INQUIRY of an absent LUN: peripheral qualifier 3, device type 0x1f', () => {
    const { bus } = busWith({ id: 0, lun: 0 });
    const a = run(bus, 0, 5, inquiry(36));
    expect(a.status).toBe(0);
    expect(a.data.length).toBe(36);
    expect(a.data[0]).toBe(0x7f);
    expect(a.data.subarray(1).every((b) => b === 0)).toBe(true);
  });

  it('INQUIRY of an absent LUN 0: qualifier 1, "QEMU    QEMU TARGET     2.5", version 5, HiSup, CmdQue', () => {
    const { bus } = busWith({ id: 0, lun: 2 });
    const a = run(bus, 0, 0, inquiry(36));
    const expected = new Uint8Array(36);
    expected.set([0x3f, 0, 5, 0x12, 31, 0, 0, 0x12]);
    expected.set(Buffer.from('QEMU    QEMU TARGET     2.5'), 8);
    expect(a.data).toEqual(expected);
  });

  it('INQUIRY VPD page 0 of an absent LUN, as QEMU lays it out', () => {
    const { bus } = busWith({ id: 0, lun: 2 });
    expect([...run(bus, 0, 0, inquiry(255, 1, 0)).data]).toEqual([0, 0, 1, 0]);
    expect(run(bus, 0, 0, inquiry(255, 1, 0x80)).sense).toEqual(SENSE.INVALID_FIELD);
  });

  it('REQUEST SENSE and other commands to an absent LUN: LOGICAL UNIT NOT SUPPORTED', () => {
    const { bus } = busWith({ id: 0, lun: 0 });
    const rs = run(bus, 0, 9, [REQUEST_SENSE, 0, 0, 0, 252, 0]);
    expect(rs.status).toBe(0);
    expect(parseSense(rs.data)).toEqual(SENSE.LUN_NOT_SUPPORTED);
    expect(rs.data.length).toBe(18);
    const tur = run(bus, 0, 9, [TEST_UNIT_READY, 0, 0, 0, 0, 0]);
    expect(tur.status).toBe(2);
    expect(tur.sense).toEqual(SENSE.LUN_NOT_SUPPORTED);
  });

  it('an absent LUN 0: TEST UNIT READY is GOOD, an unknown opcode is INVALID OPCODE', () => {
    const { bus } = busWith({ id: 0, lun: 1 });
    expect(run(bus, 0, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]).status).toBe(0);
    expect(run(bus, 0, 0, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]).sense).toEqual(SENSE.INVALID_OPCODE);
  });

  it('a CDB of a reserved group or shorter than its group is INVALID COMMAND OPERATION CODE', () => {
    const { bus } = busWith({ id: 0, lun: 0 });
    const dev = bus.find(0, 0, 0)!;
    for (const cdb of [[0x60, 0, 0, 0, 0, 0], [0xe0], [0x28, 0, 0], []]) {
      let status = -1;
      const req = bus.newRequest(dev, { tag: 0, lun: 0, cdb: Uint8Array.from(cdb), onComplete: (r) => (status = r.status) });
      expect(req.enqueue()).toBe(0);
      expect(status).toBe(2);
      expect(parseSense(req.getSense())).toEqual(SENSE.INVALID_OPCODE);
    }
  });
});

describe('scsi-bus: unit attentions', () => {
  it('a new device reports POWER ON/RESET once, then works; INQUIRY does not consume it', () => {
    const bus = new ScsiBus(BUS);
    bus.attach(stubDevice('a', { id: 0, lun: 0 }));
    expect(run(bus, 0, 0, inquiry(36)).status).toBe(0);
    const first = run(bus, 0, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]);
    expect(first.status).toBe(2);
    expect(first.sense).toEqual(SENSE.RESET);
    expect(run(bus, 0, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]).status).toBe(0);
  });

  it('hot-plug: REPORTED LUNS DATA HAS CHANGED, which REPORT LUNS clears', () => {
    const { bus } = busWith({ id: 0, lun: 0 });
    bus.attach(stubDevice('new', { id: 0, lun: 1 }), { reportChange: true });
    bus.find(0, 0, 1)!.common.unitAttention = SENSE.NO_SENSE;
    expect(run(bus, 0, 0, cdb16(REPORT_LUNS, 64)).status).toBe(0);
    expect(run(bus, 0, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]).status).toBe(0);
  });

  it('hot-unplug: the next command on another LUN gets REPORTED LUNS DATA HAS CHANGED', () => {
    const { bus, devs } = busWith({ id: 0, lun: 0 }, { id: 0, lun: 1 });
    expect(bus.detach(devs[1], { reportChange: true })).toBe(true);
    const a = run(bus, 0, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]);
    expect(a.sense).toEqual(SENSE.REPORTED_LUNS_CHANGED);
    expect(run(bus, 0, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]).status).toBe(0);
    expect(bus.find(0, 0, 1)).toBe(devs[0]);
  });

  it('a bus reset gives every device POWER ON, RESET; a later REPORTED LUNS CHANGED does not override it', () => {
    const { bus } = busWith({ id: 0, lun: 0 }, { id: 1, lun: 0 });
    bus.reset();
    bus.find(0, 0, 0)!.common.setUnitAttention(SENSE.REPORTED_LUNS_CHANGED);
    expect(run(bus, 0, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]).sense).toEqual(SENSE.RESET);
    expect(run(bus, 1, 0, [TEST_UNIT_READY, 0, 0, 0, 0, 0]).sense).toEqual(SENSE.RESET);
  });

  it('REQUEST SENSE after a unit attention returns it again (fixed or descriptor) and clears it', () => {
    const { bus, devs } = busWith({ id: 0, lun: 0 });
    devs[0].reset();
    const dev = devs[0];
    // A command fails with the unit attention; the HBA does not fetch autosense.
    let st = -1;
    const req = bus.newRequest(dev, { tag: 1, lun: 0, cdb: Uint8Array.from([0, 0, 0, 0, 0, 0]), onComplete: (r) => (st = r.status) });
    req.enqueue();
    expect(st).toBe(2);
    const desc = run(bus, 0, 0, [REQUEST_SENSE, 1, 0, 0, 252, 0]);
    expect([...desc.data]).toEqual([0x72, 0x06, 0x29, 0x00, 0, 0, 0, 0]);
    expect(dev.common.senseLen).toBe(0);
    // Nothing stored any more: the next REQUEST SENSE goes to the device itself.
    expect(run(bus, 0, 0, [REQUEST_SENSE, 0, 0, 0, 252, 0]).req.kind).toBe('device');
  });
});

describe('scsi-bus: freed requests carry later commands (ScsiRequest.free)', () => {
  const read10 = (lba: number, blocks: number) => Uint8Array.of(0x28, 0, 0, 0, (lba >> 8) & 0xff, lba & 0xff, 0, 0, blocks, 0);

  it('a completed request its handler let go of, once freed, is the next command with nothing of the last one left', () => {
    let st = 2;
    const bus = new ScsiBus(BUS);
    const dev = stubDevice('d', { id: 0, lun: 0 }, { releasesRequest: true, status: () => st, sense: SENSE.LBA_OUT_OF_RANGE });
    if (E.isLeft(bus.attach(dev))) throw new Error('attach');
    dev.common.unitAttention = SENSE.NO_SENSE;
    const done: number[] = [];
    const a = bus.newRequest(dev, { tag: 7, lun: 0, cdb: read10(9, 2), data: new Uint8Array(1024), onComplete: (r) => done.push(r.status) });
    a.hbaPrivate = 'hba';
    a.enqueue();
    expect({ status: a.status, senseLen: a.senseLen }).toEqual({ status: 2, senseLen: 18 });
    a.free();
    st = 0;
    const b = bus.newRequest(dev, { tag: 8, lun: 0, cdb: read10(3, 1), onComplete: (r) => done.push(r.status + 100) });
    expect(b).toBe(a);
    expect({ tag: b.tag, status: b.status, residual: b.residual, senseLen: b.senseLen, data: b.data, dataSize: b.dataSize, hba: b.hbaPrivate, lba: b.cmd.lba, xfer: b.cmd.xfer, enqueued: b.enqueued, listed: b.listed }).toEqual({
      tag: 8, status: -1, residual: 512, senseLen: 0, data: undefined, dataSize: 0, hba: undefined, lba: 3, xfer: 512, enqueued: false, listed: false,
    });
    b.enqueue();
    // The new command's own completion callback, not the old one's.
    expect(done).toEqual([2, 100]);
  });

  it('is not reused while it can still be reached: not freed, not complete, enqueued, or its handler keeps it', () => {
    const bus = new ScsiBus(BUS);
    const dev = stubDevice('d', { id: 0, lun: 0 }, { releasesRequest: true });
    const keeps = stubDevice('d', { id: 0, lun: 0 }, { releasesRequest: false });
    keeps.common.id = 1;
    for (const d of [dev, keeps]) {
      if (E.isLeft(bus.attach(d))) throw new Error('attach');
      d.common.unitAttention = SENSE.NO_SENSE;
    }
    const next = (d: ScsiDevice) => bus.newRequest(d, { tag: 1, lun: 0, cdb: read10(0, 1), onComplete: () => undefined });
    const notFreed = next(dev);
    notFreed.enqueue();
    const incomplete = next(dev);
    incomplete.free();
    const kept = next(keeps);
    kept.enqueue();
    kept.free();
    const fresh = [next(dev), next(dev), next(keeps)];
    for (const r of [notFreed, incomplete, kept]) expect(fresh).not.toContain(r);
    // Freed twice, it is handed out once.
    const twice = next(dev);
    twice.enqueue();
    twice.free();
    twice.free();
    const [x, y] = [next(dev), next(dev)];
    expect([x === twice, y === twice]).toEqual([true, false]);
  });
});
