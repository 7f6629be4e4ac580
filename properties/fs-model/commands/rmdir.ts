/** rmdir(2): ENOTDIR for a file, ENOTEMPTY while anything is in it. */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

export function modelRmdir(m: FsModel, path: string): Result<void> {
  const bad = m.walkParent(path);
  if (bad) return err(bad);
  const n = m.nodes.get(path);
  if (!n) return err('ENOENT');
  if (n.kind !== 'dir') return err('ENOTDIR');
  if (m.children(path).length > 0) return err('ENOTEMPTY');
  m.unbind(path);
  return ok(undefined);
}

export class RmdirCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly path: string) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    same(this.toString(), modelRmdir(m, this.path), r.call(r.sys.rmdir(r.task, this.path), this.toString()));
  }
  toString = (): string => `rmdir(${this.path})`;
}
