/** ftruncate(2): shorter drops bytes, longer adds zeroes. */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { ok, type FsModel } from '../model.js';
import type { FsReal } from '../real.js';

export class TruncateCommand implements fc.Command<FsModel, FsReal> {
  constructor(
    readonly handle: number,
    readonly len: number,
  ) {}
  check = (m: Readonly<FsModel>): boolean => m.handles.length > 0;
  run(m: FsModel, r: FsReal): void {
    const i = this.handle % m.handles.length;
    m.truncate(m.handles[i].node, this.len);
    const actual = r.call(r.sys.ftruncate(r.task, r.fds[i], this.len), this.toString());
    same(this.toString(), ok(undefined), actual);
  }
  toString = (): string => `ftruncate(h${this.handle}, ${this.len})`;
}
