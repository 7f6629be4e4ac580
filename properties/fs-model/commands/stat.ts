/** stat(2): the kind, and a file's size. */
import type fc from 'fast-check';
import type { StatResult } from '../../../guest/vfs/syscalls-api.js';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

export function modelStat(m: FsModel, path: string): Result<{ kind: 'file' | 'dir'; size?: number }> {
  const bad = m.walkParent(path);
  if (bad) return err(bad);
  const n = m.nodes.get(path);
  if (!n) return err('ENOENT');
  return ok(n.kind === 'file' ? { kind: 'file', size: n.data.length } : { kind: 'dir' });
}

export class StatCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly path: string) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    const actual = r.call(r.sys.stat(r.task, this.path), this.toString());
    same(this.toString(), modelStat(m, this.path), actual, (a, b: StatResult) => a.kind === b.kind && (a.size === undefined || a.size === b.size));
  }
  toString = (): string => `stat(${this.path})`;
}
