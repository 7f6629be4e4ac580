/** close(2) of an open handle. */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { ok, type FsModel } from '../model.js';
import type { FsReal } from '../real.js';

export class CloseCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly handle: number) {}
  check = (m: Readonly<FsModel>): boolean => m.handles.length > 0;
  run(m: FsModel, r: FsReal): void {
    const i = this.handle % m.handles.length;
    const actual = r.call(r.sys.close(r.task, r.fds[i]), this.toString());
    m.handles.splice(i, 1);
    r.fds.splice(i, 1);
    same(this.toString(), ok(undefined), actual);
  }
  toString = (): string => `close(h${this.handle})`;
}
