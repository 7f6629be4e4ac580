/**
 * What a guest program gets wrong comes back as an errno, never a throw: bad descriptors,
 * flags, offsets and buffers; paths that do not exist, exist already, or cross what they
 * may not; busy mounts; devices that are not there or hold no file system.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_DIRECT, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY } from './syscalls-api.js';
import { vfsRig, type VfsRig } from './testing.js';

function mounted(): VfsRig {
  const rig = vfsRig();
  rig.ok(rig.os.syscalls.mkfsDevice(rig.task, '/dev/vda', { blockSize: 1024 }));
  rig.ok(rig.os.syscalls.mount(rig.task, '/dev/vda', '/mnt'));
  return rig;
}

describe('vfs: errors are errno values', () => {
  it('descriptors, flags, offsets and buffers', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    const b = rig.buf(4096, 1);
    expect(rig.run(s.read(task, 99, b))).toEqual(E.left('EBADF'));
    expect(rig.run(s.close(task, 3))).toEqual(E.left('EBADF'));
    expect(rig.run(s.fsync(task, -1))).toEqual(E.left('EBADF'));
    expect(rig.run(s.open(task, '/mnt/f', O_CREAT | 3))).toEqual(E.left('EINVAL'));
    const ro = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDONLY));
    expect(rig.run(s.write(task, ro, b))).toEqual(E.left('EBADF'));
    expect(rig.run(s.ftruncate(task, ro, 0))).toEqual(E.left('EINVAL'));
    const wo = rig.ok(s.open(task, '/mnt/f', O_WRONLY));
    expect(rig.run(s.read(task, wo, b))).toEqual(E.left('EBADF'));
    expect(rig.run(s.pwrite(task, wo, b, -1))).toEqual(E.left('EINVAL'));
    expect(rig.run(s.pwrite(task, wo, { addr: 0x7fff_fff0_0000, len: 4096 }, 0))).toEqual(E.left('EFAULT'));
    expect(rig.run(s.pwrite(task, wo, { addr: b.addr, len: -5 }, 0))).toEqual(E.left('EINVAL'));
    expect(rig.run(s.lseek(task, wo, -1, 'SEEK_SET'))).toEqual(E.left('EINVAL'));
    expect(rig.run(s.ftruncate(task, wo, -1))).toEqual(E.left('EINVAL'));
    expect(rig.run(s.ftruncate(task, wo, 2 ** 40))).toEqual(E.left('EFBIG'));
    // 1 KiB blocks: the block map ends just past 64 MiB.
    expect(rig.run(s.pwrite(task, wo, b, 2 ** 40))).toEqual(E.left('EFBIG'));
    const d = rig.ok(s.open(task, '/mnt', O_RDONLY));
    expect(rig.run(s.read(task, d, b))).toEqual(E.left('EISDIR'));
    expect(rig.run(s.open(task, '/mnt', O_RDWR))).toEqual(E.left('EISDIR'));
    // O_DIRECT wants the logical block size (512) for address, offset and length.
    const dio = rig.ok(s.open(task, '/mnt/f', O_RDWR | O_DIRECT));
    expect(rig.run(s.pwrite(task, dio, { addr: b.addr + 1, len: 512 }, 0))).toEqual(E.left('EINVAL'));
    expect(rig.run(s.pwrite(task, dio, { addr: b.addr, len: 100 }, 0))).toEqual(E.left('EINVAL'));
    expect(rig.run(s.pread(task, dio, { addr: b.addr, len: 512 }, 3))).toEqual(E.left('EINVAL'));
  });

  it('paths', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    expect(rig.run(s.open(task, '/mnt/nope', O_RDONLY))).toEqual(E.left('ENOENT'));
    expect(rig.run(s.open(task, '/mnt/a/b', O_CREAT | O_RDWR))).toEqual(E.left('ENOENT'));
    expect(rig.run(s.open(task, '', O_RDONLY))).toEqual(E.left('ENOENT'));
    rig.ok(s.close(task, rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR))));
    expect(rig.run(s.open(task, '/mnt/f', O_CREAT | O_EXCL | O_RDWR))).toEqual(E.left('EEXIST'));
    expect(rig.run(s.open(task, '/mnt/f/x', O_CREAT | O_RDWR))).toEqual(E.left('ENOTDIR'));
    expect(rig.run(s.mkdir(task, '/mnt/f'))).toEqual(E.left('EEXIST'));
    expect(rig.run(s.rmdir(task, '/mnt/f'))).toEqual(E.left('ENOTDIR'));
    expect(rig.run(s.unlink(task, '/mnt/lost+found'))).toEqual(E.left('EISDIR'));
    rig.ok(s.mkdir(task, '/mnt/d'));
    rig.ok(s.close(task, rig.ok(s.open(task, '/mnt/d/g', O_CREAT | O_RDWR))));
    expect(rig.run(s.rmdir(task, '/mnt/d'))).toEqual(E.left('ENOTEMPTY'));
    expect(rig.run(s.rename(task, '/mnt/d', '/mnt/d/g/h'))).toEqual(E.left('ENOTDIR'));
    // Both parents are walked before the source is looked up (do_renameat2): the target's wins.
    expect(rig.run(s.rename(task, '/mnt/nope', '/mnt/d/g/h'))).toEqual(E.left('ENOTDIR'));
    expect(rig.run(s.rename(task, '/mnt/nope', '/mnt/x/h'))).toEqual(E.left('ENOENT'));
    expect(rig.run(s.rename(task, '/mnt/f/x', '/mnt/x/h'))).toEqual(E.left('ENOTDIR'));
    expect(rig.run(s.open(task, '/mnt/' + 'n'.repeat(300), O_CREAT | O_RDWR))).toEqual(E.left('ENAMETOOLONG'));
    // The root file system holds directories only.
    expect(rig.run(s.open(task, '/file', O_CREAT | O_RDWR))).toEqual(E.left('EROFS'));
    expect(rig.run(s.open(task, '/nodir/file', O_CREAT | O_RDWR))).toEqual(E.left('ENOENT'));
    expect(rig.run(s.rename(task, '/mnt/f', '/f'))).toEqual(E.left('EXDEV'));
    expect(rig.run(s.rmdir(task, '/mnt'))).toEqual(E.left('EBUSY'));
    expect(rig.run(s.rename(task, '/mnt/d', '/mnt/..'))).toEqual(E.left('EXDEV'));
    // '..' leaves the mount.
    expect(rig.ok(s.readdir(task, '/mnt/d/../..')).sort()).toEqual(['dev', 'mnt']);
  });

  it('mounts and devices', () => {
    const rig = vfsRig();
    const { task } = rig;
    const s = rig.os.syscalls;
    expect(rig.run(s.mount(task, '/dev/vdz', '/mnt'))).toEqual(E.left('ENOENT'));
    expect(rig.run(s.mount(task, '/mnt/image', '/mnt'))).toEqual(E.left('ENOTBLK'));
    expect(rig.run(s.mount(task, '/dev/vda', '/nowhere'))).toEqual(E.left('ENOENT'));
    // No file system on the device yet: mount refuses, saying why in the kernel log.
    expect(rig.run(s.mount(task, '/dev/vda', '/mnt'))).toEqual(E.left('EINVAL'));
    const log = rig.tk.rec.events.filter((e) => e.kind === 'note').map((e) => (e.kind === 'note' ? e.text : ''));
    expect(log.some((l) => l.startsWith('EXT4-fs (vda):'))).toBe(true);
    expect(rig.run(s.umount(task, '/mnt'))).toEqual(E.left('EINVAL'));
    expect(rig.run(s.mkfsDevice(task, '/dev/vda', { blockSize: 3000 }))).toEqual(E.left('EINVAL'));
    rig.ok(s.mkfsDevice(task, '/dev/vda'));
    rig.ok(s.mount(task, '/dev/vda', '/mnt'));
    expect(rig.run(s.mount(task, '/dev/vda', '/dev'))).toEqual(E.left('EBUSY'));
    expect(rig.run(s.mkfsDevice(task, '/dev/vda'))).toEqual(E.left('EBUSY'));
    const fd = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    expect(rig.run(s.umount(task, '/mnt'))).toEqual(E.left('EBUSY'));
    rig.ok(s.close(task, fd));
    rig.ok(s.umount(task, '/mnt'));
    expect(rig.run(s.stat(task, '/mnt/f'))).toEqual(E.left('ENOENT'));
    expect(rig.run(s.dropCaches(task, 4 as 1))).toEqual(E.left('EINVAL'));
  });
});
