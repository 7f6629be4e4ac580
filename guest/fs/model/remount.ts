/** umount, fsck (clean), mount: the tree comes back exactly. */
import type { Command } from 'fast-check';
import { expectMatches, remountReal, type FsModel, type Real } from './model.js';

export class RemountCommand implements Command<FsModel, Real> {
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    remountReal(m, r);
    expectMatches(m, r);
  }
  toString = (): string => 'remount';
}
