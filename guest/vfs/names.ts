/**
 * The namespace calls: unlink, rename, mkdir, rmdir, readdir, stat, statfs. They resolve
 * the path (crossing mounts), refuse what touches a mount point (EBUSY), a second file
 * system (EXDEV) or the root file system's missing files, and call the file system.
 *
 * Removing the last name of an open file keeps the inode: the name moves to
 * `/lost+found/.orphan-<ino>` and the last close frees it. A removed inode that is not
 * open is forgotten (its pages dropped after their writeback) and ordered, so the commit
 * that makes its blocks reusable waits for its data writes in flight.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Stat } from '../fs/index.js';
import type { Task } from '../kernel/task.js';
import { charge, type VfsContext } from './context.js';
import type { Errno } from './errno.js';
import type { VfsInode } from './inode.js';
import type { MountedFs } from './mounted-fs.js';
import type { Resolved } from './namespace.js';
import { fail, ok, type Done } from './syscall.js';
import type { StatFsResult, StatResult } from './syscalls-api.js';

type InFs = Extract<Resolved, { kind: 'fs' }>;

function resolve(ctx: VfsContext, path: string): E.Either<Errno, Resolved> {
  const r = ctx.ns.resolve(path);
  if (E.isRight(r)) charge(ctx, 'guest.vfs.path', r.right.components);
  return r;
}

/** A change in a file system: resolved inside one, writable; else the errno for the root file system's part. */
function changing(ctx: VfsContext, path: string, onRootfs: (p: string) => Errno): E.Either<Errno, InFs> {
  const r = resolve(ctx, path);
  if (E.isLeft(r)) return r;
  if (r.right.kind === 'rootfs') return E.left(onRootfs(r.right.path));
  if (!r.right.mnt.writable) return E.left('EROFS');
  return E.right(r.right);
}

/** Move the last name of open inode `v` at `rel` to lost+found, where the last close finds it. */
function orphan(mnt: MountedFs, rel: string, v: VfsInode): E.Either<Errno, void> {
  const fs = mnt.fs;
  if (E.isLeft(fs.lookup('/lost+found'))) {
    const made = fs.mkdir('/lost+found');
    if (E.isLeft(made)) return made;
  }
  const to = `/lost+found/.orphan-${v.ino}`;
  const r = fs.rename(rel, to);
  if (E.isRight(r)) v.orphan = to;
  return r;
}

/** After the file system freed inode `ino`: forget its in-memory inode, if it has one; then `done`. */
function freed(task: Task, mnt: MountedFs, ino: number | undefined, done: () => void): void {
  const v = ino === undefined ? undefined : mnt.inodes.get(ino);
  return v ? mnt.forget(task, v, done) : done();
}

export function unlinkPath(ctx: VfsContext, task: Task, path: string, done: Done<void>): void {
  const r = changing(ctx, path, (p) => (ctx.ns.rootDir(p) ? 'EISDIR' : 'ENOENT'));
  if (E.isLeft(r)) return done(r);
  const { mnt, rel } = r.right;
  const st = mnt.fs.stat(rel);
  if (E.isLeft(st)) return done(st);
  if (st.right.kind === 'dir') return done(fail('EISDIR'));
  charge(ctx, 'guest.fs.op');
  const v = mnt.inodes.get(st.right.ino);
  const last = st.right.nlink <= 1;
  const u = last && v && v.opens > 0 ? orphan(mnt, rel, v) : mnt.fs.unlink(rel);
  if (E.isLeft(u)) return done(u);
  mnt.changed();
  if (!last || v?.orphan !== undefined) return done(ok(undefined));
  freed(task, mnt, st.right.ino, () => done(ok(undefined)));
}

export function renamePath(ctx: VfsContext, task: Task, from: string, to: string, done: Done<void>): void {
  const a = changing(ctx, from, (p) => (ctx.ns.rootDir(p) ? 'EROFS' : 'ENOENT'));
  if (E.isLeft(a)) return done(a);
  const b = changing(ctx, to, () => 'EXDEV');
  if (E.isLeft(b)) return done(b);
  const { mnt, rel: fromRel } = a.right;
  const toRel = b.right.rel;
  if (b.right.mnt !== mnt) return done(fail('EXDEV'));
  const ns = ctx.ns;
  if (fromRel === '/' || toRel === '/' || ns.mountAt(a.right.path) || ns.mountAt(b.right.path) || ns.mountsBelow(a.right.path).length > 0) return done(fail('EBUSY'));
  const fs = mnt.fs;
  // do_renameat2: both parents are walked (the source's first) before the source is looked up.
  for (const p of [fromRel, toRel]) {
    const w = fs.walkParent(p);
    if (E.isLeft(w)) return done(w);
  }
  const src = fs.stat(fromRel);
  if (E.isLeft(src)) return done(src);
  const dst = fs.stat(toRel);
  charge(ctx, 'guest.fs.op');
  // The name replaced: kept alive if it is open and this is its last name, else freed by the rename.
  let victim: Stat | undefined = E.isRight(dst) && dst.right.ino !== src.right.ino ? dst.right : undefined;
  const vd = victim ? mnt.inodes.get(victim.ino) : undefined;
  let moved: VfsInode | undefined;
  if (victim && victim.kind !== 'dir' && victim.nlink <= 1 && vd && vd.opens > 0 && src.right.kind !== 'dir') {
    const o = orphan(mnt, toRel, vd);
    if (E.isLeft(o)) return done(o);
    [moved, victim] = [vd, undefined];
  }
  mnt.withSpace(task, () => fs.rename(fromRel, toRel), (r) => {
    if (E.isLeft(r)) {
      // Put the orphaned name back where it was.
      if (moved?.orphan && E.isRight(fs.rename(moved.orphan, toRel))) moved.orphan = undefined;
      return done(r);
    }
    mnt.changed();
    const gone = victim && (victim.kind === 'dir' || victim.nlink <= 1) ? victim.ino : undefined;
    freed(task, mnt, gone, () => done(ok(undefined)));
  });
}

