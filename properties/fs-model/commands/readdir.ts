/** readdir: the names in a directory (compared as a set; the order is the file system's). */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

export function modelReaddir(m: FsModel, path: string): Result<string[]> {
  const bad = m.walkParent(path);
  if (bad) return err(bad);
  const n = m.nodes.get(path);
  if (!n) return err('ENOENT');
  if (n.kind !== 'dir') return err('ENOTDIR');
  return ok(m.children(path));
}

export class ReaddirCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly path: string) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    const actual = r.call(r.sys.readdir(r.task, this.path), this.toString());
    same(this.toString(), modelReaddir(m, this.path), actual, (a, b) => JSON.stringify(a) === JSON.stringify([...b].sort()));
  }
  toString = (): string => `readdir(${this.path})`;
}
