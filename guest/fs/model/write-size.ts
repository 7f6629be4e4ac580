/**
 * A write that sets a file's size: growing maps (allocates) some of the new blocks, as a write
 * through the page cache would, then sets i_size; shrinking truncates. EISDIR on a directory.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'fast-check';
import { expect } from 'vitest';
import type { Errno } from '../errno.js';
import { expectMatches, expectOutcome, lookup, syncReal, type FsModel, type Real, type Res } from './model.js';

export class WriteSizeCommand implements Command<FsModel, Real> {
  constructor(
    readonly path: string,
    readonly size: number,
    /** Map every `stride`-th new block (1: dense; larger: sparse). */
    readonly stride: number,
  ) {}
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    r.clock.now += 1000;
    const p = lookup(m, this.path);
    const node = E.isRight(p) ? m.paths.get(p.right) : undefined;
    const expected: Res<void> = E.isLeft(p) ? p : node?.kind === 'dir' ? E.left('EISDIR') : E.right(undefined);
    const real = this.apply(r);
    if (E.isLeft(real) && real.left === 'ENOSPC' && E.isRight(expected)) {
      // The model has no notion of space; a failed write must have changed nothing. Its
      // blocks stay unusable until a commit is durable, so commit (ext4_should_retry_alloc).
      expectMatches(m, r);
      syncReal(m, r);
      return;
    }
    expectOutcome(real, expected, this.toString());
    if (E.isRight(expected) && node) node.size = this.size;
    expectMatches(m, r);
  }
  private apply(r: Real): Res<void> {
    const ino = r.fs.lookup(this.path);
    if (E.isLeft(ino)) return ino;
    const st = r.fs.statIno(ino.right);
    if (E.isLeft(st)) return st;
    if (st.right.kind === 'dir') return r.fs.truncate(ino.right, this.size);
    if (this.size <= st.right.size) return r.fs.truncate(ino.right, this.size);
    const bs = r.blockSize;
    for (let b = Math.floor(st.right.size / bs); b < Math.ceil(this.size / bs); b += this.stride) {
      const got = r.fs.bmap(ino.right, b, true);
      if (E.isLeft(got)) return this.undoTo(r, ino.right, st.right.size, got.left);
      expect(got.right.block).toBeGreaterThan(0);
    }
    return r.fs.setSize(ino.right, this.size);
  }
  /** A write that ran out of space gives back what it mapped (as a failed write_begin does). */
  private undoTo(r: Real, ino: number, size: number, errno: Errno): Res<void> {
    const t = r.fs.truncate(ino, size);
    return E.isLeft(t) ? t : E.left(errno);
  }
  toString = (): string => `writeSize(${this.path}, ${this.size}, stride ${this.stride})`;
}