export function mkdirPath(ctx: VfsContext, task: Task, path: string, done: Done<void>): void {
  const r = resolve(ctx, path);
  if (E.isLeft(r)) return done(r);
  if (r.right.kind === 'rootfs') return done(ctx.ns.rootMkdir(r.right.path));
  const { mnt, rel } = r.right;
  if (rel === '/') return done(fail('EEXIST'));
  if (!mnt.writable) return done(fail('EROFS'));
  charge(ctx, 'guest.fs.op');
  mnt.withSpace(task, () => mnt.fs.mkdir(rel), (m) => {
    if (E.isRight(m)) mnt.changed();
    done(E.isLeft(m) ? m : ok(undefined));
  });
}

export function rmdirPath(ctx: VfsContext, task: Task, path: string, done: Done<void>): void {
  const r = resolve(ctx, path);
  if (E.isLeft(r)) return done(r);
  if (r.right.kind === 'rootfs') return done(ctx.ns.rootRmdir(r.right.path));
  const { mnt, rel } = r.right;
  if (rel === '/' || ctx.ns.mountAt(r.right.path)) return done(fail('EBUSY'));
  if (!mnt.writable) return done(fail('EROFS'));
  const st = mnt.fs.stat(rel);
  charge(ctx, 'guest.fs.op');
  const d = mnt.fs.rmdir(rel);
  if (E.isLeft(d)) return done(d);
  mnt.changed();
  freed(task, mnt, E.isRight(st) ? st.right.ino : undefined, () => done(ok(undefined)));
}

export function readdirPath(ctx: VfsContext, path: string, done: Done<string[]>): void {
  const r = resolve(ctx, path);
  if (E.isLeft(r)) return done(r);
  if (r.right.kind === 'rootfs') {
    const p = r.right.path;
    return done(ctx.ns.rootDir(p) ? ok(ctx.ns.rootChildren(p)) : fail('ENOENT'));
  }
  const list = r.right.mnt.fs.readdir(r.right.rel);
  done(E.isLeft(list) ? list : ok(list.right.map((e) => e.name).filter((n) => n !== '.' && n !== '..')));
}

export function statPath(ctx: VfsContext, path: string, done: Done<StatResult>): void {
  const r = resolve(ctx, path);
  if (E.isLeft(r)) return done(r);
  if (r.right.kind === 'rootfs') {
    const p = r.right.path;
    const d = ctx.ns.rootDir(p);
    if (!d) return done(fail('ENOENT'));
    return done(ok({ ino: d.ino, kind: 'dir', size: 0, nlink: 2 + ctx.ns.rootChildren(p).length, blocks: 0, mtimeNs: 0 }));
  }
  const { mnt, rel } = r.right;
  const st = mnt.fs.stat(rel);
  if (E.isLeft(st)) return done(st);
  const s = st.right;
  const v = mnt.inodes.get(s.ino);
  done(ok({ ino: s.ino, kind: s.kind === 'dir' ? 'dir' : 'file', size: v?.mapping ? v.mapping.size : s.size, nlink: s.nlink, blocks: s.blocks, mtimeNs: s.mtime }));
}

export function statfsPath(ctx: VfsContext, path: string, done: Done<StatFsResult>): void {
  const r = resolve(ctx, path);
  if (E.isLeft(r)) return done(r);
  if (r.right.kind === 'rootfs') {
    if (!ctx.ns.rootDir(r.right.path)) return done(fail('ENOENT'));
    return done(ok({ blockSize: 4096, blocks: 0, blocksFree: 0, files: 0, filesFree: 0 }));
  }
  const s = r.right.mnt.fs.statfs();
  done(E.isLeft(s) ? s : ok({ blockSize: s.right.blockSize, blocks: s.right.blocks, blocksFree: s.right.freeBlocks, files: s.right.files, filesFree: s.right.freeFiles }));
}
