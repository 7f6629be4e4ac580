/**
 * Model-based test (fast-check's layout: one command per file under model/): random create,
 * mkdir, write-size, truncate, link, unlink, rename, rmdir, sync, remount and crash against a map
 * of paths; after each sequence the file system is unmounted, fsck must find it clean, and a
 * fresh mount must show the model's tree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fsckImage } from './fsck.js';
import { mkfsImage } from './mkfs.js';
import { fsCommands, newModel, type Real } from './model/index.js';
import { expectMatches, remountReal } from './model/model.js';
import { mountImage } from './mount.js';
import { applyPlan, unwrap } from './testing.js';

function setup(blockSize: number, blocks: number, journalBlocks?: number): () => { model: ReturnType<typeof newModel>; real: Real } {
  const pristine = new Uint8Array(blocks * blockSize);
  unwrap(mkfsImage(pristine, { sizeBlocks: blocks, blockSize, journalBlocks, inodes: 128 }));
  return () => {
    const image = pristine.slice();
    const clock = { now: 1_000_000 };
    const fs = unwrap(mountImage(image, { now: () => clock.now }));
    return { model: newModel(), real: { fs, image, blockSize, clock } };
  };
}

describe('guest/fs against a model', () => {
  for (const [bs, blocks, journal, maxSize] of [
    [1024, 9000, 256, 300 * 1024], // two block groups
    [4096, 1024, undefined, 5_000_000],
  ] as const)
    it(`keeps the model's tree, fsck-clean (${bs}-byte blocks)`, () => {
      const make = setup(bs, blocks, journal);
      fc.assert(
        fc.property(fc.commands(fsCommands(maxSize), { maxCommands: 60, size: 'max' }), (cmds) => {
          const s = make();
          fc.modelRun(() => s, cmds);
          remountReal(s.model, s.real);
          expectMatches(s.model, s.real);
          applyPlan(s.real.image, s.real.fs.umount(), bs);
          expect(fsckImage(s.real.image).findings).toEqual([]);
        }),
        { numRuns: 60 },
      );
    });
});
