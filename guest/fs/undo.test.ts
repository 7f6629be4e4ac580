/**
 * The undo log, and a failed handle leaving no trace byte for byte: the metadata blocks it
 * changed by range or whole, the blocks it pinned, and the running transaction it dirtied
 * are all as they were, so the image written at umount is the same as if it never ran.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Fs } from './fs.js';
import { fsckImage } from './fsck.js';
import { mkfsImage } from './mkfs.js';
import { mountImage } from './mount.js';
import { applyPlan, unwrap } from './testing.js';
import { UndoLog } from './undo.js';

describe('UndoLog', () => {
  it('reverts ranges and closures newest first, whatever they overlap', () => {
    const a = Uint8Array.from({ length: 64 }, (_, i) => i);
    const b = new Uint8Array(8).fill(7);
    const orig = a.slice();
    const log = new UndoLog();
    const order: string[] = [];
    log.saveRange(a, 4, 8);
    a.fill(0xaa, 4, 12);
    log.saveFn(() => order.push('first'));
    log.saveRange(a, 0, 64);
    a.fill(0xbb);
    log.saveRange(a, 10, 4); // inside the range saved before it
    a.fill(0xcc, 10, 14);
    log.saveRange(b, 0, 8);
    b.fill(1);
    log.saveFn(() => order.push('second'));
    expect(log.size).toBe(6);
    log.rollback();
    expect(a).toEqual(orig);
    expect(b).toEqual(new Uint8Array(8).fill(7));
    expect(order).toEqual(['second', 'first']);
    expect(log.size).toBe(0);
  });

  it('grows past its first buffer, and clear forgets without reverting', () => {
    const blocks = Array.from({ length: 40 }, (_, i) => new Uint8Array(4096).fill(i));
    const log = new UndoLog();
    for (const blk of blocks) {
      log.saveRange(blk, 0, 4096);
      blk.fill(0xff);
    }
    log.rollback();
    blocks.forEach((blk, i) => expect(blk.every((x) => x === i)).toBe(true));
    log.saveRange(blocks[0], 0, 16);
    blocks[0].fill(9, 0, 16);
    log.clear();
    log.rollback();
    expect(blocks[0][0]).toBe(9);
  });
});

/** A fresh file system of `blocks` 1 KiB blocks on an image. */
function setup(blocks: number): { image: Uint8Array; fs: Fs } {
  const image = new Uint8Array(blocks * 1024);
  unwrap(mkfsImage(image, { sizeBlocks: blocks, blockSize: 1024 }));
  return { image, fs: unwrap(mountImage(image, { now: () => 1e9 })) };
}

/**
 * Fills a small file system until exactly one block is free, with the file's next block
 * needing an indirect block as well; then, if `fail`, tries that block (ENOSPC after the
 * indirect block was taken); then unmounts. The image.
 */
function run(fail: boolean): Uint8Array {
  const { image, fs } = setup(1024);
  const filler = unwrap(fs.create('/filler'));
  const file = unwrap(fs.create('/f'));
  for (let n = 0; n < 12; n++) unwrap(fs.bmap(file, n, true)); // the direct blocks
  unwrap(fs.setSize(file, 12 * 1024));
  let n = 0;
  while (unwrap(fs.statfs()).freeBlocks > 1) unwrap(fs.bmap(filler, n++, true));
  unwrap(fs.setSize(filler, n * 1024));
  if (fail) expect(fs.bmap(file, 12, true)).toEqual(E.left('ENOSPC'));
  applyPlan(image, fs.umount(), 1024);
  return image;
}

describe('a failed handle', () => {
  it('leaves the image exactly as if it had not run', () => {
    const failed = run(true);
    expect(fsckImage(failed).findings).toEqual([]);
    expect(Buffer.from(failed).equals(Buffer.from(run(false)))).toBe(true);
  });

  it('takes its blocks out of the running transaction again', () => {
    const { image, fs } = setup(1024);
    const filler = unwrap(fs.create('/filler'));
    const file = unwrap(fs.create('/f'));
    for (let n = 0; n < 12; n++) unwrap(fs.bmap(file, n, true));
    let n = 0;
    while (unwrap(fs.statfs()).freeBlocks > 1) unwrap(fs.bmap(filler, n++, true));
    const first = fs.commit();
    expect(first.steps.some((s) => s.what === 'commit')).toBe(true);
    applyPlan(image, first, 1024);
    expect(fs.bmap(file, 12, true)).toEqual(E.left('ENOSPC')); // dirtied bitmap, descriptor, superblock, indirect block, then failed
    expect(fs.commit().steps).toEqual([]); // nothing left to commit
    unwrap(fs.setSize(filler, n * 1024));
    unwrap(fs.setSize(file, 12 * 1024));
    applyPlan(image, fs.umount(), 1024);
    expect(fsckImage(image).findings).toEqual([]);
  });
});
