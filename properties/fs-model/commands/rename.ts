/**
 * rename(2), with Linux's checks in Linux's order (fs/namei.c do_renameat2, vfs_rename):
 * both parents walked (source first); a missing source is ENOENT; renaming onto itself
 * does nothing; a directory into its own subtree is EINVAL; onto an ancestor of the
 * source ENOTEMPTY; then a file over a directory is EISDIR, a directory over a file
 * ENOTDIR, over a non-empty directory ENOTEMPTY.
 */
import type fc from 'fast-check';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

export function modelRename(m: FsModel, from: string, to: string): Result<void> {
  const badFrom = m.walkParent(from);
  if (badFrom) return err(badFrom);
  const badTo = m.walkParent(to);
  if (badTo) return err(badTo);
  const src = m.nodes.get(from);
  if (!src) return err('ENOENT');
  if (from === to) return ok(undefined);
  if (to.startsWith(from + '/')) return err('EINVAL');
  if (from.startsWith(to + '/')) return err('ENOTEMPTY');
  const dst = m.nodes.get(to);
  if (dst) {
    if (src.kind === 'file' && dst.kind === 'dir') return err('EISDIR');
    if (src.kind === 'dir' && dst.kind === 'file') return err('ENOTDIR');
    if (dst.kind === 'dir' && m.children(to).length > 0) return err('ENOTEMPTY');
  }
  m.move(from, to);
  return ok(undefined);
}

export class RenameCommand implements fc.Command<FsModel, FsReal> {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    same(this.toString(), modelRename(m, this.from, this.to), r.call(r.sys.rename(r.task, this.from, this.to), this.toString()));
  }
  toString = (): string => `rename(${this.from}, ${this.to})`;
}
