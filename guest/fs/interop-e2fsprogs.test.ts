/**
 * Interop with the real ext2/3 tools (Debian e2fsprogs): images this file system writes pass
 * `e2fsck -fn`; a crashed image's journal is recovered by e2fsck itself and then checks clean;
 * an image `mke2fs -t ext3` makes mounts here, takes changes, and still passes e2fsck. Skips
 * (saying why) where e2fsprogs is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Fs } from './fs.js';
import { fsckImage } from './fsck.js';
import { mkfsImage } from './mkfs.js';
import { mountImage } from './mount.js';
import { applyPlan, treeOf, unwrap } from './testing.js';

/** The guest's CLOCK_REALTIME: e2fsck takes a deletion time below s_inodes_count for an orphan-list link. */
const realtime = { now: (): number => 1.7e18 };
const have = (tool: string): boolean => spawnSync(tool, ['-V'], { encoding: 'utf8' }).status === 0;
const available = have('e2fsck') && have('mke2fs');
if (!available) {
  const msg = 'interop: e2fsck or mke2fs not found (Debian package e2fsprogs)';
  // CI (.ci/run sets IOPATH_REQUIRE_PEERS=1) must not skip silently.
  if (process.env.IOPATH_REQUIRE_PEERS === '1') throw new Error(`${msg}, and IOPATH_REQUIRE_PEERS=1 requires it`);
  console.warn(`${msg}: skipping`);
}

const dir = mkdtempSync(join(tmpdir(), 'iopath-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function e2fsck(image: Uint8Array, args: string[]): { status: number | null; out: string; image: Uint8Array } {
  const file = join(dir, `img-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, image);
  const r = spawnSync('e2fsck', [...args, file], { encoding: 'utf8' });
  const after = new Uint8Array(readFileSync(file));
  rmSync(file);
  return { status: r.status, out: `${r.stdout}${r.stderr}`, image: after };
}

function workload(fs: Fs, bs: number): void {
  for (const d of ['/a', '/b', '/a/c']) unwrap(fs.mkdir(d));
  for (let i = 0; i < 20; i++) {
    const ino = unwrap(fs.create(`/a/file-${i}`));
    for (let b = 0; b < i * 15; b += 1 + (i % 4)) unwrap(fs.bmap(ino, b, true));
    unwrap(fs.setSize(ino, i * 15 * bs - (i % 3)));
  }
  unwrap(fs.link('/a/file-3', '/b/hard'));
  unwrap(fs.rename('/a/c', '/b/c'));
  unwrap(fs.unlink('/a/file-4'));
  unwrap(fs.truncate(unwrap(fs.lookup('/a/file-19')), 7 * bs));
  unwrap(fs.rename('/a/file-5', '/b/c/moved'));
}

describe.skipIf(!available)('e2fsprogs interop', () => {
  for (const bs of [1024, 4096])
    it(`e2fsck finds our images clean, before and after a workload (${bs}-byte blocks)`, () => {
      const blocks = bs === 1024 ? 20000 : 4000;
      const image = new Uint8Array(blocks * bs);
      unwrap(mkfsImage(image, { sizeBlocks: blocks, blockSize: bs, journalBlocks: 1024, now: 1.7e18 }));
      expect(e2fsck(image, ['-fn']).status, 'after mkfs').toBe(0);
      const fs = unwrap(mountImage(image, realtime));
      workload(fs, bs);
      applyPlan(image, fs.umount(), bs);
      const r = e2fsck(image, ['-fn']);
      expect(r.status, r.out).toBe(0);
    });

  it('e2fsck recovers our journal after a crash, and the result is clean and complete', () => {
    const bs = 1024;
    const image = new Uint8Array(8192 * bs);
    unwrap(mkfsImage(image, { sizeBlocks: 8192, blockSize: bs, journalBlocks: 1024 }));
    const fs = unwrap(mountImage(image, realtime));
    workload(fs, bs);
    const want = [...treeOf(fs)].sort();
    applyPlan(image, fs.commit(), bs); // committed, never checkpointed: the crash
    const fixed = e2fsck(image, ['-fy']);
    expect(fixed.out).toMatch(/recovering journal/);
    expect(fixed.status, fixed.out).toBeLessThanOrEqual(1);
    expect(e2fsck(fixed.image, ['-fn']).status).toBe(0);
    expect(fsckImage(fixed.image).findings).toEqual([]);
    expect([...treeOf(unwrap(mountImage(fixed.image)))].sort()).toEqual(want);
  });

  it('mounts what mke2fs -t ext3 makes, and e2fsck accepts what it becomes', () => {
    const file = join(dir, 'mke2fs.img');
    writeFileSync(file, new Uint8Array(8 << 20));
    const mk = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext3', '-b', '1024', '-I', '256', '-O', '^resize_inode,^dir_index,^ext_attr', file], { encoding: 'utf8' });
    expect(mk.status, mk.stderr).toBe(0);
    const image = new Uint8Array(readFileSync(file));
    expect(fsckImage(image).findings).toEqual([]);
    const fs = unwrap(mountImage(image, realtime));
    workload(fs, 1024);
    applyPlan(image, fs.umount(), 1024);
    expect(fsckImage(image).findings).toEqual([]);
    const r = e2fsck(image, ['-fn']);
    expect(r.status, r.out).toBe(0);
  });
});
