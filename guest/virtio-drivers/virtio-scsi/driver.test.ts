/**
 * VirtioScsiDriver over the fake virtio-scsi device: probe (features, config, queues,
 * the sizes written back), the scan it starts (REPORT LUNS, INQUIRY, VPD pages), the
 * request chains it builds, kicks per batch, and the mapping of response codes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as S from '../../../hw/scsi/status.js';
import { hasFeature } from '../../../hw/virtio/constants.js';
import * as V from '../../../hw/virtio/scsi.js';
import { testKernel } from '../../blockdev/testing.js';
import { newCmnd, type ScsiCmnd } from '../../scsi/cmnd.js';
import { ScsiDevice } from '../../scsi/device.js';
import { scsiExecute } from '../../scsi/execute.js';
import { FakeScsiTarget, type ScsiResponder, type TargetReply, type TargetRequest } from '../../scsi/testing.js';
import { WRITE_10 } from '../../../hw/scsi/opcodes.js';
import { GuestMemory } from '../../../hw/memory.js';
import { encodeVirtioScsiCmdReq, virtioScsiCmdReqSize } from '../../../hw/virtio/scsi-req.js';
import { virtscsiApplyResponse, virtscsiCompleteFromBytes, virtscsiCompleteFromMem, virtscsiHostByte } from './complete.js';
import { VIRTSCSI_CDB_SIZE, VIRTSCSI_SENSE_SIZE, VirtioScsiDriver, writeCmdReq } from './driver.js';
import { bio, bootScsi, bootSdOver, FakeVirtioScsiDevice } from './testing.js';

describe('probe', () => {
  it('negotiates HOTPLUG and CHANGE, reads the config, writes cdb_size 32 and sense_size 96', () => {
    const t = new FakeScsiTarget();
    t.addLun(0, 0);
    const { drv, dev } = bootScsi(t, { segMax: 64, maxSectors: 1024, cmdPerLun: 16, maxTarget: 7, maxLun: 255, queueSize: 64 });
    expect(hasFeature(drv.info.features, V.VIRTIO_SCSI_F_HOTPLUG)).toBe(true);
    expect(hasFeature(drv.info.features, V.VIRTIO_SCSI_F_CHANGE)).toBe(true);
    expect(hasFeature(drv.info.features, V.VIRTIO_SCSI_F_INOUT)).toBe(false);
    expect(dev.readConfig(V.VIRTIO_SCSI_CFG_CDB_SIZE, 4)).toBe(VIRTSCSI_CDB_SIZE);
    expect(dev.readConfig(V.VIRTIO_SCSI_CFG_SENSE_SIZE, 4)).toBe(VIRTSCSI_SENSE_SIZE);
    const h = drv.host;
    expect({ canQueue: h.canQueue, cmdPerLun: h.cmdPerLun, maxSectors: h.maxSectors, sg: h.sgTablesize, maxId: h.maxId, maxLun: h.maxLun, cmdLen: h.maxCmdLen }).toEqual({
      canQueue: 64,
      cmdPerLun: 16,
      maxSectors: 1024,
      sg: 64,
      maxId: 8,
      maxLun: 256 + 0x4000,
      cmdLen: 32,
    });
    expect(dev.eventBuffers).toBe(8);
  });

  it('zero config fields take Linux defaults: one queue, seg_max 1, max_sectors 0xffff, cmd_per_lun 1', () => {
    const t = new FakeScsiTarget();
    t.addLun(0, 0);
    const { drv } = bootScsi(t, { numQueues: 0, segMax: 0, maxSectors: 0, cmdPerLun: 0, maxTarget: 0 });
    expect([drv.info.numQueues, drv.host.sgTablesize, drv.host.maxSectors, drv.host.cmdPerLun]).toEqual([1, 1, 0xffff, 1]);
  });

  it('one request queue per CPU at most (num_queues capped by nr_cpu_ids)', () => {
    const t = new FakeScsiTarget();
    t.addLun(0, 0);
    expect(bootScsi(t, { numQueues: 4, cpus: 2 }).drv.info.numQueues).toBe(2);
    expect(bootScsi(t, { numQueues: 2, cpus: 4 }).drv.info.numQueues).toBe(2);
  });

  it('without HOTPLUG no event buffers are posted', () => {
    const t = new FakeScsiTarget();
    t.addLun(0, 0);
    const { dev } = bootScsi(t, { features: 0x1_0000_0000n | (1n << 29n) });
    expect(dev.eventBuffers).toBe(0);
  });
});

describe('scan', () => {
  it('finds LUNs by REPORT LUNS on each target that answers, with INQUIRY data and VPD pages', () => {
    const t = new FakeScsiTarget();
    t.addLun(0, 0);
    t.addLun(0, 3);
    t.addLun(2, 0);
    const { drv } = bootScsi(t);
    expect([...drv.host.devices.keys()]).toEqual(['0:0:0', '0:0:3', '0:2:0']);
    const d = drv.host.lookup(0, 0, 3)!;
    expect({ vendor: d.vendor, model: d.model, level: d.scsiLevel, tagged: d.tagged, state: d.state }).toEqual({ vendor: 'QEMU', model: 'QEMU HARDDISK', level: 6, tagged: true, state: 'running' });
    expect(Object.keys(d.vpd).sort()).toEqual(['pg0', 'pg80', 'pg83', 'pgb0', 'pgb1', 'pgb2']);
    expect(t.log.filter((l) => l.op === 'REPORT_LUNS').map((l) => l.target)).toEqual([0, 2]);
  });

  it('falls back to probing LUNs in turn when REPORT LUNS fails, stopping at the first gap', () => {
    const t = new FakeScsiTarget();
    t.reportLunsSupported = false;
    for (const l of [0, 1, 2, 4]) t.addLun(0, l);
    const { drv } = bootScsi(t, { maxTarget: 0 });
    expect([...drv.host.devices.keys()]).toEqual(['0:0:0', '0:0:1', '0:0:2']);
  });

  it('does not ask REPORT LUNS of a SCSI-2 device (it probes LUNs up to 7)', () => {
    const t = new FakeScsiTarget();
    t.addLun(0, 0, { version: 2 });
    t.addLun(0, 1, { version: 2 });
    const { drv } = bootScsi(t, { maxTarget: 0 });
    expect(t.log.some((l) => l.op === 'REPORT_LUNS')).toBe(false);
    expect([...drv.host.devices.keys()]).toEqual(['0:0:0', '0:0:1']);
  });
});

describe('response codes (virtscsi_complete_cmd)', () => {
  it('maps each response to its host byte; NEXUS FAILURE is a reservation conflict', () => {
    const want: [number, number][] = [
      [V.VIRTIO_SCSI_S_OK, S.DID_OK],
      [V.VIRTIO_SCSI_S_OVERRUN, S.DID_ERROR],
      [V.VIRTIO_SCSI_S_ABORTED, S.DID_ABORT],
      [V.VIRTIO_SCSI_S_BAD_TARGET, S.DID_BAD_TARGET],
      [V.VIRTIO_SCSI_S_RESET, S.DID_RESET],
      [V.VIRTIO_SCSI_S_BUSY, S.DID_BUS_BUSY],
      [V.VIRTIO_SCSI_S_TRANSPORT_FAILURE, S.DID_TRANSPORT_DISRUPTED],
      [V.VIRTIO_SCSI_S_TARGET_FAILURE, S.DID_BAD_TARGET],
      [V.VIRTIO_SCSI_S_FAILURE, S.DID_ERROR],
      [200, S.DID_ERROR],
    ];
    for (const [r, h] of want) expect([r, virtscsiHostByte(r)]).toEqual([r, h]);
    const cmd = fakeCmd();
    virtscsiApplyResponse(cmd, { senseLen: 0, resid: 0, statusQualifier: 0, status: 0, response: V.VIRTIO_SCSI_S_NEXUS_FAILURE, sense: new Uint8Array(0) });
    expect([cmd.hostByte, cmd.status]).toEqual([S.DID_OK, S.SAM_STAT_RESERVATION_CONFLICT]);
  });

  it('caps the residual at the buffer and the sense at 96 bytes', () => {
    const cmd = fakeCmd(512);
    virtscsiApplyResponse(cmd, { senseLen: 500, resid: 1 << 30, statusQualifier: 0, status: 2, response: 0, sense: new Uint8Array(96).fill(0x70) });
    expect([cmd.resid, cmd.sense.length, cmd.status]).toEqual([512, 96, 2]);
  });

  it('any response bytes give a result, never a throw (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 140 }), fc.nat({ max: 1 << 20 }), (bytes, len) => {
        const cmd = fakeCmd(len);
        virtscsiCompleteFromBytes(cmd, bytes);
        expect(cmd.resid).toBeLessThanOrEqual(len);
        expect(cmd.sense.length).toBeLessThanOrEqual(96);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the command request and response in place', () => {
  it('writeCmdReq writes the bytes encodeVirtioScsiCmdReq gives, within a page and across one (property)', () => {
    const mem = new GuestMemory(1 << 20);
    const size = virtioScsiCmdReqSize(VIRTSCSI_CDB_SIZE, false);
    fc.assert(
      fc.property(fc.nat(255), fc.nat(0x3fff), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ minLength: 6, maxLength: 16 }), fc.constantFrom(0x1000, 0x1fc0, 0x2fe0, 0x3ffb), (target, lun, tag, cdb, addr) => {
        mem.fill(addr, size, 0xee);
        writeCmdReq(mem, addr, target, lun, tag, cdb);
        const want = encodeVirtioScsiCmdReq({ lun: V.encodeVirtioScsiLun(target, lun), tag: BigInt(tag), taskAttr: V.VIRTIO_SCSI_S_SIMPLE, prio: 0, crn: 0, cdb }, VIRTSCSI_CDB_SIZE);
        expect(mem.read(addr, size)).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it('virtscsiCompleteFromMem gives the result virtscsiCompleteFromBytes gives over the same bytes (property)', () => {
    const mem = new GuestMemory(1 << 20);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 108, maxLength: 108 }), fc.nat(1 << 16), fc.constantFrom(0, 1, 96, 500), (bytes, len, senseLen) => {
        bytes.set([senseLen & 0xff, senseLen >> 8, 0, 0]);
        const a = fakeCmd(len);
        const b = fakeCmd(len);
        virtscsiCompleteFromBytes(a, bytes);
        mem.write(0x2000, bytes);
        virtscsiCompleteFromMem(b, mem, 0x2000, VIRTSCSI_SENSE_SIZE);
        expect([b.status, b.hostByte, b.resid, [...b.sense]]).toEqual([a.status, a.hostByte, a.resid, [...a.sense]]);
      }),
      { numRuns: 100 },
    );
  });
});

/** A target that keeps the answer to the next `hold` WRITEs until the test gives it (`held`). */
class HoldingTarget implements ScsiResponder {
  hold = 0;
  readonly held: ((x: TargetReply) => void)[] = [];
  readonly writes: number[] = [];
  constructor(readonly t: FakeScsiTarget) {}
  hasTarget(target: number): boolean {
    return this.t.hasTarget(target);
  }
  command(r: TargetRequest, reply: (x: TargetReply) => void): void {
    if (r.cdb[0] === WRITE_10) this.writes.push(r.cdb[5]);
    if (r.cdb[0] === WRITE_10 && this.hold > 0) {
      this.hold--;
      this.held.push(reply);
      return;
    }
    this.t.command(r, reply);
  }
}

