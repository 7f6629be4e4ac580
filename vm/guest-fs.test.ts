/**
 * The guest storage stack in a booted VM, over a raw image file on the host: mkfs.ext3
 * /dev/vda, mount /mnt, create, write, fsync and read files through system calls, umount,
 * mount again and read them back. Every byte goes the whole way (page cache, ext3 and its
 * journal, bios, virtio-blk, VM exits, QEMU's device, the block layer, the file), and the
 * image left on the host passes our fsck and Debian's `e2fsck -fn` (skipped, saying why,
 * without e2fsprogs; required when IOPATH_REQUIRE_PEERS=1).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fsckImage } from '../guest/fs/index.js';
import { O_CREAT, O_RDONLY, O_RDWR } from '../guest/vfs/syscalls-api.js';
import { firstDifference, pattern } from '../guest/vfs/testing.js';
import { closeMachine } from './power.js';
import { runSys, sysOk } from './run-sys.js';
import { bootVm, e2fsck, e2fsckAvailable, hostImage, vmArgs, writeGuestFile } from './testing.js';

const withE2fsck = e2fsckAvailable('vm/guest-fs');
const dir = mkdtempSync(join(tmpdir(), 'iopath-vm-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('guest storage stack in a booted VM', () => {
  it('mkfs, mount, write, fsync, read, umount, remount, read back; the host image is clean', () => {
    const image = hostImage(dir, 'stack.img', 64 << 20);
    const m = bootVm(vmArgs(image));
    const os = m.guest.os;
    const s = os.syscalls;
    const t = os.spawn('test', 0);
    expect([...os.devices.keys()]).toEqual(['/dev/vda']);
    sysOk(m, s.mkfsDevice(t, '/dev/vda'));
    sysOk(m, s.mount(t, '/dev/vda', '/mnt'));
    sysOk(m, s.mkdir(t, '/mnt/data'));
    const files = [
      { path: '/mnt/data/small', data: pattern(100, 1) },
      { path: '/mnt/data/pages', data: pattern(5 * 4096 + 17, 2) },
      { path: '/mnt/big', data: pattern(3 << 20, 3) },
    ];
    for (const f of files) writeGuestFile(m, t, f.path, f.data);
    const readBack = (): void => {
      for (const f of files) {
        expect(sysOk(m, s.stat(t, f.path)).size).toBe(f.data.length);
        const fd = sysOk(m, s.open(t, f.path, O_RDONLY));
        const b = os.allocUser(f.data.length + 4096);
        expect(sysOk(m, s.read(t, fd, b))).toBe(f.data.length);
        expect(firstDifference(m.mem.read(b.addr, f.data.length), f.data)).toBe(-1);
        sysOk(m, s.close(t, fd));
        os.freeUser(b);
      }
    };
    readBack();
    sysOk(m, s.umount(t, '/mnt'));
    // Mounting again reads everything from the disk.
    sysOk(m, s.mount(t, '/dev/vda', '/mnt'));
    expect(m.guest.cache.nrPages).toBe(0);
    expect(sysOk(m, s.readdir(t, '/mnt')).sort()).toEqual(['big', 'data', 'lost+found']);
    readBack();
    sysOk(m, s.umount(t, '/mnt'));
    // It all went through the virtio-blk device: requests reached QEMU, notifications exited.
    const ev = m.recorder!.events;
    expect(ev.filter((e) => e.kind === 'device-request').length).toBeGreaterThan(50);
    expect(ev.some((e) => e.kind === 'exit' && e.purpose === 'notify')).toBe(true);
    expect(ev.filter((e) => e.kind === 'syscall' && e.phase === 'exit' && typeof e.ret === 'string')).toEqual([]);
    closeMachine(m);
    const bytes = new Uint8Array(readFileSync(image));
    expect(fsckImage(bytes).findings).toEqual([]);
    if (withE2fsck) {
      const r = e2fsck(image);
      expect(r.status, r.out).toBe(0);
    }
  });

  it('file systems on two disks, and writes through a page cache smaller than the data', () => {
    const m = bootVm(['-m', '64M', '-smp', '2', '-drive', 'if=none,id=d0,driver=memory,size=32M', '-device', 'virtio-blk-pci,drive=d0', '-drive', 'if=none,id=d1,driver=memory,size=32M', '-device', 'virtio-blk-pci,drive=d1']);
    const os = m.guest.os;
    const s = os.syscalls;
    const t = os.spawn('test', 1);
    expect([...os.devices.keys()]).toEqual(['/dev/vda', '/dev/vdb']);
    sysOk(m, s.mkdir(t, '/mnt2'));
    for (const [d, at] of [['/dev/vda', '/mnt'], ['/dev/vdb', '/mnt2']]) {
      sysOk(m, s.mkfsDevice(t, d, { blockSize: 1024 }));
      sysOk(m, s.mount(t, d, at));
    }
    const cachePages = m.guest.cache.internals.core.pages.totalPages;
    const data = pattern(Math.min(cachePages * 4096 * 2, 20 << 20), 9);
    const fd = sysOk(m, s.open(t, '/mnt2/f', O_CREAT | O_RDWR));
    const b = os.allocUser(1 << 20);
    for (let off = 0; off < data.length; off += 1 << 20) {
      m.mem.write(b.addr, data.subarray(off, off + (1 << 20)));
      expect(sysOk(m, s.pwrite(t, fd, { addr: b.addr, len: Math.min(1 << 20, data.length - off) }, off))).toBeGreaterThan(0);
    }
    expect(runSys(m, s.rename(t, '/mnt2/f', '/mnt/f'))).toEqual(E.left('EXDEV'));
    sysOk(m, s.fsync(t, fd));
    for (let off = 0; off < data.length; off += 1 << 20) {
      const n = sysOk(m, s.pread(t, fd, b, off));
      expect(firstDifference(m.mem.read(b.addr, n), data.subarray(off, off + n))).toBe(-1);
    }
    sysOk(m, s.close(t, fd));
    sysOk(m, s.umount(t, '/mnt'));
    sysOk(m, s.umount(t, '/mnt2'));
    closeMachine(m);
  });
});
