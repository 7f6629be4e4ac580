/**
 * READ/WRITE through a memory drive, and what backend errors become under rerror/werror
 * (QEMU hw/scsi/scsi-disk.c scsi_disk_dma_command, scsi_handle_rw_error; scsi/utils.c
 * scsi_sense_from_errno).
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../hw/memory.js';
import type { Recorder } from '../../../sim/trace.js';
import { SENSE } from '../scsi-bus/defs.js';
import { FaultyBackend, cdb, expectCheck, expectGood, makeRig, read10, read12, read16, read6, run, sync10, write10, write12, write16, write6, type Rig } from './test-utils.js';

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function faulty(o: Parameters<typeof makeRig>[0] = {}): { r: Rig; f: FaultyBackend } {
  let f!: FaultyBackend;
  const r = makeRig({ ...o, backend: (b, env) => (f = new FaultyBackend(b, env)) });
  return { r, f };
}

describe('scsi-hd: data in and out', () => {
  it('WRITE(10) then READ(10) returns the data; residual 0', () => {
    const r = makeRig();
    const data = pattern(4096, 1);
    const w = run(r, write10(10, 8), { dataOut: data });
    expectGood(w);
    expect(w.xfer).toBe(-4096);
    const a = run(r, read10(10, 8), { dataIn: 4096 });
    expectGood(a);
    expect(a.xfer).toBe(4096);
    expect(a.residual).toBe(0);
    expect(a.data).toEqual(data);
  });

  it('every READ/WRITE size (6, 10, 12, 16) reaches the same blocks', () => {
    const r = makeRig();
    const cases = [
      [write6, read6],
      [write10, read10],
      [write12, read12],
      [write16, read16],
    ] as const;
    cases.forEach(([w, rd], i) => {
      const d = pattern(1024, 10 + i);
      expectGood(run(r, w(100 + 2 * i, 2), { dataOut: d }));
      expect(run(r, rd(100 + 2 * i, 2), { dataIn: 1024 }).data).toEqual(d);
    });
  });

  it('READ(6) with a transfer length of 0 reads 256 blocks; READ(10) of 0 blocks is GOOD with no data', () => {
    const r = makeRig();
    const a = run(r, read6(0, 0), { dataIn: 256 * 512 });
    expect(a.xfer).toBe(256 * 512);
    expectGood(a);
    const z = run(r, read10(5, 0), { dataIn: 0 });
    expect(z.xfer).toBe(0);
    expectGood(z);
  });

  it('data in guest memory through a scatter-gather list', () => {
    const r = makeRig();
    const mem = new GuestMemory(1 << 20);
    const d = pattern(1536, 3);
    mem.write(0x1000, d.subarray(0, 100));
    mem.write(0x8000, d.subarray(100));
    let done = false;
    const dev = r.bus.find(0, 0, 0)!;
    const w = r.bus.newRequest(dev, { tag: 1, lun: 0, cdb: write10(7, 3), data: { mem, sg: [{ addr: 0x1000, len: 100 }, { addr: 0x8000, len: 1436 }] }, onComplete: () => (done = true) });
    expect(w.enqueue()).toBe(-1536);
    w.continue();
    r.env.sim.run({ stop: () => done });
    expect(w.status).toBe(0);
    const back = run(r, read10(7, 3), { dataIn: 1536 });
    expect(back.data).toEqual(d);
  });

  it('a data-in buffer larger than the transfer: residual is what was left', () => {
    const r = makeRig();
    const a = run(r, read10(0, 1), { dataIn: 4096 });
    expect(a.residual).toBe(4096 - 512);
  });

  it('the range check: last block GOOD, one past is LBA OUT OF RANGE; a 0-block access just past the end is GOOD', () => {
    const r = makeRig({ size: 1024 * 1024 });
    expectGood(run(r, read10(2047, 1), { dataIn: 512 }));
    expectCheck(run(r, read10(2047, 2), { dataIn: 1024 }), SENSE.LBA_OUT_OF_RANGE);
    expectCheck(run(r, read16(2 ** 63, 1), { dataIn: 512 }), SENSE.LBA_OUT_OF_RANGE);
    expectGood(run(r, read10(2048, 0), { dataIn: 0 }));
  });

  it('RDPROTECT / WRPROTECT bits: INVALID FIELD IN CDB', () => {
    const r = makeRig();
    expectCheck(run(r, read10(0, 1, 0x20), { dataIn: 512 }), SENSE.INVALID_FIELD);
    expectCheck(run(r, write10(0, 1, 0x40), { dataOut: new Uint8Array(512) }), SENSE.INVALID_FIELD);
  });

  it('a read-only drive: writes are WRITE PROTECTED, reads work', () => {
    const r = makeRig({ readOnly: true });
    expectCheck(run(r, write10(0, 1), { dataOut: new Uint8Array(512) }), SENSE.WRITE_PROTECTED);
    expectGood(run(r, read10(0, 1), { dataIn: 512 }));
  });

  it('4 KiB logical blocks: LBA and length count 4 KiB blocks', () => {
    const r = makeRig({ props: { logical_block_size: 4096, physical_block_size: 4096 } });
    const d = pattern(8192, 9);
    const w = run(r, write10(3, 2), { dataOut: d });
    expect(w.xfer).toBe(-8192);
    const raw: Uint8Array[] = [];
    r.backend!.read(3 * 4096, 8192, (_e, v) => raw.push(Uint8Array.from(v!)));
    r.env.sim.run();
    expect(raw[0]).toEqual(d);
  });
});

describe('scsi-hd: FUA and SYNCHRONIZE CACHE', () => {
  it('WRITE(10) with FUA writes then flushes; without FUA no flush; WRITE AND VERIFY always flushes', () => {
    const { r, f } = faulty();
    run(r, write10(0, 1), { dataOut: new Uint8Array(512) });
    expect(f.calls).toEqual(['write']);
    f.calls.length = 0;
    run(r, write10(0, 1, 0x08), { dataOut: new Uint8Array(512) });
    expect(f.calls).toEqual(['write', 'flush']);
    f.calls.length = 0;
    run(r, cdb(0x2e, 0, 0, 0, 0, 0, 0, 0, 1, 0), { dataOut: new Uint8Array(512) });
    expect(f.calls).toEqual(['write', 'flush']);
  });

  it('READ(10) with FUA flushes before reading; READ(6) never does', () => {
    const { r, f } = faulty();
    run(r, read10(0, 1, 0x08), { dataIn: 512 });
    expect(f.calls).toEqual(['flush', 'read']);
  });

  it('SYNCHRONIZE CACHE(10) flushes and completes only when the flush has', () => {
    const { r, f } = faulty();
    const a = run(r, sync10(), { noRun: true });
    expect(a.status).toBe(-1);
    expect(f.calls).toEqual(['flush']);
  });

  it('SYNCHRONIZE CACHE(16) is not a scsi-disk command: INVALID COMMAND OPERATION CODE (as QEMU 7.2)', () => {
    expectCheck(run(makeRig(), cdb(0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), SENSE.INVALID_OPCODE);
  });
});

describe('scsi-hd: backend errors (scsi_sense_from_errno under rerror/werror)', () => {
  it('a read EIO: ABORTED COMMAND, I/O PROCESS TERMINATED; the buffer untouched', () => {
    const { r, f } = faulty();
    f.fail.add('read');
    const a = run(r, read10(0, 1), { dataIn: 512 });
    expectCheck(a, SENSE.IO_ERROR);
    expect([...a.senseBytes]).toEqual([0x70, 0, 0x0b, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x00, 0x06, 0, 0, 0, 0]);
  });

  it.each([
    ['EIO', SENSE.IO_ERROR],
    ['EROFS', SENSE.IO_ERROR],
    ['ENOTSUP', SENSE.IO_ERROR],
    ['EINVAL', SENSE.INVALID_FIELD],
    ['ENOMEDIUM', SENSE.NO_MEDIUM],
    ['ENOSPC', SENSE.SPACE_ALLOC_FAILED],
    ['ENODATA', SENSE.READ_ERROR],
    ['EREMOTEIO', SENSE.TARGET_FAILURE],
  ] as const)('a write %s with werror=report', (errno, sense) => {
    const { r, f } = faulty({ props: { werror: 'report' } });
    f.fail.add('write');
    f.errno = errno;
    expectCheck(run(r, write10(0, 1), { dataOut: new Uint8Array(512) }), sense);
  });

  it('rerror=ignore: the failed read completes GOOD', () => {
    const { r, f } = faulty({ props: { rerror: 'ignore' } });
    f.fail.add('read');
    expectGood(run(r, read10(0, 1), { dataIn: 512 }));
  });

  it('werror=auto (the drive default, enospc): EIO is reported, ENOSPC stops and is retried on resume', () => {
    const { r, f } = faulty();
    f.fail.add('write');
    expectCheck(run(r, write10(0, 1), { dataOut: new Uint8Array(512) }), SENSE.IO_ERROR);
    f.errno = 'ENOSPC';
    const d = pattern(512, 5);
    const a = run(r, write10(4, 1), { dataOut: d });
    expect(a.status).toBe(-1);
    expect(r.stops).toEqual([{ dev: 'disk0', isRead: false, error: { errno: 'ENOSPC', message: 'injected ENOSPC' } }]);
    expect(r.disk.common.requests.size).toBe(1);
    // The host frees space; the VM continues.
    f.fail.clear();
    r.disk.resume();
    r.env.sim.run();
    expect(a.outcome.done).toBe(true);
    expect(a.req.status).toBe(0);
    expect(run(r, read10(4, 1), { dataIn: 512 }).data).toEqual(d);
  });

  it('werror=stop on a failed SYNCHRONIZE CACHE: resume sends it again', () => {
    const { r, f } = faulty({ props: { werror: 'stop' } });
    f.fail.add('flush');
    run(r, sync10());
    expect(r.stops).toHaveLength(1);
    f.fail.clear();
    f.calls.length = 0;
    r.disk.resume();
    r.env.sim.run();
    expect(f.calls).toEqual(['flush']);
    expect(r.disk.common.requests.size).toBe(0);
  });

  it('rerror=stop on a read: no stop for writes, a stop for reads', () => {
    const { r, f } = faulty({ props: { rerror: 'stop', werror: 'report' } });
    f.fail.add('read').add('write');
    expectCheck(run(r, write10(0, 1), { dataOut: new Uint8Array(512) }), SENSE.IO_ERROR);
    expect(run(r, read10(0, 1), { dataIn: 512 }).status).toBe(-1);
    expect(r.stops.map((s) => s.isRead)).toEqual([true]);
  });

  it('a cancel while I/O is in flight completes as canceled when the I/O returns', () => {
    const r = makeRig();
    const a = run(r, read10(0, 8), { dataIn: 4096, noRun: true });
    expect(a.status).toBe(-1);
    a.req.cancel();
    expect(a.outcome.canceled).toBe(false);
    r.env.sim.run();
    expect(a.outcome).toEqual({ done: false, canceled: true });
    expect(a.req.status).toBe(-1);
  });

  it('a reported failure is QMP\'s BLOCK_IO_ERROR in the trace, and the CHECK CONDITION a note', () => {
    const { r, f } = faulty({ props: { werror: 'report' } });
    const rec: Recorder['events'] = [];
    r.env.trace.attach((e) => rec.push(e));
    f.fail.add('write');
    run(r, write10(0, 1), { dataOut: new Uint8Array(512) });
    expect(rec.filter((e) => e.kind === 'block-io-error')).toMatchObject([{ dev: 'disk0', operation: 'write', action: 'report', nospace: false, reason: 'EIO' }]);
    expect(rec.filter((e) => e.kind === 'note').map((e) => (e as { text: string }).text)).toEqual(['tag 7: CHECK CONDITION key 0b asc 00 ascq 06']);
  });
});

describe('scsi-hd: READ/WRITE handlers are reused once their command is over', () => {
  it('a finished command\'s handler serves the next one and starts clean (no FUA, no stale position)', () => {
    const { r, f } = faulty();
    const w = run(r, write10(4, 1, 0x08), { dataOut: pattern(512, 3) });
    expectGood(w);
    expect(f.calls).toEqual(['write', 'flush']);
    f.calls.length = 0;
    const a = run(r, read10(4, 1), { dataIn: 512 });
    expect(a.req.handler).toBe(w.req.handler);
    expectGood(a);
    expect(f.calls).toEqual(['read']);
    expect(a.data).toEqual(pattern(512, 3));
  });

  it('a handler whose I/O was out at a cancel is reused only after the cancel finished; one stopped by werror is not', () => {
    const r = makeRig();
    const c = run(r, read10(0, 8), { dataIn: 4096, noRun: true });
    const busy = run(r, write10(8, 1), { dataOut: pattern(512, 9), noRun: true });
    expect(busy.req.handler).not.toBe(c.req.handler);
    c.req.cancel();
    r.env.sim.run();
    expect(c.outcome).toEqual({ done: false, canceled: true });
    expect(busy.req.status).toBe(0);
    const next = run(r, read10(8, 1), { dataIn: 512 });
    expect([c.req.handler, busy.req.handler]).toContain(next.req.handler);
    expect(next.data).toEqual(pattern(512, 9));
    // The old requests never reach the handler again: continue and cancel stop at them.
    c.req.continue();
    c.req.cancel();
    busy.req.continue();
    expect(next.req.status).toBe(0);

    const s = faulty({ props: { werror: 'stop' } });
    s.f.fail.add('write');
    const stopped = run(s.r, write10(0, 1), { dataOut: pattern(512, 1) });
    expect(stopped.req.retry).toBe(true);
    const other = run(s.r, read10(0, 1), { dataIn: 512 });
    expect(other.req.handler).not.toBe(stopped.req.handler);
    s.f.fail.clear();
    s.r.disk.resume();
    s.r.env.sim.run();
    expect(stopped.req.status).toBe(0);
    expect(run(s.r, read10(0, 1), { dataIn: 512 }).data).toEqual(pattern(512, 1));
  });
});
