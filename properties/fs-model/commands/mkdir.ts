/** mkdir(2): EEXIST for any existing name. */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

export function modelMkdir(m: FsModel, path: string): Result<void> {
  const bad = m.walkParent(path);
  if (bad) return err(bad);
  if (m.nodes.has(path)) return err('EEXIST');
  m.bind(path, m.newDir());
  return ok(undefined);
}

export class MkdirCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly path: string) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    same(this.toString(), modelMkdir(m, this.path), r.call(r.sys.mkdir(r.task, this.path, 0o755), this.toString()));
  }
  toString = (): string => `mkdir(${this.path})`;
}
