/**
 * Path walking (fs/namei.c, much simplified): absolute paths from the root (a relative path is
 * taken from the root too; there is no cwd here), "." and ".." resolved through the directory
 * entries, repeated slashes collapsed.
 */
import * as E from 'fp-ts/lib/Either.js';
import { encodeName } from './bytes.js';
import type { FsCore } from './core.js';
import { dirLookup } from './dir.js';
import { isDot } from './dirent.js';
import type { Errno } from './errno.js';
import { NAME_MAX, PATH_MAX, ROOT_INO } from './geometry.js';
import { isDir } from './inode.js';

export interface ParsedPath {
  readonly components: Uint8Array[];
  /** The path ended with a slash: its last component must be a directory. */
  readonly trailingSlash: boolean;
}

export function parsePath(path: string): E.Either<Errno, ParsedPath> {
  if (path.length === 0) return E.left('ENOENT');
  if (encodeName(path).length >= PATH_MAX) return E.left('ENAMETOOLONG');
  const parts = path.split('/').filter((c) => c.length > 0).map(encodeName);
  if (parts.some((c) => c.length > NAME_MAX)) return E.left('ENAMETOOLONG');
  if (parts.some((c) => c.includes(0))) return E.left('EINVAL');
  return E.right({ components: parts, trailingSlash: path.endsWith('/') && parts.length > 0 });
}

/** Walks `components` from `start`; every component but the result must be a directory. */
export function walk(core: FsCore, components: Uint8Array[], start = ROOT_INO): E.Either<Errno, number> {
  let cur = start;
  for (const c of components) {
    if (!isDir(core.inode(cur))) return E.left('ENOTDIR');
    if (isDot(c)) continue;
    const next = dirLookup(core, cur, c);
    if (E.isLeft(next)) return next;
    if (next.right === undefined) return E.left('ENOENT');
    cur = next.right;
  }
  return E.right(cur);
}

export function lookupPath(core: FsCore, path: string): E.Either<Errno, number> {
  const p = parsePath(path);
  if (E.isLeft(p)) return p;
  const ino = walk(core, p.right.components);
  if (E.isLeft(ino)) return ino;
  if (p.right.trailingSlash && !isDir(core.inode(ino.right))) return E.left('ENOTDIR');
  return ino;
}

export interface ParentAndName {
  readonly dir: number;
  /** The last component; empty for "/". */
  readonly name: Uint8Array;
  readonly trailingSlash: boolean;
}

/** Resolves everything but the last component, which must name a directory. */
export function lookupParent(core: FsCore, path: string): E.Either<Errno, ParentAndName> {
  const p = parsePath(path);
  if (E.isLeft(p)) return p;
  const comps = p.right.components;
  if (comps.length === 0) return E.right({ dir: ROOT_INO, name: new Uint8Array(0), trailingSlash: true });
  const dir = walk(core, comps.slice(0, -1));
  if (E.isLeft(dir)) return dir;
  if (!isDir(core.inode(dir.right))) return E.left('ENOTDIR');
  return E.right({ dir: dir.right, name: comps[comps.length - 1], trailingSlash: p.right.trailingSlash });
}

/** Whether directory `ino` is `ancestor` or lies below it (following ".." up to the root). */
export function isWithin(core: FsCore, ino: number, ancestor: number): E.Either<Errno, boolean> {
  let cur = ino;
  for (let steps = 0; steps <= core.geo.inodesCount; steps++) {
    if (cur === ancestor) return E.right(true);
    if (cur === ROOT_INO) return E.right(false);
    const up = dirLookup(core, cur, Uint8Array.of(0x2e, 0x2e));
    if (E.isLeft(up)) return up;
    if (up.right === undefined) return core.corrupt(`directory inode ${cur} has no '..'`);
    cur = up.right;
  }
  return core.corrupt(`directory inode ${ino}: '..' chain loops`);
}
