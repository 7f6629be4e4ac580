/**
 * The mount table and path resolution. Paths are absolute (a relative path is taken from
 * "/": there is no working directory); "." and ".." are resolved lexically before the
 * walk (no symbolic links exist to make that differ, except that "file/.." is not
 * refused). The longest mount point that is a prefix of the path decides which file
 * system the rest is looked up in; what no mount covers is the root file system: a
 * small in-memory tree of directories ("/", "/dev", "/mnt") that exists to hold mount
 * points (mkdir and rmdir work there; files cannot be created: EROFS).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Errno } from './errno.js';
import type { MountedFs } from './mounted-fs.js';

/** PATH_MAX, counting the terminating NUL. */
const PATH_MAX = 4096;

/** A path after resolution: in the root file system, or inside a mounted one (`rel` from its root). */
export type Resolved =
  | { readonly kind: 'rootfs'; readonly path: string; readonly components: number }
  | { readonly kind: 'fs'; readonly mnt: MountedFs; readonly rel: string; readonly path: string; readonly components: number };

export interface RootDir {
  readonly ino: number;
}

export class Namespace {
  private readonly mounts = new Map<string, MountedFs>();
  private readonly rootDirs = new Map<string, RootDir>();
  private nextIno = 1;

  constructor(dirs: readonly string[] = ['/dev', '/mnt']) {
    this.rootDirs.set('/', { ino: this.nextIno++ });
    for (const d of dirs) this.rootDirs.set(d, { ino: this.nextIno++ });
  }

  /** Normalise `path`: collapse slashes, ".", ".."; keep a trailing slash (it asks for a directory). */
  static normalise(path: string): E.Either<Errno, { path: string; trailingSlash: boolean; components: number }> {
    if (typeof path !== 'string' || path.length === 0) return E.left('ENOENT');
    if (path.length >= PATH_MAX) return E.left('ENAMETOOLONG');
    if (path.includes('\0')) return E.left('EINVAL');
    const out: string[] = [];
    const parts = path.split('/').filter((c) => c.length > 0);
    for (const c of parts) {
      if (c === '.') continue;
      if (c === '..') out.pop();
      else out.push(c);
    }
    const trailingSlash = out.length > 0 && /\/\.{0,2}$/.test(path);
    return E.right({ path: '/' + out.join('/'), trailingSlash, components: parts.length });
  }

  /** The mount at `dir` (normalised), if any. */
  mountAt(dir: string): MountedFs | undefined {
    return this.mounts.get(dir);
  }

  get mounted(): readonly MountedFs[] {
    return [...this.mounts.values()];
  }

  /** The mount of device `devPath`, if it is mounted. */
  mountOf(devPath: string): MountedFs | undefined {
    return this.mounted.find((m) => m.devPath === devPath);
  }

  add(m: MountedFs): void {
    this.mounts.set(m.dir, m);
  }

  remove(m: MountedFs): void {
    if (this.mounts.get(m.dir) === m) this.mounts.delete(m.dir);
  }

  /** Mounts strictly below `dir` (they keep it busy). */
  mountsBelow(dir: string): MountedFs[] {
    const prefix = dir === '/' ? '/' : dir + '/';
    return this.mounted.filter((m) => m.dir !== dir && m.dir.startsWith(prefix));
  }

  resolve(path: string): E.Either<Errno, Resolved> {
    const n = Namespace.normalise(path);
    if (E.isLeft(n)) return n;
    const { path: p, trailingSlash, components } = n.right;
    let best: MountedFs | undefined;
    for (const m of this.mounts.values()) {
      if ((p === m.dir || p.startsWith(m.dir === '/' ? '/' : m.dir + '/')) && (!best || m.dir.length > best.dir.length)) best = m;
    }
    if (!best) return E.right({ kind: 'rootfs', path: p, components });
    const rest = best.dir === '/' ? p : p.slice(best.dir.length) || '/';
    const rel = trailingSlash && rest !== '/' ? rest + '/' : rest;
    return E.right({ kind: 'fs', mnt: best, rel, path: p, components });
  }

  // --- the root file system's directories ---

  rootDir(path: string): RootDir | undefined {
    return this.rootDirs.get(path);
  }

  /** Names directly inside root directory `path`. */
  rootChildren(path: string): string[] {
    const prefix = path === '/' ? '/' : path + '/';
    return [...this.rootDirs.keys()].filter((d) => d !== path && d.startsWith(prefix) && !d.slice(prefix.length).includes('/')).map((d) => d.slice(prefix.length));
  }

  /** mkdir in the root file system. */
  rootMkdir(path: string): E.Either<Errno, void> {
    if (this.rootDirs.has(path)) return E.left('EEXIST');
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (!this.rootDirs.has(parent)) return E.left('ENOENT');
    if (path.slice(path.lastIndexOf('/') + 1).length > 255) return E.left('ENAMETOOLONG');
    this.rootDirs.set(path, { ino: this.nextIno++ });
    return E.right(undefined);
  }

  /** rmdir in the root file system. */
  rootRmdir(path: string): E.Either<Errno, void> {
    if (path === '/') return E.left('EBUSY');
    if (!this.rootDirs.has(path)) return E.left('ENOENT');
    if (this.mounts.has(path)) return E.left('EBUSY');
    if (this.rootChildren(path).length > 0) return E.left('ENOTEMPTY');
    this.rootDirs.delete(path);
    return E.right(undefined);
  }
}
