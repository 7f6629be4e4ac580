/**
 * Namespace operations (fs/namei.c's checks, fs/ext2/namei.c's work): create, mkdir, link,
 * unlink, rmdir, rename. Each runs inside a journal handle (FsCore.handle), so a failure half
 * way leaves nothing behind; the checks come in Linux's order, and the errnos are Linux's.
 */
import * as E from 'fp-ts/lib/Either.js';
import { allocInode, freeInodeBit } from './alloc.js';
import { bmapAlloc, truncateBlocks } from './bmap.js';
import type { FsCore } from './core.js';
import { dirAdd, dirIsEmpty, dirLookup, dirRemove, dirRetarget } from './dir.js';
import { isDot, isDotDot, newDirBlock } from './dirent.js';
import type { Errno } from './errno.js';
import { LINK_MAX, ROOT_INO } from './geometry.js';
import { EXTRA_ISIZE, FT_DIR, emptyInode, fileTypeOfMode, isDir, nsToTime, S_IFDIR, S_IFREG, type Inode } from './inode.js';
import { isWithin, lookupParent, lookupPath } from './namei.js';

type R<T> = E.Either<Errno, T>;
const ok: R<void> = E.right(undefined);
const DOTDOT = Uint8Array.of(0x2e, 0x2e);

function stamp(core: FsCore, i: Inode, which: { a?: boolean; m?: boolean; c?: boolean }): void {
  const [sec, extra] = nsToTime(core.now());
  if (which.a) [i.atime, i.atimeExtra] = [sec, extra];
  if (which.m) [i.mtime, i.mtimeExtra] = [sec, extra];
  if (which.c) [i.ctime, i.ctimeExtra] = [sec, extra];
}

function freshInode(core: FsCore, ino: number, mode: number, links: number): Inode {
  const i = emptyInode();
  i.generation = (core.inode(ino).generation + 1) >>> 0;
  i.mode = mode;
  i.linksCount = links;
  i.extraIsize = core.geo.inodeSize > 128 ? EXTRA_ISIZE : 0;
  stamp(core, i, { a: true, m: true, c: true });
  [i.crtime, i.crtimeExtra] = [i.ctime, i.ctimeExtra];
  return i;
}

function addLinks(core: FsCore, ino: number, delta: number): void {
  const i = core.inode(ino);
  i.linksCount += delta;
  stamp(core, i, { c: true });
  core.putInode(ino, i);
}

/** Frees an inode whose last link is gone: its blocks, then the inode itself. */
function release(core: FsCore, ino: number): R<void> {
  const i = core.inode(ino);
  const dir = isDir(i);
  const t = truncateBlocks(core, i, 0);
  if (E.isLeft(t)) return t;
  i.size = 0;
  i.linksCount = 0;
  i.dtime = Math.max(1, nsToTime(core.now())[0]);
  core.putInode(ino, i);
  return freeInodeBit(core, ino, dir);
}

/** Drops one link of a non-directory; frees it at zero. */
function dropLink(core: FsCore, ino: number): R<void> {
  const i = core.inode(ino);
  if (i.linksCount <= 1) return release(core, ino);
  addLinks(core, ino, -1);
  return ok;
}

export function create(core: FsCore, path: string, kind: 'file' | 'dir'): R<number> {
  const pp = lookupParent(core, path);
  if (E.isLeft(pp)) return pp;
  const { dir, name, trailingSlash } = pp.right;
  if (name.length === 0 || isDot(name) || isDotDot(name)) return E.left('EEXIST');
  const existing = dirLookup(core, dir, name);
  if (E.isLeft(existing)) return existing;
  if (existing.right !== undefined) return E.left('EEXIST');
  if (kind === 'file' && trailingSlash) return E.left('EISDIR');
  if (kind === 'dir' && core.inode(dir).linksCount >= LINK_MAX) return E.left('EMLINK');
  const ino = allocInode(core, dir, kind === 'dir');
  if (E.isLeft(ino)) return ino;
  if (kind === 'dir') {
    const i = freshInode(core, ino.right, S_IFDIR | 0o755, 2);
    const b = bmapAlloc(core, ino.right, i, 0, true);
    if (E.isLeft(b)) return b;
    core.access(b.right.block).set(newDirBlock(core.geo.blockSize, ino.right, dir, FT_DIR));
    i.size = core.geo.blockSize;
    core.putInode(ino.right, i);
    addLinks(core, dir, 1);
  } else core.putInode(ino.right, freshInode(core, ino.right, S_IFREG | 0o644, 1));
  const added = dirAdd(core, dir, name, ino.right, kind === 'dir' ? FT_DIR : fileTypeOfMode(S_IFREG));
  return E.isLeft(added) ? added : ino;
}

