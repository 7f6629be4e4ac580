/**
 * rerror/werror policies in a booted VM, and QMP stop/cont: a stopped request stops the
 * VM (run state io-error) without the guest hearing of it, the guest's clock stands still
 * while it is stopped (no SCSI timeout fires however long the stop), and `cont` retries
 * the request, which then completes; report, ignore and enospc do what QEMU's do.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { BlkStatus } from '../guest/blockdev/request.js';
import { pattern } from '../guest/vfs/testing.js';
import { parseQemuArgs } from './cmdline/index.js';
import { vmErrorMessage } from './errors.js';
import { guestDisk } from './guest-boot.js';
import { startMachine, type Machine } from './machine.js';
import { cont, stopVm } from './runstate.js';
import { bootVm } from './testing.js';

const MiB = 1 << 20;
const S = 1_000_000_000;

/** A raw drive whose first write (or read) fails with `errno`, once: raw over blkdebug over memory (raw raises the read_aio/write_aio events). */
function faulty(id: string, errno: number, iotype: 'write' | 'read' = 'write'): string[] {
  const ev = iotype === 'write' ? 'write_aio' : 'read_aio';
  return [
    '-blockdev',
    `driver=raw,node-name=${id},file.driver=blkdebug,file.image.driver=memory,file.image.size=${16 * MiB},file.inject-error.0.event=${ev},file.inject-error.0.errno=${errno},file.inject-error.0.once=on`,
  ];
}

function scsiVm(errno: number, props: string, iotype: 'write' | 'read' = 'write'): Machine {
  return bootVm(['-m', '256M', ...faulty('d0', errno, iotype), '-device', 'virtio-scsi-pci,id=scsi0', '-device', `scsi-hd,drive=d0,id=hd0${props}`]);
}

function blkVm(errno: number, props: string, iotype: 'write' | 'read' = 'write'): Machine {
  return bootVm(['-m', '256M', ...faulty('d0', errno, iotype), '-device', `virtio-blk-pci,drive=d0,id=vd0${props}`]);
}

/** Submit a 4 KiB write (or read) of block 3 to `dev`'s blk-mq from guest CPU 0, as an O_DIRECT job does; its status lands in the box. */
function startIo(m: Machine, dev: string, op: 'write' | 'read', runNs = 5 * S): { out?: BlkStatus; data: Uint8Array } {
  const disk = guestDisk(m.guest, dev);
  if (!disk) throw new Error(`no ${dev}`);
  const data = pattern(4096, 7);
  const box: { out?: BlkStatus; data: Uint8Array } = { data };
  const buf = m.guest.os.allocUser(8192);
  const addr = (buf.addr + 4095) & ~4095;
  m.mem.write(addr, data);
  m.guest.kernel.cpus[0].schedule('test io', () => {
    disk.blk.submit(0, [{ op, sector: 24, sectors: 8, sg: [{ addr, len: 4096 }] }], (status) => (box.out = status));
  });
  const wasRunning = m.state === 'running';
  m.sim.run({ stop: () => box.out !== undefined || (wasRunning && m.state !== 'running'), until: m.sim.now + runNs });
  return box;
}

function driveBlock(m: Machine, id: string, block: number): Uint8Array {
  let out: Uint8Array | undefined;
  m.host.drives.get(id)!.blk.read(block * 4096, 4096, (err, d) => {
    if (err) throw new Error(err.message);
    out = Uint8Array.from(d!);
  });
  m.sim.run({ stop: () => out !== undefined });
  return out!;
}

/** Let `ns` of host time pass (an event at its end, so that the clock gets there with nothing else to run). */
function idle(m: Machine, ns: number): void {
  const end = m.sim.now + ns;
  m.sim.at(end, () => undefined);
  m.sim.run({ until: end });
}

const kinds = (m: Machine, kind: string) => (m.recorder?.events ?? []).filter((e) => e.kind === kind);

describe.each([
  ['scsi-hd', '/dev/sda', scsiVm],
  ['virtio-blk', '/dev/vda', blkVm],
] as const)('%s with werror=stop', (_name, dev, vm) => {
  it('stops the VM on a failed write, keeps the guest waiting without a timeout, and completes the write after cont', () => {
    const m = vm(5, ',werror=stop');
    const io = startIo(m, dev, 'write');
    expect(io.out).toBeUndefined();
    expect(m.state).toBe('io-error');
    expect(kinds(m, 'block-io-error')).toMatchObject([{ operation: 'write', action: 'stop', reason: 'EIO', nospace: false }]);
    expect(kinds(m, 'runstate')).toMatchObject([{ state: 'io-error' }]);
    // A minute of host time: the guest's clock stands still, so nothing of it runs or times out.
    const guestNow = m.guest.kernel.clock.now;
    const hostNow = m.sim.now;
    idle(m, 60 * S);
    expect(m.sim.now - hostNow).toBe(60 * S);
    expect(m.guest.kernel.clock.now).toBe(guestNow);
    expect(io.out).toBeUndefined();
    expect(E.isRight(cont(m))).toBe(true);
    m.sim.run({ stop: () => io.out !== undefined, until: m.sim.now + 5 * S });
    expect(io.out).toEqual('ok');
    expect(m.state).toBe('running');
    expect(driveBlock(m, 'd0', 3)).toEqual(io.data);
    expect(kinds(m, 'runstate').map((e) => (e as { state: string }).state)).toEqual(['io-error', 'running']);
    // No abort, no reset: the guest never saw the stop.
    const notes = kinds(m, 'note').map((e) => (e as { text: string }).text);
    expect(notes.some((t) => /timed out|abort|reset/i.test(t))).toBe(false);
  });
});

