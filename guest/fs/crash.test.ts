/**
 * Crash consistency of the journal. A commit plan (and the checkpoint after it) is cut at every
 * write — or, modelling a volatile write cache, every write completed before the last barrier
 * plus any subset of the batch in flight — applied to a copy of the image, and the copy mounted
 * (which replays the journal). fsck must find it clean and the tree must be the state before the
 * transaction or the state after it.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planWrites, type BlockWrite, type WritePlan } from './block-io.js';
import type { Fs } from './fs.js';
import { fsckImage } from './fsck.js';
import { mkfsImage } from './mkfs.js';
import { mount, mountImage } from './mount.js';
import { applyPlan, applyWrites, memoryBlockIo, treeOf, unwrap } from './testing.js';

const BS = 1024;

function fresh(blocks = 2048, journalBlocks = 512): { image: Uint8Array; fs: Fs } {
  const image = new Uint8Array(blocks * BS);
  unwrap(mkfsImage(image, { sizeBlocks: blocks, blockSize: BS, journalBlocks, inodes: 256 }));
  return { image, fs: unwrap(mountImage(image)) };
}

const snapshot = (fs: Fs): string => JSON.stringify([...treeOf(fs)].sort());

function sync(image: Uint8Array, fs: Fs): void {
  const plan = fs.commit();
  applyPlan(image, plan, BS);
  fs.complete(plan);
}

/** Mounts a crashed copy and checks it is clean and shows one of `states`. */
function expectRecovers(copy: Uint8Array, states: string[], where: string): void {
  const report = fsckImage(copy);
  expect(report.findings, `fsck ${where}`).toEqual([]);
  const fs = mountImage(copy);
  if (E.isLeft(fs)) throw new Error(`mount ${where}: ${fs.left.message}`);
  expect(states, `state ${where}`).toContain(snapshot(fs.right));
}

function cutEverywhere(image: Uint8Array, plan: WritePlan, states: string[]): number {
  const writes = planWrites(plan);
  for (let k = 0; k <= writes.length; k++) {
    const copy = image.slice();
    applyWrites(copy, writes.slice(0, k), BS);
    expectRecovers(copy, states, `after ${k}/${writes.length} writes`);
  }
  return writes.length;
}

const populate = (fs: Fs): void => {
  for (const d of ['/d1', '/d2', '/d1/e']) unwrap(fs.mkdir(d));
  for (let i = 0; i < 8; i++) {
    const ino = unwrap(fs.create(`/d1/f${i}`));
    for (let b = 0; b < 20 * i; b += 2) unwrap(fs.bmap(ino, b, true));
    unwrap(fs.setSize(ino, 20 * i * BS));
  }
};

const batch = (fs: Fs): void => {
  unwrap(fs.rename('/d1/f3', '/d2/g'));
  unwrap(fs.link('/d1/f4', '/d2/h'));
  unwrap(fs.unlink('/d1/f5'));
  unwrap(fs.rename('/d1/e', '/d2/e'));
  unwrap(fs.truncate(unwrap(fs.lookup('/d1/f7')), 3000));
  unwrap(fs.mkdir('/d2/e/x'));
  unwrap(fs.rmdir('/d2/e/x'));
  unwrap(fs.rename('/d1/f6', '/d1/f2'));
  const ino = unwrap(fs.create('/d2/big'));
  for (let b = 0; b < 300; b += 7) unwrap(fs.bmap(ino, b, true));
  unwrap(fs.setSize(ino, 300 * BS));
};

