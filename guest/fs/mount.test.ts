/**
 * mount and the Observable surface: the order of I/O over an FsBlockIo, refusals of a bad
 * superblock or journal with a message (never a throw), and survival of damaged metadata.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import type { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { setLe16, setLe32 } from './bytes.js';
import type { FsError } from './errno.js';
import type { Fs } from './fs.js';
import { fsckImage } from './fsck.js';
import { mkfs, mkfsImage } from './mkfs.js';
import { mount, mountImage } from './mount.js';
import { applyPlan, memoryBlockIo, treeOf, unwrap } from './testing.js';

function last<T>(o: Observable<T>): T {
  let v: T | undefined;
  let n = 0;
  o.subscribe((x) => ((v = x), n++));
  expect(n).toBe(1);
  return v as T;
}

const fresh = (bs = 1024, blocks = 2048): Uint8Array => {
  const image = new Uint8Array(blocks * bs);
  unwrap(mkfsImage(image, { sizeBlocks: blocks, blockSize: bs }));
  return image;
};

describe('mount over an FsBlockIo', () => {
  it('mkfs, mount, operate, sync and unmount through Observables, in the documented order', () => {
    const io = memoryBlockIo(new Uint8Array(4096 * 4096));
    const made = unwrap(last(mkfs(io, { sizeBlocks: 4096 })));
    expect(made.geometry.blockSize).toBe(4096);
    expect(io.log.map((b) => b.barrier)).toEqual(['flush', 'fua']);
    io.log.length = 0;
    io.reads.length = 0;
    let clock = 5e9;
    const fs = unwrap(last(mount(io, { now: () => clock })));
    expect(io.reads[0]).toEqual([1, 1]); // the superblock, in 1024-byte units
    expect(io.log.map((b) => [b.writes.length, b.barrier])).toEqual([[1, 'fua']]); // mount state
    io.log.length = 0;
    const ino = unwrap(fs.create('/f'));
    clock += 1e9;
    unwrap(fs.bmap(ino, 0, true));
    unwrap(fs.setSize(ino, 10));
    expect(fs.orderedInodes()).toEqual([ino]);
    expect(unwrap(last(fs.sync()), 'sync')).toBeUndefined();
    expect(io.log.map((b) => b.barrier)).toEqual(['flush', 'fua']); // journal blocks, commit block
    io.log.length = 0;
    unwrap(last(fs.unmount()));
    expect(io.log.map((b) => b.barrier)).toEqual(['flush', 'fua', 'fua']); // checkpoint, journal sb, superblock
    expect(fs.mounted).toBe(false);
    expect(fs.create('/g')).toEqual(E.left('EIO'));
    expect(fsckImage(io.image).findings).toEqual([]);
    const again = unwrap(last(mount(io)));
    const st = unwrap(again.stat('/f'));
    expect([st.size, st.mtime, st.nlink]).toEqual([10, 6e9, 1]);
  });

  it('a read-only mount replays the journal but changes nothing itself', () => {
    const image = fresh();
    const fs = unwrap(mountImage(image));
    unwrap(fs.mkdir('/x'));
    applyPlan(image, fs.commit(), 1024);
    const ro = unwrap(mountImage(image, { readOnly: true }));
    expect(ro.info.replayedTransactions).toBe(1);
    expect(ro.mkdir('/y')).toEqual(E.left('EROFS'));
    expect(ro.commit().steps).toEqual([]);
    expect([...treeOf(ro).keys()]).toEqual(['/lost+found', '/x']);
  });

  it('reports an I/O error of the device as a refusal', () => {
    const io = memoryBlockIo(fresh());
    const broken = { ...io, read: () => io.read(-1, 1), setBlockSize: io.setBlockSize, get blockSize() { return io.blockSize; } };
    const r = last(mount(broken));
    expect(E.isLeft(r) && r.left.errno).toBe('EIO');
  });
});

describe('mount refuses what it cannot use, with a message', () => {
  const cases: [string, (img: Uint8Array) => void, RegExp][] = [
    ['a bad magic', (i) => setLe16(i, 1024 + 0x38, 0xbeef), /bad magic number 0xbeef/],
    ['a huge block size', (i) => setLe32(i, 1024 + 0x18, 7), /Unsupported filesystem blocksize/],
    ['more blocks than the device', (i) => setLe32(i, 1024 + 0x04, 1 << 30), /exceeds size of device/],
    ['a wrong inodes count', (i) => setLe32(i, 1024 + 0x00, 5), /inodes count not valid/],
    ['zero inodes per group', (i) => setLe32(i, 1024 + 0x28, 0), /invalid inodes per group/],
    ['an unknown incompatible feature', (i) => setLe32(i, 1024 + 0x60, 0x2 | 0x40), /unsupported optional features \(0x40\)/],
    ['no journal', (i) => setLe32(i, 1024 + 0x5c, 0), /has no journal/],
    ['a block bitmap outside its group', (i) => setLe32(i, 2048, 5000), /Block bitmap for group 0 not in group/],
    ['a journal inode that is not a file', (i) => setLe32(i, 1024 + 0xe0, 3), /journal inode 3 is not a regular file/],
  ];
  for (const [what, hurt, msg] of cases)
    it(`refuses ${what}`, () => {
      const image = fresh();
      hurt(image);
      const r = mountImage(image);
      expect(E.isLeft(r)).toBe(true);
      if (E.isLeft(r)) expect(r.left.message).toMatch(msg);
    });

  it('never throws on a random superblock', () =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1024, maxLength: 1024 }), fc.boolean(), (sb, keepMagic) => {
        const image = fresh();
        image.set(sb, 1024);
        if (keepMagic) setLe16(image, 1024 + 0x38, 0xef53);
        const r: E.Either<FsError, Fs> = mountImage(image);
        if (E.isLeft(r)) expect(r.left.message.length).toBeGreaterThan(0);
        fsckImage(image);
      }),
      { numRuns: 300 },
    ));
});

describe('a mounted file system with damaged metadata', () => {
  it('returns errnos (EIO for what is corrupt) and never throws', () => {
    const base = fresh(1024, 2048);
    const fs = unwrap(mountImage(base));
    for (const d of ['/a', '/b', '/a/c']) unwrap(fs.mkdir(d));
    for (let i = 0; i < 30; i++) {
      const ino = unwrap(fs.create(`/a/f${i}`));
      for (let b = 0; b < i * 9; b += 4) unwrap(fs.bmap(ino, b, true));
      unwrap(fs.setSize(ino, i * 9 * 1024));
    }
    applyPlan(base, fs.umount(), 1024);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 300 * 1024 - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 30 }), (hits) => {
        const image = base.slice();
        for (const [off, v] of hits) image[off] = v;
        fsckImage(image);
        const m = mountImage(image);
        if (E.isLeft(m)) return;
        const f = m.right;
        for (const p of ['/', '/a', '/b', '/a/c']) f.readdir(p);
        for (let i = 0; i < 30; i += 3) {
          const ino = f.lookup(`/a/f${i}`);
          if (E.isRight(ino)) {
            f.bmap(ino.right, i, false);
            f.bmap(ino.right, i * 9 + 1, true);
            f.truncate(ino.right, 100);
          }
          f.unlink(`/a/f${i + 1}`);
          f.rename(`/a/f${i + 2}`, `/b/g${i}`);
        }
        f.create('/b/new');
        f.mkdir('/a/c/d');
        f.rmdir('/a/c');
        f.rename('/a', '/b/a');
        applyPlan(image, f.umount(), 1024);
      }),
      { numRuns: 200 },
    );
  });
});