describe('the other policies', () => {
  it('werror defaults to enospc: EIO is reported to the guest, ENOSPC stops the VM', () => {
    const vd = blkVm(5, '');
    expect(startIo(vd, '/dev/vda', 'write').out).toEqual('ioerr');
    expect(kinds(vd, 'block-io-error')).toMatchObject([{ action: 'report', reason: 'EIO' }]);
    // scsi-hd reports EIO as ABORTED COMMAND, which Linux's midlayer retries: the retry succeeds.
    const sd = scsiVm(5, '');
    expect(startIo(sd, '/dev/sda', 'write').out).toEqual('ok');
    expect(kinds(sd, 'block-io-error')).toMatchObject([{ action: 'report', reason: 'EIO' }]);
    expect(driveBlock(sd, 'd0', 3)).toEqual(pattern(4096, 7));
    const m = blkVm(28, '');
    const nospc = startIo(m, '/dev/vda', 'write');
    expect(nospc.out).toBeUndefined();
    expect(m.state).toBe('io-error');
    expect(kinds(m, 'block-io-error')).toMatchObject([{ action: 'stop', nospace: true, reason: 'ENOSPC' }]);
  });

  it('werror=report tells the guest and leaves the VM running; the event says report', () => {
    const m = blkVm(28, ',werror=report');
    expect(startIo(m, '/dev/vda', 'write').out).toEqual('ioerr');
    expect(m.state).toBe('running');
    expect(kinds(m, 'block-io-error')).toMatchObject([{ action: 'report', nospace: true }]);
  });

  it('rerror=ignore completes a failed read as if it had worked, with no event', () => {
    for (const vm of [scsiVm, blkVm]) {
      const m = vm(5, ',rerror=ignore', 'read');
      const dev = vm === scsiVm ? '/dev/sda' : '/dev/vda';
      expect(startIo(m, dev, 'read').out).toEqual('ok');
      expect(kinds(m, 'block-io-error')).toEqual([]);
    }
  });

  it('-drive werror=stop is the drive\'s policy, which a device with werror=auto follows', () => {
    const m = bootVm([
      '-m', '256M',
      '-drive', `if=none,id=d0,driver=raw,file.driver=blkdebug,file.image.driver=memory,file.image.size=${16 * MiB},file.inject-error.0.event=write_aio,file.inject-error.0.errno=5,file.inject-error.0.once=on,werror=stop`,
      '-device', 'virtio-blk-pci,drive=d0',
    ]);
    const io = startIo(m, '/dev/vda', 'write');
    expect(m.state).toBe('io-error');
    cont(m);
    m.sim.run({ stop: () => io.out !== undefined, until: m.sim.now + 5 * S });
    expect(io.out).toEqual('ok');
  });

  it('-drive rerror=enospc is refused with QEMU\'s message', () => {
    const spec = parseQemuArgs(['-drive', `if=none,id=d0,driver=memory,size=${MiB},rerror=enospc`, '-device', 'virtio-blk-pci,drive=d0']);
    if (E.isLeft(spec)) throw new Error(JSON.stringify(spec.left));
    const m = startMachine(spec.right);
    expect(E.isLeft(m) && vmErrorMessage(m.left)).toMatch(/'enospc' invalid read error action/);
  });
});

describe('QMP stop and cont', () => {
  it('a stopped VM runs no guest code and its clock stands still; cont lets a waiting write finish', () => {
    const m = blkVm(0, '');
    expect(E.isRight(stopVm(m, 'paused'))).toBe(true);
    expect(m.state).toBe('paused');
    const guestNow = m.guest.kernel.clock.now;
    const io = startIo(m, '/dev/vda', 'write');
    idle(m, 10 * S);
    expect(io.out).toBeUndefined();
    expect(m.guest.kernel.clock.now).toBe(guestNow);
    cont(m);
    m.sim.run({ stop: () => io.out !== undefined, until: m.sim.now + 5 * S });
    expect(io.out).toEqual('ok');
    expect(m.guest.kernel.clock.stoppedTotalNs).toBeGreaterThanOrEqual(10 * S);
  });
});
