/**
 * The VFS over a fake disk: the life of files from mkfs to umount, and what stays on the
 * disk (checked by fsck and by mounting the image again).
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fsckImage, mountImage } from '../fs/index.js';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY } from './syscalls-api.js';
import { pattern, vfsRig } from './testing.js';

describe('vfs: files on ext3 over a block device', () => {
  it('mkfs, mount, create, write, fsync, read back, umount: the image is clean and holds the file', () => {
    const rig = vfsRig();
    const { os, task } = rig;
    const sys = os.syscalls;
    rig.ok(sys.mkfsDevice(task, '/dev/vda', { blockSize: 4096 }));
    rig.ok(sys.mount(task, '/dev/vda', '/mnt'));
    expect(rig.ok(sys.readdir(task, '/mnt'))).toEqual(['lost+found']);
    const fd = rig.ok(sys.open(task, '/mnt/a', O_CREAT | O_RDWR));
    expect(fd).toBe(3);
    const data = pattern(3 * 4096 + 100);
    const wb = rig.buf(data.length, data);
    expect(rig.ok(sys.write(task, fd, wb))).toBe(data.length);
    rig.ok(sys.fsync(task, fd));
    const rb = rig.buf(data.length + 50, 0);
    expect(rig.ok(sys.pread(task, fd, rb, 0))).toBe(data.length);
    expect(rig.bytes(rb, data.length)).toEqual(data);
    expect(rig.ok(sys.stat(task, '/mnt/a'))).toMatchObject({ kind: 'file', size: data.length, nlink: 1 });
    rig.ok(sys.close(task, fd));
    rig.ok(sys.umount(task, '/mnt'));
    // What reached stable storage (the fake disk's volatile cache flushed by the barriers).
    const image = rig.disk.stable.slice();
    expect(fsckImage(image).findings).toEqual([]);
    const fs = mountImage(image);
    if (E.isLeft(fs)) throw new Error(fs.left.message);
    const ino = fs.right.lookup('/a');
    expect(E.isRight(ino)).toBe(true);
    expect(fs.right.stat('/a')).toEqual(E.right(expect.objectContaining({ size: data.length })));
  });

  it('remount reads back what was written before umount', () => {
    const rig = vfsRig();
    const { os, task } = rig;
    const sys = os.syscalls;
    rig.ok(sys.mkfsDevice(task, '/dev/vda', { blockSize: 1024 }));
    rig.ok(sys.mount(task, '/dev/vda', '/mnt'));
    rig.ok(sys.mkdir(task, '/mnt/d'));
    const files = [0, 1, 5000, 70_000].map((n, i) => ({ path: `/mnt/d/f${i}`, data: pattern(n, i + 7) }));
    for (const f of files) {
      const fd = rig.ok(sys.open(task, f.path, O_CREAT | O_WRONLY));
      if (f.data.length > 0) expect(rig.ok(sys.write(task, fd, rig.buf(f.data.length, f.data)))).toBe(f.data.length);
      rig.ok(sys.close(task, fd));
    }
    rig.ok(sys.umount(task, '/mnt'));
    rig.ok(sys.mount(task, '/dev/vda', '/mnt'));
    expect(rig.ok(sys.readdir(task, '/mnt/d')).sort()).toEqual(['f0', 'f1', 'f2', 'f3']);
    for (const f of files) {
      const fd = rig.ok(sys.open(task, f.path, O_RDONLY));
      const b = rig.buf(f.data.length + 4096, 0xee);
      expect(rig.ok(sys.read(task, fd, b))).toBe(f.data.length);
      expect(rig.bytes(b, f.data.length)).toEqual(f.data);
      rig.ok(sys.close(task, fd));
    }
    rig.ok(sys.umount(task, '/mnt'));
    expect(fsckImage(rig.disk.stable.slice()).findings).toEqual([]);
  });
});
