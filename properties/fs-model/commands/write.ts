/**
 * pwrite(2) at an offset, or write(2) at the handle's position; with O_APPEND both append
 * (Linux's pwrite ignores the offset then, as its man page says under BUGS).
 */
import type fc from 'fast-check';
import { dataOf } from '../arbitraries.js';
import { same } from '../compare.js';
import { ok, type FsModel } from '../model.js';
import type { FsReal } from '../real.js';

export class WriteCommand implements fc.Command<FsModel, FsReal> {
  constructor(
    readonly handle: number,
    readonly positional: boolean,
    readonly offset: number,
    readonly len: number,
    readonly seed: number,
  ) {}
  check = (m: Readonly<FsModel>): boolean => m.handles.length > 0;
  run(m: FsModel, r: FsReal): void {
    const i = this.handle % m.handles.length;
    const h = m.handles[i];
    const data = dataOf(this.seed, this.len);
    const buf = r.buf(this.len, data);
    const fd = r.fds[i];
    // The model changes first: if the power goes during the call, the write may have happened.
    const at = h.append ? h.node.data.length : this.positional ? this.offset : h.pos;
    m.writeAt(h.node, at, data);
    if (!this.positional) h.pos = at + this.len;
    const actual = r.call(this.positional ? r.sys.pwrite(r.task, fd, buf, this.offset) : r.sys.write(r.task, fd, buf), this.toString());
    same(this.toString(), ok(this.len), actual);
  }
  toString = (): string =>
    this.positional ? `pwrite(h${this.handle}, ${this.len} bytes #${this.seed}, ${this.offset})` : `write(h${this.handle}, ${this.len} bytes #${this.seed})`;
}
