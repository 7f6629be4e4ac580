/**
 * What reaches stable storage, and when: the fake disk's `stable` bytes are what a power
 * cut would leave, so a test can look at them at any instant. fsync makes a file durable
 * exactly; the journal commits on its own 5 s after a change; ordered mode never exposes
 * a block that was not written (the disk starts full of junk to show it); writeback
 * errors reach fsync once per open file description; a full file system frees the blocks
 * of a deleted file at the next commit, and allocation waits for it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fsckImage, mountImage, type Fs } from '../fs/index.js';
import type { BlkRequest, BlkStatus } from '../blockdev/request.js';
import { O_CREAT, O_RDWR } from './syscalls-api.js';
import { firstDifference, pattern, vfsRig, type VfsRig, type VfsRigOptions } from './testing.js';

const JUNK = 0xde;

function mounted(o: VfsRigOptions & { bs?: number; fsBlocks?: number } = {}): VfsRig {
  const rig = vfsRig(o);
  rig.disk.stable.fill(JUNK);
  rig.ok(rig.os.syscalls.mkfsDevice(rig.task, '/dev/vda', { blockSize: o.bs ?? 1024, blocks: o.fsBlocks }));
  rig.ok(rig.os.syscalls.mount(rig.task, '/dev/vda', '/mnt'));
  return rig;
}

/** Mount a copy of what is on stable storage now (replaying the journal), after fsck says it is clean. */
function afterCrash(rig: VfsRig): Fs {
  const image = rig.disk.stable.slice();
  expect(fsckImage(image).findings).toEqual([]);
  const fs = mountImage(image.slice());
  if (E.isLeft(fs)) throw new Error(fs.left.message);
  return fs.right;
}

/** A file's bytes as the crashed image holds them. */
function fileOn(rig: VfsRig, fs: Fs, path: string): Uint8Array | undefined {
  const st = fs.stat(path);
  if (E.isLeft(st)) return undefined;
  const bs = fs.geometry.blockSize;
  const image = rig.disk.stable;
  const out = new Uint8Array(st.right.size);
  for (let b = 0; b * bs < out.length; b++) {
    const m = fs.bmap(st.right.ino, b, false);
    if (E.isLeft(m)) throw new Error(m.left);
    const n = Math.min(bs, out.length - b * bs);
    if (m.right.block !== 0) out.set(image.subarray(m.right.block * bs, m.right.block * bs + n), b * bs);
  }
  return out;
}

