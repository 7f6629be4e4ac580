/** sync: the commit plan reaches the image, and its freed blocks become reusable. */
import type { Command } from 'fast-check';
import { expectMatches, syncReal, type FsModel, type Real } from './model.js';

export class SyncCommand implements Command<FsModel, Real> {
  check = (): boolean => true;
  run(m: FsModel, r: Real): void {
    syncReal(m, r);
    expectMatches(m, r);
  }
  toString = (): string => 'sync';
}
