/**
 * rename(from, to), with Linux's checks in Linux's order: EINVAL moving a directory into itself,
 * ENOTEMPTY when the target is an ancestor of the source or a non-empty directory, ENOTDIR and
 * EISDIR on a type mismatch, success without change between two links of one file.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'fast-check';
import { expectMatches, expectOutcome, hasChildren, parentOf, within, type FsModel, type Real, type Res } from './model.js';

export class RenameCommand implements Command<FsModel, Real> {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {}
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    r.clock.now += 1000;
    const expected = ((): Res<[string, string] | undefined> => {
      const po = parentOf(m, this.from);
      if (E.isLeft(po)) return po;
      const pn = parentOf(m, this.to);
      if (E.isLeft(pn)) return pn;
      const [src, dst] = [po.right.child, pn.right.child];
      const s = m.paths.get(src);
      if (!s) return E.left('ENOENT');
      if (s.kind === 'dir' && within(pn.right.dir, src)) return E.left('EINVAL');
      const d = m.paths.get(dst);
      if (d) {
        if (within(po.right.dir, dst)) return E.left('ENOTEMPTY');
        if (d === s) return E.right(undefined);
        if (s.kind === 'dir' && d.kind !== 'dir') return E.left('ENOTDIR');
        if (s.kind !== 'dir' && d.kind === 'dir') return E.left('EISDIR');
        if (d.kind === 'dir' && hasChildren(m, dst)) return E.left('ENOTEMPTY');
      }
      return E.right([src, dst]);
    })();
    expectOutcome(r.fs.rename(this.from, this.to), expected, this.toString());
    if (E.isRight(expected) && expected.right) {
      const [src, dst] = expected.right;
      m.paths.delete(dst);
      for (const [p, n] of [...m.paths])
        if (within(p, src)) {
          m.paths.delete(p);
          m.paths.set(dst + p.slice(src.length), n);
        }
    }
    expectMatches(m, r);
  }
  toString = (): string => `rename(${this.from}, ${this.to})`;
}