describe('crash consistency', () => {
  it('a commit and its checkpoint, cut at every write, recover to the old or the new state', () => {
    const { image, fs } = fresh();
    populate(fs);
    sync(image, fs);
    const before = snapshot(fs);
    batch(fs);
    const after = snapshot(fs);
    const commit = fs.commit();
    expect(commit.steps.filter((s) => s.what === 'commit')).toHaveLength(1);
    const plan = { steps: [...commit.steps, ...fs.checkpoint().steps] };
    expect(plan.steps.map((s) => [s.what, s.barrier])).toEqual([
      ['journal', 'flush'],
      ['commit', 'fua'],
      ['checkpoint', 'flush'],
      ['journal-superblock', 'fua'],
    ]);
    const n = cutEverywhere(image, plan, [before, after]);
    expect(n).toBeGreaterThan(20);
    // Before the commit block, the old state; from it on, the new one.
    const writes = planWrites(plan);
    const commitAt = plan.steps[0].writes.length;
    for (const [k, want] of [[commitAt, before], [commitAt + 1, after]] as const) {
      const copy = image.slice();
      applyWrites(copy, writes.slice(0, k), BS);
      expect(snapshot(unwrap(mountImage(copy)))).toBe(want);
    }
  });

  it('a volatile write cache may lose any subset of the batch in flight', () => {
    const { image, fs } = fresh();
    populate(fs);
    sync(image, fs);
    const before = snapshot(fs);
    batch(fs);
    const after = snapshot(fs);
    const plan = { steps: [...fs.commit().steps, ...fs.checkpoint().steps] };
    fc.assert(
      fc.property(fc.nat({ max: plan.steps.length - 1 }), fc.infiniteStream(fc.boolean()), (s, keep) => {
        const copy = image.slice();
        for (let i = 0; i < s; i++) applyWrites(copy, plan.steps[i].writes, BS);
        const it = keep[Symbol.iterator]();
        applyWrites(copy, plan.steps[s].writes.filter(() => it.next().value as boolean), BS);
        expectRecovers(copy, [before, after], `with step ${s} (${plan.steps[s].what}) in flight`);
      }),
      { numRuns: 150 },
    );
  });

  it('several committed transactions left in the log replay in order; a crash mid-replay replays again', () => {
    const { image, fs } = fresh();
    populate(fs);
    const states: string[] = [];
    for (let round = 0; round < 4; round++) {
      unwrap(fs.mkdir(`/r${round}`));
      unwrap(fs.rename(`/d1/f${round}`, `/r${round}/f`));
      sync(image, fs); // commit only: the journal keeps every transaction
      states.push(snapshot(fs));
    }
    const crashed = image.slice();
    expectRecovers(crashed.slice(), [states[3]], 'with four transactions in the log');
    // Crash during the replay itself: only a prefix of mount's writes reach the disk.
    const io = memoryBlockIo(crashed.slice());
    let report: unknown;
    mount(io).subscribe((r) => (report = r));
    expect(E.isRight(report as E.Either<unknown, Fs>)).toBe(true);
    const mountWrites: BlockWrite[] = io.log.flatMap((b) => b.writes);
    expect(io.log.map((b) => b.barrier)).toEqual(['flush', 'fua', 'fua']); // replay, journal superblock, mount state
    for (let k = 0; k <= mountWrites.length; k++) {
      const copy = crashed.slice();
      applyWrites(copy, mountWrites.slice(0, k), BS);
      expectRecovers(copy, [states[3]], `after ${k} replay writes`);
    }
  });

  it('a small journal wraps and checkpoints inside a commit, and still recovers at every cut', () => {
    const { image, fs } = fresh(1024, 40);
    populate(fs);
    sync(image, fs);
    for (let round = 0; round < 6; round++) {
      const before = snapshot(fs);
      unwrap(fs.mkdir(`/w${round}`));
      unwrap(fs.create(`/w${round}/f`));
      unwrap(fs.rename(`/d1/f${round}`, `/w${round}/g`));
      const after = snapshot(fs);
      const plan = fs.commit();
      if (plan.steps.filter((s) => s.what === 'commit').length === 1) cutEverywhere(image, plan, [before, after]);
      applyPlan(image, plan, BS);
      fs.complete(plan);
    }
    applyPlan(image, fs.umount(), BS);
    expect(fsckImage(image).findings).toEqual([]);
  });

  it('revoke: a freed directory block reused for file data is not overwritten by replay', () => {
    const { image, fs } = fresh();
    unwrap(fs.mkdir('/gone'));
    sync(image, fs); // the directory's block is logged in the journal
    const dirBlock = unwrap(fs.bmap(unwrap(fs.create('/probe')), 0, true)).block - 1;
    unwrap(fs.unlink('/probe'));
    unwrap(fs.rmdir('/gone'));
    sync(image, fs); // the free is committed (with a revoke record)
    const f = unwrap(fs.create('/data'));
    let got = 0;
    for (let b = 0; b < 64 && got !== dirBlock; b++) got = unwrap(fs.bmap(f, b, true)).block;
    expect(got).toBe(dirBlock);
    const pattern = new Uint8Array(BS).fill(0xab);
    image.set(pattern, dirBlock * BS); // ordered mode: the data reaches the disk before the commit
    unwrap(fs.setSize(f, 64 * BS));
    sync(image, fs);
    const copy = image.slice(); // crash with all three transactions still in the log
    const m = unwrap(mountImage(copy));
    expect(m.info.replayedTransactions).toBe(3);
    expect(copy.slice(dirBlock * BS, (dirBlock + 1) * BS)).toEqual(pattern);
    expect(fsckImage(copy).findings).toEqual([]);
  });
});
