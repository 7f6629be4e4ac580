/**
 * Power cuts and reboots on the same host storage: a file written and fsync'd survives
 * exactly; what was written after the fsync (and never synced) is lost; the journal is
 * replayed at the next mount; the image is clean for our fsck and for `e2fsck -fn`. And a
 * cut at many instants of a busy workload always leaves a clean file system holding
 * at least what the last fsync covered.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fsckImage } from '../guest/fs/index.js';
import { O_CREAT, O_RDONLY, O_RDWR } from '../guest/vfs/syscalls-api.js';
import { VIRTIO_BLK_CFG_WRITEBACK } from '../hw/virtio/blk.js';
import { firstDifference, pattern } from '../guest/vfs/testing.js';
import type { Machine } from './machine.js';
import { closeMachine, powerCut, reboot } from './power.js';
import { runSys, sysOk } from './run-sys.js';
import { bootVm, e2fsck, e2fsckAvailable, hostImage, vmArgs } from './testing.js';

const withE2fsck = e2fsckAvailable('vm/power');
const dir = mkdtempSync(join(tmpdir(), 'iopath-vm-power-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rebooted(m: Machine): Machine {
  const r = reboot(m);
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right;
}

/** The whole file at `path` through the guest. */
function readAll(m: Machine, path: string): Uint8Array {
  const os = m.guest.os;
  const t = os.spawn('reader', 0);
  const size = sysOk(m, os.syscalls.stat(t, path)).size;
  const fd = sysOk(m, os.syscalls.open(t, path, O_RDONLY));
  const b = os.allocUser(size + 4096);
  expect(sysOk(m, os.syscalls.read(t, fd, b))).toBe(size);
  const out = m.mem.read(b.addr, size);
  sysOk(m, os.syscalls.close(t, fd));
  os.freeUser(b);
  return out;
}