describe('a late answer after an abort (the command is reused by its tag)', () => {
  it('completes nothing: the tag\'s next request waits for its own answer', () => {
    const ht = new HoldingTarget(new FakeScsiTarget());
    ht.t.addLun(0, 0);
    const b = bootSdOver(ht, { hostHandlesTimeouts: false, tmfKeepsTasks: true });
    const { kernel, sim, tasks } = b.tk;
    const buf = kernel.alloc.alloc(4096, 4096);
    const write = (sector: number) => ({ op: 'write' as const, sector, sectors: 8, segments: [{ addr: buf, len: 4096 }] });
    // The first write's answer is held: it times out, ABORT TASK succeeds (the device keeps
    // the task), and the retry goes out on the same tag and is answered.
    ht.hold = 1;
    expect(bio(b, 'sda', write(8))).toBe('ok');
    expect(b.drv.tmf.sent).toEqual([V.virtioScsiTmfName(V.VIRTIO_SCSI_T_TMF_ABORT_TASK)]);
    expect(ht.writes).toEqual([8, 8]);
    // The next write gets the freed tag (and its command); its answer is held too.
    ht.hold = 1;
    let st: string | undefined;
    tasks[0].run('io', () => void b.sd.disks.get('sda')!.bdev.submitBio(tasks[0], write(16)).subscribe((s) => (st = s)));
    sim.run({ until: sim.now + 1_000_000 });
    expect(ht.writes).toEqual([8, 8, 16]);
    expect(ht.held).toHaveLength(2);
    // Now the device answers the first write's aborted first trip, late: nothing completes.
    ht.held[0]({ status: S.SAM_STAT_GOOD });
    sim.run({ until: sim.now + 1_000_000 });
    expect(st).toBeUndefined();
    expect(b.drv.host.busy).toBe(1);
    // Its own answer (MEDIUM ERROR, unrecovered: failed at once) completes it.
    ht.held[1]({ status: S.SAM_STAT_CHECK_CONDITION, sense: Uint8Array.of(0x70, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0) });
    sim.run({ stop: () => st !== undefined, until: sim.now + 1e9 });
    expect(st).toBe('medium');
    expect(b.drv.host.busy).toBe(0);
  });
});

