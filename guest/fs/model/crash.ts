/**
 * A crash while a commit plan is on its way: only the first `cut` writes of the plan reach a
 * copy of the image. Mounting the copy replays the journal; fsck finds it clean; and what it
 * shows is the state before the commit or the state after it (a plan of one transaction), never
 * a mixture. The real run then goes on as if the plan had completed.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'fast-check';
import { expect } from 'vitest';
import { planWrites } from '../block-io.js';
import { fsckImage } from '../fsck.js';
import { mountImage } from '../mount.js';
import { applyPlan, applyWrites } from '../testing.js';
import { expectMatches, modelTree, realTree, type FsModel, type Real } from './model.js';

export class CrashCommand implements Command<FsModel, Real> {
  /** `cut` is a fraction of the plan's writes, in [0, 1]. */
  constructor(readonly cut: number) {}
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    const plan = r.fs.commit();
    const writes = planWrites(plan);
    const k = Math.round(this.cut * writes.length);
    const copy = r.image.slice();
    applyWrites(copy, writes.slice(0, k), r.blockSize);
    expect(fsckImage(copy).findings, `fsck after a crash at write ${k}/${writes.length}`).toEqual([]);
    const crashed = mountImage(copy);
    expect(E.isRight(crashed)).toBe(true);
    if (E.isRight(crashed)) {
      const seen = [...realTree(crashed.right)].sort();
      const before = [...m.durable].sort();
      const after = [...modelTree(m)].sort();
      const commits = plan.steps.filter((s) => s.what === 'commit').length;
      if (commits <= 1) expect([before, after], `state after a crash at write ${k}/${writes.length}`).toContainEqual(seen);
    }
    applyPlan(r.image, plan, r.blockSize);
    r.fs.complete(plan);
    m.durable = modelTree(m);
    expectMatches(m, r);
  }
  toString = (): string => `crash(${this.cut.toFixed(2)})`;
}