describe('power cut and reboot', () => {
  it('what was fsync\'d is there exactly after a power cut and a reboot; the image is clean', () => {
    const image = hostImage(dir, 'crash.img', 64 << 20);
    const m = bootVm(vmArgs(image));
    const os = m.guest.os;
    const s = os.syscalls;
    const t = os.spawn('writer', 0);
    sysOk(m, s.mkfsDevice(t, '/dev/vda'));
    sysOk(m, s.mount(t, '/dev/vda', '/mnt'));
    const synced = pattern(300_000, 1);
    const fd = sysOk(m, s.open(t, '/mnt/log', O_CREAT | O_RDWR));
    const b = os.allocUser(1 << 20);
    m.mem.write(b.addr, synced);
    sysOk(m, s.write(t, fd, { addr: b.addr, len: synced.length }));
    sysOk(m, s.fsync(t, fd));
    // More, never synced: appended data and a new file.
    m.mem.fill(b.addr, 100_000, 0x99);
    sysOk(m, s.write(t, fd, { addr: b.addr, len: 100_000 }));
    const g = sysOk(m, s.open(t, '/mnt/unsynced', O_CREAT | O_RDWR));
    sysOk(m, s.write(t, g, { addr: b.addr, len: 8192 }));
    m.sim.run({ until: m.sim.now + 1e9 }); // a second passes; no commit or writeback is due yet
    powerCut(m);
    expect(m.state).toBe('off');
    // The crashed image: its journal needs replaying; our fsck replays it on a copy.
    expect(fsckImage(new Uint8Array(readFileSync(image))).findings).toEqual([]);
    const m2 = rebooted(m);
    expect(m2.host.storage).toBe(m.host.storage);
    const s2 = m2.guest.os.syscalls;
    const t2 = m2.guest.os.spawn('after', 0);
    sysOk(m2, s2.mount(t2, '/dev/vda', '/mnt'));
    const log = m2.recorder!.events.filter((e) => e.kind === 'note').map((e) => (e.kind === 'note' ? e.text : ''));
    expect(log.some((l) => /recovery complete/.test(l))).toBe(true);
    expect(firstDifference(readAll(m2, '/mnt/log'), synced)).toBe(-1);
    expect(runSys(m2, s2.stat(t2, '/mnt/unsynced'))).toEqual(E.left('ENOENT'));
    sysOk(m2, s2.umount(t2, '/mnt'));
    closeMachine(m2);
    expect(fsckImage(new Uint8Array(readFileSync(image))).findings).toEqual([]);
    if (withE2fsck) {
      const r = e2fsck(image);
      expect(r.status, r.out).toBe(0);
    }
  });

  it('a reboot without a power cut (system_reset) keeps what the host had; the guest\'s dirty pages are lost', () => {
    const m = bootVm(['-m', '128M', '-drive', 'if=none,id=d0,driver=memory,size=32M', '-device', 'virtio-blk-pci,drive=d0']);
    const os = m.guest.os;
    const s = os.syscalls;
    const t = os.spawn('w', 0);
    sysOk(m, s.mkfsDevice(t, '/dev/vda', { blockSize: 1024 }));
    sysOk(m, s.mount(t, '/dev/vda', '/mnt'));
    const fd = sysOk(m, s.open(t, '/mnt/f', O_CREAT | O_RDWR));
    const b = os.allocUser(4096);
    m.mem.fill(b.addr, 4096, 0x42);
    sysOk(m, s.write(t, fd, b));
    sysOk(m, s.fsync(t, fd));
    sysOk(m, s.pwrite(t, fd, b, 4096)); // only in the guest's page cache
    const m2 = rebooted(m);
    const t2 = m2.guest.os.spawn('r', 0);
    sysOk(m2, m2.guest.os.syscalls.mount(t2, '/dev/vda', '/mnt'));
    expect(readAll(m2, '/mnt/f')).toEqual(new Uint8Array(4096).fill(0x42));
  });

  it('a guest that turned the write cache off (virtio-blk writeback byte) leaves it off until system_reset, which restores it', () => {
    const m = bootVm(['-m', '64M', '-drive', 'if=none,id=d0,driver=memory,size=8M', '-device', 'virtio-blk-pci,drive=d0']);
    const dev = m.host.devices[0].model;
    const blk = m.host.storage.drives.get('d0')!.blk;
    expect(blk.writeCacheEnabled).toBe(true);
    dev.writeConfig(VIRTIO_BLK_CFG_WRITEBACK, 1, 0);
    expect(blk.writeCacheEnabled).toBe(false);
    expect(dev.readConfig(VIRTIO_BLK_CFG_WRITEBACK, 1)).toBe(0);
    const m2 = rebooted(m);
    expect(blk.writeCacheEnabled).toBe(true);
    expect(m2.host.devices[0].model.readConfig(VIRTIO_BLK_CFG_WRITEBACK, 1)).toBe(1);
  });

  it('cut anywhere in a busy workload: the file system is clean and holds at least what the last fsync covered', () => {
    for (const cutAfterMs of [0.3, 0.9, 2.5, 6, 31]) {
      const m = bootVm(['-m', '128M', '-drive', 'if=none,id=d0,driver=memory,size=32M', '-device', 'virtio-blk-pci,drive=d0'], 11);
      const os = m.guest.os;
      const s = os.syscalls;
      const t = os.spawn('w', 0);
      sysOk(m, s.mkfsDevice(t, '/dev/vda', { blockSize: 1024 }));
      sysOk(m, s.mount(t, '/dev/vda', '/mnt'));
      // A writer appending 16 KiB chunks to a file, fsync after every other chunk, creating files as it goes.
      const chunk = 16384;
      const b = os.allocUser(chunk);
      let synced = 0;
      let written = 0;
      let i = 0;
      const fd = sysOk(m, s.open(t, '/mnt/journal', O_CREAT | O_RDWR));
      const step = (): void => {
        m.mem.write(b.addr, pattern(chunk, i));
        s.write(t, fd, b).subscribe(() => {
          written += chunk;
          const k = i++;
          const next = (): void => void m.sim.after(50_000, step);
          if (k % 2 === 1) {
            const upTo = written;
            s.fsync(t, fd).subscribe((r) => {
              if (E.isRight(r)) synced = upTo;
              next();
            });
          } else s.open(t, `/mnt/n${k}`, O_CREAT | O_RDWR).subscribe(next);
        });
      };
      step();
      m.sim.run({ until: m.sim.now + cutAfterMs * 1e6 });
      powerCut(m);
      const m2 = rebooted(m);
      const t2 = m2.guest.os.spawn('check', 0);
      sysOk(m2, m2.guest.os.syscalls.mount(t2, '/dev/vda', '/mnt'));
      const got = readAll(m2, '/mnt/journal');
      expect(got.length, `cut at ${cutAfterMs} ms`).toBeGreaterThanOrEqual(synced);
      for (let c = 0; c * chunk < synced; c++) expect(firstDifference(got.subarray(c * chunk, (c + 1) * chunk), pattern(chunk, c)), `chunk ${c}, cut at ${cutAfterMs} ms`).toBe(-1);
      sysOk(m2, m2.guest.os.syscalls.umount(t2, '/mnt'));
      let img: Uint8Array | undefined;
      m2.host.drives.get('d0')!.blk.read(0, 32 << 20, (err, data) => (img = err ? undefined : Uint8Array.from(data!)));
      m2.sim.run({ stop: () => img !== undefined });
      expect(fsckImage(img!).findings, `cut at ${cutAfterMs} ms`).toEqual([]);
      expect(synced, 'the workload got somewhere').toBeGreaterThan(cutAfterMs < 1 ? 0 : chunk);
    }
  });
});
