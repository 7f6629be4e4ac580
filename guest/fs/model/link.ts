/** link(existing, new): EPERM on a directory, EEXIST, ENOENT, ENOTDIR. */
import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'fast-check';
import { expectMatches, expectOutcome, lookup, parentOf, type FsModel, type Real, type Res } from './model.js';

export class LinkCommand implements Command<FsModel, Real> {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {}
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    r.clock.now += 1000;
    const expected = ((): Res<[string, string]> => {
      const src = lookup(m, this.from);
      if (E.isLeft(src)) return src;
      if (m.paths.get(src.right)?.kind === 'dir') return E.left('EPERM');
      const pp = parentOf(m, this.to);
      if (E.isLeft(pp)) return pp;
      if (m.paths.has(pp.right.child)) return E.left('EEXIST');
      return E.right([src.right, pp.right.child]);
    })();
    expectOutcome(r.fs.link(this.from, this.to), expected, this.toString());
    if (E.isRight(expected)) m.paths.set(expected.right[1], m.paths.get(expected.right[0]) as never);
    expectMatches(m, r);
  }
  toString = (): string => `link(${this.from}, ${this.to})`;
}
