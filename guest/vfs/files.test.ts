/**
 * File semantics through the VFS: positions, O_APPEND, O_TRUNC, truncate up and down,
 * holes, unlink and rename of open files, descriptor tables of processes and threads,
 * drop_caches, and the root file system's directories.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fsckImage } from '../fs/index.js';
import { O_APPEND, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from './syscalls-api.js';
import { firstDifference, pattern, vfsRig, type VfsRig } from './testing.js';

function mounted(bs = 1024): VfsRig {
  const rig = vfsRig();
  rig.ok(rig.os.syscalls.mkfsDevice(rig.task, '/dev/vda', { blockSize: bs }));
  rig.ok(rig.os.syscalls.mount(rig.task, '/dev/vda', '/mnt'));
  return rig;
}

/** The whole file through a fresh descriptor. */
function slurp(rig: VfsRig, path: string): Uint8Array {
  const s = rig.os.syscalls;
  const fd = rig.ok(s.open(rig.task, path, O_RDONLY));
  const size = rig.ok(s.stat(rig.task, path)).size;
  const b = rig.buf(size + 4096, 0x5a);
  expect(rig.ok(s.read(rig.task, fd, b))).toBe(size);
  rig.ok(s.close(rig.task, fd));
  return rig.bytes(b, size);
}

