/** create(path) or mkdir(path): EEXIST, ENOENT, ENOTDIR as the model says. */
import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'fast-check';
import { expectMatches, expectOutcome, parentOf, type FsModel, type Real, type Res } from './model.js';

export class CreateCommand implements Command<FsModel, Real> {
  constructor(
    readonly path: string,
    readonly kind: 'file' | 'dir',
  ) {}
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    r.clock.now += 1000;
    const pp = parentOf(m, this.path);
    const expected: Res<void> = E.isLeft(pp) ? pp : m.paths.has(pp.right.child) ? E.left('EEXIST') : E.right(undefined);
    const real = this.kind === 'dir' ? r.fs.mkdir(this.path) : r.fs.create(this.path);
    expectOutcome(real, expected, this.toString());
    if (E.isRight(expected) && E.isRight(pp)) m.paths.set(pp.right.child, { kind: this.kind, size: 0 });
    expectMatches(m, r);
  }
  toString = (): string => `${this.kind === 'dir' ? 'mkdir' : 'create'}(${this.path})`;
}
