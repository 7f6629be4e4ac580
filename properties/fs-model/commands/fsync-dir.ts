/**
 * fsync(2) of a directory (open O_RDONLY, fsync, close): its entries as they are now are
 * durable. On a file it is an fsync of the file through a new descriptor.
 */
import type fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { O_RDONLY } from '../../../guest/vfs/syscalls-api.js';
import { same } from '../compare.js';
import { err, ok, type FsModel, type Result } from '../model.js';
import type { FsReal } from '../real.js';

function modelOpenRo(m: FsModel, path: string): Result<void> {
  const bad = path === '/mnt' ? undefined : m.walkParent(path);
  if (bad) return err(bad);
  return m.nodes.has(path) ? ok(undefined) : err('ENOENT');
}

export class FsyncDirCommand implements fc.Command<FsModel, FsReal> {
  constructor(readonly path: string) {}
  check = (): boolean => true;
  run(m: FsModel, r: FsReal): void {
    const what = this.toString();
    const fd = r.call(r.sys.open(r.task, this.path, O_RDONLY), what);
    same(`${what}: open`, modelOpenRo(m, this.path), fd, () => true);
    if (E.isLeft(fd)) return;
    same(`${what}: fsync`, ok(undefined), r.call(r.sys.fsync(r.task, fd.right), what));
    const n = m.nodes.get(this.path)!;
    if (n.kind === 'dir') m.dirSynced(this.path);
    else n.fsynced = n.versions.length - 1;
    same(`${what}: close`, ok(undefined), r.call(r.sys.close(r.task, fd.right), what));
  }
  toString = (): string => `fsync-dir(${this.path})`;
}
