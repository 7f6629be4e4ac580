/** rmdir(path): ENOTDIR, ENOTEMPTY, ENOENT. */
import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'fast-check';
import { expectMatches, expectOutcome, hasChildren, parentOf, type FsModel, type Real, type Res } from './model.js';

export class RmdirCommand implements Command<FsModel, Real> {
  constructor(readonly path: string) {}
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    r.clock.now += 1000;
    const expected = ((): Res<string> => {
      const pp = parentOf(m, this.path);
      if (E.isLeft(pp)) return pp;
      const n = m.paths.get(pp.right.child);
      if (!n) return E.left('ENOENT');
      if (n.kind !== 'dir') return E.left('ENOTDIR');
      if (hasChildren(m, pp.right.child)) return E.left('ENOTEMPTY');
      return E.right(pp.right.child);
    })();
    expectOutcome(r.fs.rmdir(this.path), expected, this.toString());
    if (E.isRight(expected)) m.paths.delete(expected.right);
    expectMatches(m, r);
  }
  toString = (): string => `rmdir(${this.path})`;
}