describe('vfs: file semantics', () => {
  it('read and write move the position; pread and pwrite do not; lseek; O_APPEND appends at i_size', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    const fd = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    rig.ok(s.write(task, fd, rig.buf(100, 1)));
    rig.ok(s.pwrite(task, fd, rig.buf(10, 2), 500));
    expect(rig.ok(s.lseek(task, fd, 0, 'SEEK_CUR'))).toBe(100);
    rig.ok(s.write(task, fd, rig.buf(50, 3)));
    expect(rig.ok(s.lseek(task, fd, 0, 'SEEK_END'))).toBe(510);
    const ap = rig.ok(s.open(task, '/mnt/f', O_WRONLY | O_APPEND));
    rig.ok(s.write(task, ap, rig.buf(20, 4)));
    rig.ok(s.pwrite(task, ap, rig.buf(5, 6), 0)); // appends anyway
    expect(rig.ok(s.stat(task, '/mnt/f')).size).toBe(535);
    const want = new Uint8Array(535);
    want.fill(1, 0, 100);
    want.fill(3, 100, 150);
    want.fill(2, 500, 510);
    want.fill(4, 510, 530);
    want.fill(6, 530, 535);
    expect(slurp(rig, '/mnt/f')).toEqual(want);
    expect(rig.ok(s.lseek(task, fd, 10, 'SEEK_SET'))).toBe(10);
    const b = rig.buf(4, 0);
    expect(rig.ok(s.read(task, fd, b))).toBe(4);
    expect([...rig.bytes(b)]).toEqual([1, 1, 1, 1]);
    expect(rig.ok(s.pread(task, fd, b, 1000))).toBe(0);
  });

  it('O_TRUNC and ftruncate: shrinking drops the tail for good, growing reads zeroes', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    const data = pattern(20_000, 3);
    const fd = rig.ok(s.open(task, '/mnt/t', O_CREAT | O_RDWR));
    rig.ok(s.write(task, fd, rig.buf(data.length, data)));
    rig.ok(s.fsync(task, fd));
    const free0 = rig.ok(s.statfs(task, '/mnt')).blocksFree;
    rig.ok(s.ftruncate(task, fd, 5000));
    rig.ok(s.ftruncate(task, fd, 9000));
    const want = new Uint8Array(9000);
    want.set(data.subarray(0, 5000));
    expect(slurp(rig, '/mnt/t')).toEqual(want);
    // The same after the pages are gone: the tail was zeroed on the disk too.
    rig.ok(s.fsync(task, fd));
    rig.ok(s.dropCaches(task, 3));
    expect(slurp(rig, '/mnt/t')).toEqual(want);
    rig.ok(s.close(task, fd));
    rig.ok(s.close(task, rig.ok(s.open(task, '/mnt/t', O_WRONLY | O_TRUNC))));
    expect(rig.ok(s.stat(task, '/mnt/t')).size).toBe(0);
    rig.ok(s.sync(task));
    expect(rig.ok(s.statfs(task, '/mnt')).blocksFree).toBeGreaterThan(free0);
  });

  it('a sparse file reads zeroes in its holes, before and after writeback', () => {
    const rig = mounted(4096);
    const { task } = rig;
    const s = rig.os.syscalls;
    const fd = rig.ok(s.open(task, '/mnt/sparse', O_CREAT | O_RDWR));
    rig.ok(s.pwrite(task, fd, rig.buf(3, 7), 1 << 20));
    const want = new Uint8Array((1 << 20) + 3);
    want.fill(7, 1 << 20);
    expect(firstDifference(slurp(rig, '/mnt/sparse'), want)).toBe(-1);
    rig.ok(s.fsync(task, fd));
    rig.ok(s.close(task, fd));
    rig.ok(s.dropCaches(task, 3));
    expect(firstDifference(slurp(rig, '/mnt/sparse'), want)).toBe(-1);
    expect(rig.ok(s.stat(task, '/mnt/sparse')).blocks).toBe(16); // one 4 KiB block and its indirect block
  });

  it('an unlinked open file lives until its last close; then its blocks come back', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    rig.ok(s.sync(task));
    const free0 = rig.ok(s.statfs(task, '/mnt')).blocksFree;
    const data = pattern(50_000, 9);
    const fd = rig.ok(s.open(task, '/mnt/doomed', O_CREAT | O_RDWR));
    rig.ok(s.write(task, fd, rig.buf(data.length, data)));
    rig.ok(s.fsync(task, fd));
    rig.ok(s.unlink(task, '/mnt/doomed'));
    expect(rig.run(s.stat(task, '/mnt/doomed'))).toEqual(E.left('ENOENT'));
    expect(rig.ok(s.readdir(task, '/mnt'))).toEqual(['lost+found']);
    const b = rig.buf(data.length, 0);
    expect(rig.ok(s.pread(task, fd, b, 0))).toBe(data.length);
    expect(rig.bytes(b)).toEqual(data);
    rig.ok(s.pwrite(task, fd, rig.buf(10, 1), 0)); // still writable
    expect(rig.run(s.umount(task, '/mnt'))).toEqual(E.left('EBUSY'));
    rig.ok(s.close(task, fd));
    rig.ok(s.sync(task));
    expect(rig.ok(s.statfs(task, '/mnt')).blocksFree).toBe(free0);
    expect(rig.ok(s.readdir(task, '/mnt/lost+found'))).toEqual([]);
    rig.ok(s.umount(task, '/mnt'));
    expect(fsckImage(rig.disk.stable.slice()).findings).toEqual([]);
  });

  it('rename over an open file: the open file keeps its data, the name gets the new one', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    const old = pattern(3000, 1);
    const neu = pattern(2000, 2);
    const a = rig.ok(s.open(task, '/mnt/a', O_CREAT | O_RDWR));
    rig.ok(s.write(task, a, rig.buf(old.length, old)));
    const b = rig.ok(s.open(task, '/mnt/b', O_CREAT | O_RDWR));
    rig.ok(s.write(task, b, rig.buf(neu.length, neu)));
    rig.ok(s.close(task, b));
    rig.ok(s.rename(task, '/mnt/b', '/mnt/a'));
    expect(slurp(rig, '/mnt/a')).toEqual(neu);
    const r = rig.buf(old.length, 0);
    expect(rig.ok(s.pread(task, a, r, 0))).toBe(old.length);
    expect(rig.bytes(r)).toEqual(old);
    rig.ok(s.close(task, a));
    expect(rig.ok(s.readdir(task, '/mnt')).sort()).toEqual(['a', 'lost+found']);
    rig.ok(s.umount(task, '/mnt'));
    expect(fsckImage(rig.disk.stable.slice()).findings).toEqual([]);
  });

  it('descriptor tables: per process, shared by threads', () => {
    const rig = mounted();
    const s = rig.os.syscalls;
    const p1 = rig.os.spawn('p1');
    const p2 = rig.os.spawn('p2');
    const t1 = rig.os.thread(p1, 'p1-t2');
    const fd1 = rig.ok(s.open(p1, '/mnt/x', O_CREAT | O_RDWR));
    const fd2 = rig.ok(s.open(p2, '/mnt/x', O_RDWR));
    expect([fd1, fd2]).toEqual([3, 3]);
    rig.ok(s.write(p1, fd1, rig.buf(10, 1)));
    expect(rig.ok(s.lseek(t1, fd1, 0, 'SEEK_CUR'))).toBe(10); // the thread shares the description
    expect(rig.ok(s.lseek(p2, fd2, 0, 'SEEK_CUR'))).toBe(0);
    rig.ok(s.close(t1, fd1));
    expect(rig.run(s.close(p1, fd1))).toEqual(E.left('EBADF'));
    expect(rig.ok(s.open(p1, '/mnt/x', O_RDONLY))).toBe(3); // lowest free
  });

  it('the root file system holds directories, and a second mount point can be made', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    expect(rig.ok(s.readdir(task, '/')).sort()).toEqual(['dev', 'mnt']);
    expect(rig.ok(s.stat(task, '/'))).toMatchObject({ kind: 'dir' });
    rig.ok(s.mkdir(task, '/data'));
    expect(rig.run(s.mkdir(task, '/data'))).toEqual(E.left('EEXIST'));
    rig.ok(s.mkdir(task, '/mnt/sub'));
    rig.ok(s.umount(task, '/mnt'));
    rig.ok(s.mount(task, '/dev/vda', '/data'));
    expect(rig.ok(s.stat(task, '/data/sub'))).toMatchObject({ kind: 'dir' });
    expect(rig.run(s.rmdir(task, '/data'))).toEqual(E.left('EBUSY'));
    rig.ok(s.umount(task, '/data'));
    rig.ok(s.rmdir(task, '/data'));
  });

  it('drop_caches: clean pages go, later reads miss and read the disk again', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    const data = pattern(64 * 1024, 5);
    const fd = rig.ok(s.open(task, '/mnt/c', O_CREAT | O_RDWR));
    rig.ok(s.write(task, fd, rig.buf(data.length, data)));
    rig.ok(s.fsync(task, fd));
    expect(rig.cache.nrPages).toBe(16);
    rig.ok(s.dropCaches(task, 1));
    expect(rig.cache.nrPages).toBe(0);
    const b = rig.buf(data.length, 0);
    const reads0 = rig.dev.stats.bios;
    expect(rig.ok(s.pread(task, fd, b, 0))).toBe(data.length);
    expect(rig.bytes(b)).toEqual(data);
    expect(rig.dev.stats.bios).toBeGreaterThan(reads0);
  });
});