export function link(core: FsCore, existing: string, newPath: string): R<void> {
  const src = lookupPath(core, existing);
  if (E.isLeft(src)) return src;
  const si = core.inode(src.right);
  if (isDir(si)) return E.left('EPERM');
  const pp = lookupParent(core, newPath);
  if (E.isLeft(pp)) return pp;
  const { dir, name } = pp.right;
  if (name.length === 0 || isDot(name) || isDotDot(name)) return E.left('EEXIST');
  const there = dirLookup(core, dir, name);
  if (E.isLeft(there)) return there;
  if (there.right !== undefined) return E.left('EEXIST');
  if (si.linksCount >= LINK_MAX) return E.left('EMLINK');
  addLinks(core, src.right, 1);
  return dirAdd(core, dir, name, src.right, fileTypeOfMode(si.mode));
}

export function unlink(core: FsCore, path: string): R<void> {
  const pp = lookupParent(core, path);
  if (E.isLeft(pp)) return pp;
  const { dir, name, trailingSlash } = pp.right;
  if (name.length === 0 || isDot(name) || isDotDot(name)) return E.left('EISDIR');
  const ino = dirLookup(core, dir, name);
  if (E.isLeft(ino)) return ino;
  if (ino.right === undefined) return E.left('ENOENT');
  if (isDir(core.inode(ino.right))) return E.left('EISDIR');
  if (trailingSlash) return E.left('ENOTDIR');
  const r = dirRemove(core, dir, name);
  return E.isLeft(r) ? r : dropLink(core, ino.right);
}

export function rmdir(core: FsCore, path: string): R<void> {
  const pp = lookupParent(core, path);
  if (E.isLeft(pp)) return pp;
  const { dir, name } = pp.right;
  if (name.length === 0) return E.left('EBUSY');
  if (isDot(name)) return E.left('EINVAL');
  if (isDotDot(name)) return E.left('ENOTEMPTY');
  const ino = dirLookup(core, dir, name);
  if (E.isLeft(ino)) return ino;
  if (ino.right === undefined) return E.left('ENOENT');
  if (!isDir(core.inode(ino.right))) return E.left('ENOTDIR');
  if (ino.right === ROOT_INO) return E.left('EBUSY');
  const empty = dirIsEmpty(core, ino.right);
  if (E.isLeft(empty)) return empty;
  if (!empty.right) return E.left('ENOTEMPTY');
  const r = dirRemove(core, dir, name);
  if (E.isLeft(r)) return r;
  addLinks(core, dir, -1);
  return release(core, ino.right);
}

export function rename(core: FsCore, from: string, to: string): R<void> {
  const po = lookupParent(core, from);
  if (E.isLeft(po)) return po;
  const pn = lookupParent(core, to);
  if (E.isLeft(pn)) return pn;
  const [o, n] = [po.right, pn.right];
  for (const nm of [o.name, n.name]) if (nm.length === 0 || isDot(nm) || isDotDot(nm)) return E.left('EBUSY');
  const src = dirLookup(core, o.dir, o.name);
  if (E.isLeft(src)) return src;
  if (src.right === undefined) return E.left('ENOENT');
  const si = core.inode(src.right);
  const srcDir = isDir(si);
  if (!srcDir && (o.trailingSlash || n.trailingSlash)) return E.left('ENOTDIR');
  if (srcDir) {
    const inside = isWithin(core, n.dir, src.right);
    if (E.isLeft(inside)) return inside;
    if (inside.right) return E.left('EINVAL');
  }
  const dst = dirLookup(core, n.dir, n.name);
  if (E.isLeft(dst)) return dst;
  let dstDir = false;
  if (dst.right !== undefined) {
    const above = isWithin(core, o.dir, dst.right);
    if (E.isLeft(above)) return above;
    if (above.right) return E.left('ENOTEMPTY');
    if (dst.right === src.right) return ok;
    dstDir = isDir(core.inode(dst.right));
    if (srcDir && !dstDir) return E.left('ENOTDIR');
    if (!srcDir && dstDir) return E.left('EISDIR');
    if (dstDir) {
      const empty = dirIsEmpty(core, dst.right);
      if (E.isLeft(empty)) return empty;
      if (!empty.right) return E.left('ENOTEMPTY');
    }
  } else if (srcDir && o.dir !== n.dir && core.inode(n.dir).linksCount >= LINK_MAX) return E.left('EMLINK');

  const ft = fileTypeOfMode(si.mode);
  if (dst.right !== undefined) {
    const r = dirRetarget(core, n.dir, n.name, src.right, ft);
    if (E.isLeft(r)) return r;
    const gone = dstDir ? release(core, dst.right) : dropLink(core, dst.right);
    if (E.isLeft(gone)) return gone;
    if (dstDir) addLinks(core, n.dir, -1);
  } else {
    const r = dirAdd(core, n.dir, n.name, src.right, ft);
    if (E.isLeft(r)) return r;
  }
  const removed = dirRemove(core, o.dir, o.name);
  if (E.isLeft(removed)) return removed;
  if (srcDir && o.dir !== n.dir) {
    const r = dirRetarget(core, src.right, DOTDOT, n.dir, FT_DIR);
    if (E.isLeft(r)) return r;
    addLinks(core, o.dir, -1);
    addLinks(core, n.dir, 1);
  }
  addLinks(core, src.right, 0);
  return ok;
}