describe('vfs: durability', () => {
  it('fsync makes exactly the data written before it durable; what follows without fsync is lost in a crash', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    const a = pattern(10_000, 1);
    const fd = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    rig.ok(s.write(task, fd, rig.buf(a.length, a)));
    rig.ok(s.fsync(task, fd));
    rig.ok(s.write(task, fd, rig.buf(5000, 0x77)));
    const g = rig.ok(s.open(task, '/mnt/g', O_CREAT | O_RDWR));
    rig.ok(s.write(task, g, rig.buf(4000, 0x66)));
    // The power fails now: only stable storage is left.
    const fs = afterCrash(rig);
    expect(firstDifference(fileOn(rig, fs, '/f')!, a)).toBe(-1);
    expect(fileOn(rig, fs, '/g')).toBeUndefined();
  });

  it('the journal commits by itself 5 s after a change', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    rig.ok(s.mkdir(task, '/mnt/d'));
    const t0 = rig.tk.sim.now;
    rig.tk.sim.run({ until: t0 + 4.9e9 });
    expect(E.isLeft(afterCrash(rig).lookup('/d'))).toBe(true);
    rig.tk.sim.run({ until: t0 + 5.1e9 });
    expect(E.isRight(afterCrash(rig).lookup('/d'))).toBe(true);
  });

  it('delayed allocation: the size on disk grows at writeback, not at write() (i_disksize)', () => {
    const rig = mounted();
    const { task } = rig;
    const s = rig.os.syscalls;
    const fd = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    rig.ok(s.fsync(task, fd));
    const a = pattern(10_000, 3);
    rig.ok(s.write(task, fd, rig.buf(a.length, a)));
    expect(rig.ok(s.stat(task, '/mnt/f')).size).toBe(a.length);
    rig.ok(s.mkdir(task, '/mnt/d'));
    const t0 = rig.tk.sim.now;
    // The journal commits 5 s after the change; writeback of the data comes only after 30 s.
    rig.tk.sim.run({ until: t0 + 10e9 });
    expect(rig.ok(s.stat(task, '/mnt/f')).size).toBe(a.length);
    // A power cut now: the commit is there, but its size must not cover blocks never written.
    const crashed = afterCrash(rig);
    expect(E.isRight(crashed.lookup('/d'))).toBe(true);
    expect(fileOn(rig, crashed, '/f')).toEqual(new Uint8Array(0));
    rig.tk.sim.run({ until: t0 + 45e9 });
    expect(firstDifference(fileOn(rig, afterCrash(rig), '/f')!, a)).toBe(-1);
  });

  it('ordered mode: at every instant, a file shows only bytes that were written to it, or zeroes', () => {
    // Big writes are slow (10 ms), small ones fast: a commit made for one file's fsync
    // while another file's new blocks are still being written must wait for them.
    const slowBig = (rq: BlkRequest): number => (rq.op === 'write' && rq.sectors >= 64 ? 10_000_000 : 30_000);
    const rig = mounted({ bs: 1024, sectors: 16384, disk: { latencyNs: slowBig } });
    const { task } = rig;
    const s = rig.os.syscalls;
    const other = rig.os.spawn('other');
    const files = Array.from({ length: 4 }, (_, i) => ({ path: `/mnt/o${i}`, data: pattern(3000 + i * 77_777, 10 + i) }));
    const fds = files.map((f) => {
      const fd = rig.ok(s.open(task, f.path, O_CREAT | O_RDWR));
      rig.ok(s.pwrite(task, fd, rig.buf(f.data.length, f.data), 0));
      return fd;
    });
    const small = rig.ok(s.open(other, '/mnt/small', O_CREAT | O_RDWR));
    rig.ok(s.fsync(other, small));
    // Each big file's fsync starts its (slow) writeback; the other process's fsyncs commit meanwhile.
    const sim = rig.tk.sim;
    let pending = 0;
    for (const [i, fd] of fds.entries()) {
      pending += 2;
      s.fsync(task, fd).subscribe(() => pending--);
      s.pwrite(other, small, rig.buf(1024, i + 1), i * 1024).subscribe(() => s.fsync(other, small).subscribe(() => pending--));
    }
    let checks = 0;
    let sawData = false;
    let last = new Uint8Array(0);
    // Crash after any event: stable storage is what would be left.
    while (pending > 0 && sim.step()) {
      if (Buffer.compare(last, rig.disk.stable) === 0) continue;
      last = rig.disk.stable.slice();
      const fs = afterCrash(rig);
      for (const f of files) {
        const got = fileOn(rig, fs, f.path.slice(4));
        if (!got) continue;
        for (let i = 0; i < got.length; i++) if (got[i] !== 0 && got[i] !== f.data[i]) throw new Error(`${f.path} byte ${i}: ${got[i]} (junk is ${JUNK}) at ${sim.now} ns`);
        sawData ||= got.length > 0;
      }
      checks++;
    }
    expect(pending).toBe(0);
    expect(checks).toBeGreaterThan(4);
    expect(sawData).toBe(true);
    // In the end everything is there.
    const fs = afterCrash(rig);
    for (const f of files) expect(firstDifference(fileOn(rig, fs, f.path.slice(4))!, f.data)).toBe(-1);
  });

  it('a lost write is reported once per open file description, by fsync', () => {
    let failing = false;
    const rig = mounted({ disk: { fail: (rq: BlkRequest): BlkStatus | undefined => (failing && rq.op === 'write' && rq.sectors === 8 ? 'ioerr' : undefined) } });
    const { task } = rig;
    const s = rig.os.syscalls;
    const fd = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    rig.ok(s.fsync(task, fd)); // the creation committed
    const other = rig.ok(s.open(task, '/mnt/f', O_RDWR));
    failing = true;
    rig.ok(s.pwrite(task, fd, rig.buf(4096, 1), 0));
    expect(rig.run(s.fsync(task, fd))).toEqual(E.left('EIO'));
    failing = false;
    expect(rig.run(s.fsync(task, fd))).toEqual(E.right(undefined));
    expect(rig.run(s.fdatasync(task, other))).toEqual(E.left('EIO'));
    expect(rig.run(s.fsync(task, other))).toEqual(E.right(undefined));
    const late = rig.ok(s.open(task, '/mnt/f', O_RDWR));
    expect(rig.run(s.fsync(task, late))).toEqual(E.right(undefined));
  });

  it('a full file system: write succeeds, fsync says ENOSPC; blocks of a deleted file are reused after a commit', () => {
    const rig = mounted({ bs: 1024, fsBlocks: 4096 });
    const { task } = rig;
    const s = rig.os.syscalls;
    const free = rig.ok(s.statfs(task, '/mnt')).blocksFree;
    const big = rig.buf(free * 1024 + 50_000, 3);
    const fd = rig.ok(s.open(task, '/mnt/big', O_CREAT | O_RDWR));
    expect(rig.ok(s.write(task, fd, big))).toBe(big.len);
    expect(rig.run(s.fsync(task, fd))).toEqual(E.left('ENOSPC'));
    expect(rig.ok(s.statfs(task, '/mnt')).blocksFree).toBe(0);
    rig.ok(s.close(task, fd));
    rig.ok(s.unlink(task, '/mnt/big'));
    // The freed blocks wait for the commit of the unlink; the allocation commits and retries.
    const data = pattern(200 * 1024, 4);
    const g = rig.ok(s.open(task, '/mnt/next', O_CREAT | O_RDWR));
    rig.ok(s.write(task, g, rig.buf(data.length, data)));
    expect(rig.run(s.fsync(task, g))).toEqual(E.right(undefined));
    const fs = afterCrash(rig);
    expect(firstDifference(fileOn(rig, fs, '/next')!, data)).toBe(-1);
  });
});
