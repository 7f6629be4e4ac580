/**
 * O_DIRECT: data goes between the user buffer and the disk, coherent with the page cache
 * (dirty pages are written first, cached pages dropped after a direct write); reads stop
 * at EOF and read holes as zeroes; a partial fresh block is completed with zeroes on the
 * disk (the disk starts full of junk to show it).
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fsckImage, mountImage } from '../fs/index.js';
import { O_CREAT, O_DIRECT, O_RDWR } from './syscalls-api.js';
import { firstDifference, pattern, vfsRig, type VfsRig } from './testing.js';

function mounted(bs: number): VfsRig {
  const rig = vfsRig();
  rig.disk.stable.fill(0xde);
  rig.ok(rig.os.syscalls.mkfsDevice(rig.task, '/dev/vda', { blockSize: bs }));
  rig.ok(rig.os.syscalls.mount(rig.task, '/dev/vda', '/mnt'));
  return rig;
}

describe('vfs: O_DIRECT', () => {
  it('is coherent with buffered I/O both ways, and bypasses the cache', () => {
    const rig = mounted(4096);
    const { task } = rig;
    const s = rig.os.syscalls;
    const buffered = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    const direct = rig.ok(s.open(task, '/mnt/f', O_RDWR | O_DIRECT));
    const a = pattern(16384, 1);
    rig.ok(s.pwrite(task, buffered, rig.buf(a.length, a), 0)); // dirty in the cache
    const rb = rig.buf(16384, 0);
    expect(rig.ok(s.pread(task, direct, rb, 0))).toBe(16384); // written back first
    expect(firstDifference(rig.bytes(rb), a)).toBe(-1);
    const b = pattern(8192, 2);
    expect(rig.ok(s.pwrite(task, direct, rig.buf(8192, b), 4096))).toBe(8192);
    const cached = rig.buf(16384, 0);
    expect(rig.ok(s.pread(task, buffered, cached, 0))).toBe(16384); // stale pages were dropped
    const want = a.slice();
    want.set(b, 4096);
    expect(firstDifference(rig.bytes(cached), want)).toBe(-1);
    const pages = rig.cache.nrPages;
    rig.ok(s.pread(task, direct, rb, 0));
    expect(rig.cache.nrPages).toBe(pages);
  });

  it('extends the file, zero-fills the rest of a fresh block, stops at EOF, reads holes as zeroes', () => {
    const rig = mounted(4096);
    const { task } = rig;
    const s = rig.os.syscalls;
    const fd = rig.ok(s.open(task, '/mnt/d', O_CREAT | O_RDWR | O_DIRECT));
    const data = pattern(512, 3);
    expect(rig.ok(s.pwrite(task, fd, rig.buf(512, data), 8192))).toBe(512);
    expect(rig.ok(s.stat(task, '/mnt/d')).size).toBe(8704);
    const rb = rig.buf(4096, 0x11);
    expect(rig.ok(s.pread(task, fd, rb, 8192))).toBe(512);
    expect(firstDifference(rig.bytes(rb, 512), data)).toBe(-1);
    expect(rig.ok(s.pread(task, fd, rb, 0))).toBe(4096);
    expect(rig.bytes(rb).every((x) => x === 0)).toBe(true);
    expect(rig.ok(s.pread(task, fd, rb, 12288))).toBe(0);
    rig.ok(s.fsync(task, fd));
    rig.ok(s.close(task, fd));
    rig.ok(s.umount(task, '/mnt'));
    const image = rig.disk.stable.slice();
    expect(fsckImage(image).findings).toEqual([]);
    const fs = mountImage(image);
    if (E.isLeft(fs)) throw new Error(fs.left.message);
    const ino = fs.right.lookup('/d');
    if (E.isLeft(ino)) throw new Error(ino.left);
    const blk = fs.right.bmap(ino.right, 2, false);
    if (E.isLeft(blk)) throw new Error(blk.left);
    const onDisk = image.subarray(blk.right.block * 4096, blk.right.block * 4096 + 4096);
    expect(firstDifference(onDisk.subarray(0, 512), data)).toBe(-1);
    expect(onDisk.subarray(512).every((x) => x === 0)).toBe(true);
  });
});
