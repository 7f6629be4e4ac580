/** The process sleeps: virtual time passes, and with it the flusher's and the journal's timers. */
import type fc from 'fast-check';
import type { FsModel } from '../model.js';
import type { FsReal } from '../real.js';

export class SleepCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly ns: number) {}
  check = (): boolean => true;
  run(_m: FsModel, r: FsReal): void {
    r.sleep(this.ns);
  }
  toString = (): string => `sleep(${this.ns / 1e6} ms)`;
}
