/** pread(2) at an offset, or read(2) at the handle's position: the model's bytes, short at EOF. */
import type fc from 'fast-check';
import { firstDiff } from '../../support/vm.js';
import type { FsModel } from '../model.js';
import type { FsReal } from '../real.js';

export class ReadCommand implements fc.Command<FsModel, FsReal> {
  constructor(
    readonly handle: number,
    readonly positional: boolean,
    readonly offset: number,
    readonly len: number,
  ) {}
  check = (m: Readonly<FsModel>): boolean => m.handles.length > 0;
  run(m: FsModel, r: FsReal): void {
    const i = this.handle % m.handles.length;
    const h = m.handles[i];
    const at = this.positional ? this.offset : h.pos;
    const want = h.node.data.subarray(Math.min(at, h.node.data.length), Math.min(at + this.len, h.node.data.length));
    const buf = r.buf(this.len);
    const actual = r.call(this.positional ? r.sys.pread(r.task, r.fds[i], buf, this.offset) : r.sys.read(r.task, r.fds[i], buf), this.toString());
    if (actual._tag === 'Left') throw new Error(`${this} on a file of ${h.node.data.length} bytes: expected ${want.length} bytes, got ${actual.left}`);
    if (actual.right !== want.length) throw new Error(`${this} on a file of ${h.node.data.length} bytes: expected ${want.length} bytes, got ${actual.right}`);
    const got = r.bytes(want.length);
    const d = firstDiff(want, got);
    if (d >= 0) throw new Error(`${this}: byte ${at + d} of the file is ${got[d]}, the model says ${want[d]}`);
    if (!this.positional) h.pos = at + want.length;
  }
  toString = (): string => (this.positional ? `pread(h${this.handle}, ${this.len}, ${this.offset})` : `read(h${this.handle}, ${this.len})`);
}