describe('command areas (struct virtio_scsi_cmd in the command\'s private data)', () => {
  /** Count the driver's 256-byte area allocations and frees from now on. */
  const countAreas = (b: { tk: { kernel: { alloc: { alloc(n: number, a?: number): number; free(addr: number, n: number, a?: number): void } } } }) => {
    const a = b.tk.kernel.alloc;
    const n = { allocs: 0, frees: 0 };
    const alloc = a.alloc.bind(a);
    const free = a.free.bind(a);
    a.alloc = (len, align) => (len === 256 && n.allocs++, alloc(len, align));
    a.free = (addr, len, align) => (len === 256 && n.frees++, free(addr, len, align));
    return n;
  };

  it("a block request's tag keeps its area trip after trip; the midlayer's own commands give theirs back", () => {
    const t = new FakeScsiTarget();
    t.addLun(0, 0);
    const b = bootSdOver(t);
    const n = countAreas(b);
    const buf = b.tk.kernel.alloc.alloc(4096, 4096);
    for (let i = 0; i < 5; i++) {
      expect(bio(b, 'sda', { op: 'write', sector: 8 * i, sectors: 8, segments: [{ addr: buf, len: 4096 }] })).toBe('ok');
    }
    // One tag, one area: allocated by the first request, kept since.
    expect(n).toEqual({ allocs: 1, frees: 0 });
    // A command of the midlayer's own (no block request) allocates one and frees it when answered.
    const sdev = b.drv.host.lookup(0, 0, 0)!;
    let done = false;
    b.tk.tasks[0].run('tur', () => scsiExecute(sdev, Uint8Array.of(0, 0, 0, 0, 0, 0), { timeoutMs: 30_000, retries: 0 }, () => (done = true)));
    b.tk.sim.run({ stop: () => done, until: b.tk.sim.now + 1e9 });
    expect(done).toBe(true);
    expect(n).toEqual({ allocs: 2, frees: 1 });
  });
});

function fakeCmd(bufflen = 0): ScsiCmnd {
  const tk = testKernel(1);
  const t = new FakeScsiTarget();
  t.addLun(0, 0);
  const dev = new FakeVirtioScsiDevice(tk.kernel, t);
  let drv: VirtioScsiDriver | undefined;
  tk.kernel.cpus[0].schedule('probe', () => {
    const d = VirtioScsiDriver.probe(tk.kernel, dev, 0);
    if (!('_tag' in d)) drv = d;
  });
  tk.sim.run({ stop: () => drv !== undefined });
  const sdev = new ScsiDevice(drv!.host, 0, 0, 0);
  return newCmnd({ id: 1, device: sdev, cdb: Uint8Array.of(0), direction: 'from-device', sg: bufflen ? [{ addr: 0x100000, len: bufflen }] : [], hwq: 0, now: 0, allowed: 5, timeoutMs: 30000, finish: () => undefined });
}
