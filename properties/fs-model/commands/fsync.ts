/** fsync(2) / fdatasync(2) of an open file: the file's bytes as they are now are durable. */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { ok, type FsModel } from '../model.js';
import type { FsReal } from '../real.js';

export class FsyncCommand implements fc.Command<FsModel, FsReal> {
  constructor(
    readonly handle: number,
    readonly dataOnly: boolean,
  ) {}
  check = (m: Readonly<FsModel>): boolean => m.handles.length > 0;
  run(m: FsModel, r: FsReal): void {
    const i = this.handle % m.handles.length;
    const fd = r.fds[i];
    const actual = r.call(this.dataOnly ? r.sys.fdatasync(r.task, fd) : r.sys.fsync(r.task, fd), this.toString());
    same(this.toString(), ok(undefined), actual);
    const node = m.handles[i].node;
    node.fsynced = node.versions.length - 1;
  }
  toString = (): string => `${this.dataOnly ? 'fdatasync' : 'fsync'}(h${this.handle})`;
}
