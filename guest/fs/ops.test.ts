/**
 * The operations' contract beyond the model test: errnos at the edges (ENAMETOOLONG, EMLINK,
 * EFBIG, ESTALE, EBUSY, ENOTDIR on a trailing slash), sparse files, truncate keeping holes,
 * times in virtual nanoseconds, and ENOSPC leaving nothing half done.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { setLe16 } from './bytes.js';
import type { Fs } from './fs.js';
import { fsckImage } from './fsck.js';
import { mkfsImage } from './mkfs.js';
import { mountImage } from './mount.js';
import { applyPlan, treeOf, unwrap } from './testing.js';

function setup(blocks = 2048, bs = 1024, inodes?: number): { image: Uint8Array; fs: Fs; clock: { t: number } } {
  const image = new Uint8Array(blocks * bs);
  unwrap(mkfsImage(image, { sizeBlocks: blocks, blockSize: bs, inodes }));
  const clock = { t: 0 };
  return { image, fs: unwrap(mountImage(image, { now: () => clock.t })), clock };
}
const sync = (image: Uint8Array, fs: Fs): void => {
  const plan = fs.commit();
  applyPlan(image, plan, fs.geometry.blockSize);
  fs.complete(plan);
};
const clean = (image: Uint8Array, fs: Fs): void => {
  applyPlan(image, fs.umount(), fs.geometry.blockSize);
  expect(fsckImage(image).findings).toEqual([]);
};

describe('namespace errnos', () => {
  it('follows Linux at the edges', () => {
    const { image, fs } = setup();
    unwrap(fs.mkdir('/d'));
    unwrap(fs.create('/d/f'));
    expect(fs.create(`/${'x'.repeat(256)}`)).toEqual(E.left('ENAMETOOLONG'));
    expect(E.isRight(fs.create(`/${'x'.repeat(255)}`))).toBe(true);
    expect(fs.lookup('/d/f/')).toEqual(E.left('ENOTDIR'));
    expect(fs.lookup('/d/f/g')).toEqual(E.left('ENOTDIR'));
    expect(fs.lookup('//d/./f')).toEqual(E.right(unwrap(fs.lookup('/d/f'))));
    expect(fs.lookup('/d/../d/f')).toEqual(fs.lookup('/d/f'));
    expect(fs.lookup('/..')).toEqual(E.right(2));
    expect(fs.mkdir('/')).toEqual(E.left('EEXIST'));
    expect(fs.mkdir('/d/.')).toEqual(E.left('EEXIST'));
    expect(fs.rmdir('/')).toEqual(E.left('EBUSY'));
    expect(fs.rmdir('/d/.')).toEqual(E.left('EINVAL'));
    expect(fs.rmdir('/d/..')).toEqual(E.left('ENOTEMPTY'));
    expect(fs.unlink('/d')).toEqual(E.left('EISDIR'));
    expect(fs.link('/d', '/e')).toEqual(E.left('EPERM'));
    expect(fs.rename('/d', '/d/x')).toEqual(E.left('EINVAL'));
    expect(fs.rename('/d/f', '/d')).toEqual(E.left('ENOTEMPTY'));
    expect(fs.rename('/d/.', '/e')).toEqual(E.left('EBUSY'));
    expect(fs.create('/d/g/')).toEqual(E.left('EISDIR'));
    expect(fs.readdir('/d/f')).toEqual(E.left('ENOTDIR'));
    expect(fs.lookupAt(unwrap(fs.lookup('/d')), 'f')).toEqual(fs.lookup('/d/f'));
    clean(image, fs);
  });

  it('EMLINK at the link limit', () => {
    const { image, fs } = setup();
    const ino = unwrap(fs.create('/f'));
    sync(image, fs);
    // Raise the link count on disk to the limit, then mount again.
    const plan = fs.umount();
    applyPlan(image, plan, 1024);
    const gd = 2 * 1024;
    const itable = image[gd + 8] | (image[gd + 9] << 8);
    setLe16(image, itable * 1024 + (ino - 1) * 256 + 0x1a, 32000);
    const again = unwrap(mountImage(image));
    expect(again.link('/f', '/g')).toEqual(E.left('EMLINK'));
  });

  it('ESTALE for an inode that is gone, EFBIG past the block map', () => {
    const { fs } = setup();
    const ino = unwrap(fs.create('/f'));
    expect(fs.bmap(ino, 12 + 256 + 256 * 256, true)).toEqual(E.left('EFBIG'));
    expect(fs.truncate(ino, (12 + 256 + 65536) * 1024 + 1)).toEqual(E.left('EFBIG'));
    expect(fs.setSize(ino, 10)).toEqual(E.right(undefined));
    expect(fs.setSize(ino, 5)).toEqual(E.left('EINVAL'));
    unwrap(fs.unlink('/f'));
    expect(fs.statIno(ino)).toEqual(E.left('ESTALE'));
    expect(fs.bmap(ino, 0, true)).toEqual(E.left('ESTALE'));
    expect(fs.statIno(0)).toEqual(E.left('ESTALE'));
  });
});

describe('files', () => {
  it('are sparse: holes map to 0, truncate frees past the end and keeps holes', () => {
    const { image, fs, clock } = setup();
    clock.t = 1_234_567_890_123;
    const ino = unwrap(fs.create('/s'));
    const far = unwrap(fs.bmap(ino, 12 + 256 + 300, true)); // through the double indirect block
    const near = unwrap(fs.bmap(ino, 3, true));
    expect([far.fresh, near.fresh]).toEqual([true, true]);
    expect(unwrap(fs.bmap(ino, 3, true))).toEqual({ block: near.block, fresh: false });
    expect(unwrap(fs.bmap(ino, 4, false)).block).toBe(0);
    unwrap(fs.setSize(ino, (12 + 256 + 301) * 1024));
    const st = unwrap(fs.statIno(ino));
    expect(st.blocks).toBe(2 * 4); // 2 data blocks, the double indirect block and one indirect block
    expect(st.mtime).toBe(1_234_567_890_123);
    unwrap(fs.truncate(ino, 5 * 1024));
    expect(unwrap(fs.bmap(ino, 3, false)).block).toBe(near.block);
    expect(unwrap(fs.statIno(ino)).blocks).toBe(2);
    unwrap(fs.truncate(ino, 100 * 1024)); // grows as a hole
    expect(unwrap(fs.bmap(ino, 50, false)).block).toBe(0);
    clean(image, fs);
    expect(unwrap(mountImage(image)).stat('/s')).toMatchObject({ right: { size: 100 * 1024, blocks: 2 } });
  });
});

describe('ENOSPC', () => {
  it('fills the disk, fails cleanly, and frees blocks once the freeing commit is durable', () => {
    const { image, fs } = setup(1024);
    const ino = unwrap(fs.create('/big'));
    let n = 0;
    for (;;) {
      const r = fs.bmap(ino, n, true);
      if (E.isLeft(r)) {
        expect(r.left).toBe('ENOSPC');
        break;
      }
      n++;
    }
    unwrap(fs.setSize(ino, n * 1024));
    expect(unwrap(fs.statfs()).freeBlocks).toBe(0);
    const before = JSON.stringify([...treeOf(fs)]);
    const free = unwrap(fs.statfs()).freeFiles;
    expect(fs.mkdir('/d')).toEqual(E.left('ENOSPC')); // needs a block: the inode is not leaked
    expect(unwrap(fs.statfs()).freeFiles).toBe(free);
    expect(JSON.stringify([...treeOf(fs)])).toBe(before);
    unwrap(fs.truncate(ino, 0));
    expect(unwrap(fs.statfs()).freeBlocks).toBeGreaterThan(n - 10);
    expect(fs.pendingFreeBlocks()).toBeGreaterThan(0);
    expect(fs.bmap(ino, 0, true)).toEqual(E.left('ENOSPC')); // freed, not yet reusable
    sync(image, fs);
    expect(fs.pendingFreeBlocks()).toBe(0);
    expect(E.isRight(fs.bmap(ino, 0, true))).toBe(true);
    unwrap(fs.setSize(ino, 1024));
    clean(image, fs);
  });

  it('runs out of inodes', () => {
    const { image, fs } = setup(2048, 1024, 32);
    const free = unwrap(fs.statfs()).freeFiles;
    for (let i = 0; i < free; i++) unwrap(fs.create(`/f${i}`));
    expect(fs.create('/one-more')).toEqual(E.left('ENOSPC'));
    expect(unwrap(fs.statfs()).freeFiles).toBe(0);
    clean(image, fs);
  });

  it('a directory that cannot grow leaves no trace of the entry or its inode', () => {
    const { image, fs } = setup(1024);
    const ino = unwrap(fs.create('/fill'));
    for (let n = 0; E.isRight(fs.bmap(ino, n, true)); n++) unwrap(fs.setSize(ino, (n + 1) * 1024));
    let i = 0;
    for (; E.isRight(fs.create(`/${'n'.repeat(200)}${i}`)); i++);
    const stat = unwrap(fs.statfs());
    expect(fs.create(`/${'z'.repeat(250)}`)).toEqual(E.left('ENOSPC'));
    expect(unwrap(fs.statfs())).toEqual(stat);
    clean(image, fs);
  });
});

describe('bmapRun (writeback maps runs of blocks)', () => {
  /** The same file on two identical file systems: mapped by one run, and by a bmap call per block. */
  function both(blocks: number[], prepare: (fs: Fs, ino: number) => void = () => {}) {
    const out = [setup(600, 1024), setup(600, 1024)].map(({ image, fs }) => {
      const ino = unwrap(fs.create('/f'));
      unwrap(fs.create('/g'));
      prepare(fs, ino);
      return { image, fs, ino };
    });
    const [a, b] = out;
    const disk: number[] = [];
    const run = a.fs.bmapRun(a.ino, blocks, disk);
    const one: number[] = [];
    let fresh = false;
    let error: string | undefined;
    for (const n of blocks) {
      const r = b.fs.bmap(b.ino, n, true);
      if (E.isLeft(r)) {
        error = r.left;
        break;
      }
      one.push(r.right.block);
      fresh ||= r.right.fresh;
    }
    expect({ mapped: run.mapped, fresh: run.fresh, error: run.error }).toEqual({ mapped: one.length, fresh, error });
    expect(disk).toEqual(one);
    expect(a.fs.errors).toEqual(b.fs.errors);
    sync(a.image, a.fs);
    sync(b.image, b.fs);
    expect(a.image).toEqual(b.image);
    return { a, b, run };
  }

  it('allocates what a call per block allocates, through indirect blocks, with gaps and already mapped blocks', () => {
    const { a, run } = both([0, 1, 2, 11, 12, 13, 14, 300, 301, 5, 6, 7, 268, 269, 270]);
    expect(run.mapped).toBe(15);
    unwrap(a.fs.setSize(a.ino, 302 * 1024)); // as writeback does after mapping
    clean(a.image, a.fs);
    both([3, 4, 5], (fs, ino) => {
      for (const n of [4, 5]) unwrap(fs.bmap(ino, n, true));
      unwrap(fs.bmap(unwrap(fs.lookup('/g')), 0, true)); // another file took the block after 3's goal
    });
  });

  it('stops where a call per block would fail: no space, past the block map, a file that is gone', () => {
    const { run } = both(Array.from({ length: 700 }, (_, i) => i));
    expect(run.error).toBe('ENOSPC');
    expect(run.mapped).toBeGreaterThan(0);
    expect(both([0, 1, 2 ** 30]).run).toMatchObject({ mapped: 2, error: 'EFBIG' });
    expect(both([0, 1], (fs) => unwrap(fs.unlink('/f'))).run).toMatchObject({ mapped: 0, error: 'ESTALE' });
  });
});
