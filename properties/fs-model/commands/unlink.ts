/** unlink(2): the name goes; an open handle keeps the file. A directory is EISDIR (Linux). */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

export function modelUnlink(m: FsModel, path: string): Result<void> {
  const bad = m.walkParent(path);
  if (bad) return err(bad);
  const n = m.nodes.get(path);
  if (!n) return err('ENOENT');
  if (n.kind === 'dir') return err('EISDIR');
  m.unbind(path);
  return ok(undefined);
}

export class UnlinkCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly path: string) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    same(this.toString(), modelUnlink(m, this.path), r.call(r.sys.unlink(r.task, this.path), this.toString()));
  }
  toString = (): string => `unlink(${this.path})`;
}
