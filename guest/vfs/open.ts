/**
 * open(2) and close(2). open resolves the path, creates a regular file for O_CREAT (EEXIST
 * with O_EXCL), refuses to open a directory for writing (EISDIR), truncates for O_TRUNC
 * with write access, and installs the new description at the lowest free descriptor.
 * The last close of an inode whose last name was unlinked while it was open frees it:
 * its pages go (after their writeback), then its orphan name.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../kernel/task.js';
import { charge, type VfsContext } from './context.js';
import { OpenFile } from './file.js';
import type { MountedFs } from './mounted-fs.js';
import { fail, ok, type Done } from './syscall.js';
import { O_ACCMODE, O_CREAT, O_EXCL, O_RDONLY, O_TRUNC } from './syscalls-api.js';
import { truncateInode } from './truncate.js';

export function openPath(ctx: VfsContext, task: Task, path: string, flags: number, done: Done<number>): void {
  const acc = flags & O_ACCMODE;
  if (!Number.isInteger(flags) || acc === O_ACCMODE) return done(fail('EINVAL'));
  const fds = ctx.processes.processOf(task).fds;
  if (fds.full) return done(fail('EMFILE'));
  const r = ctx.ns.resolve(path);
  if (E.isLeft(r)) return done(r);
  charge(ctx, 'guest.vfs.path', r.right.components);
  const install = (f: OpenFile): void => {
    const fd = fds.install(f);
    if (fd !== undefined) return done(ok(fd));
    releaseFile(ctx, task, f, () => done(fail('EMFILE')));
  };
  const creating = (flags & O_CREAT) !== 0;
  if (r.right.kind === 'rootfs') {
    const p = r.right.path;
    if (ctx.ns.rootDir(p)) return acc !== O_RDONLY || creating ? done(fail('EISDIR')) : install(new OpenFile({ kind: 'rootfs', path: p }, flags));
    const parent = p.slice(0, p.lastIndexOf('/')) || '/';
    return done(fail(creating && ctx.ns.rootDir(parent) ? 'EROFS' : 'ENOENT'));
  }
  const { mnt, rel } = r.right;
  const fs = mnt.fs;
  const proceed = (ino: number, created: boolean): void => {
    const st = fs.statIno(ino);
    if (E.isLeft(st)) return done(st);
    if (st.right.kind === 'dir' && (acc !== O_RDONLY || creating)) return done(fail('EISDIR'));
    if (st.right.kind === 'other') return done(fail('EINVAL'));
    const v = mnt.inode(ino, st.right);
    if (created) mnt.changed(v);
    v.opens++;
    const f = new OpenFile({ kind: 'inode', inode: v }, flags);
    if (!(flags & O_TRUNC) || acc === O_RDONLY || v.kind !== 'file' || v.size === 0) return install(f);
    truncateInode(ctx, task, v, 0, (err) => (err ? releaseFile(ctx, task, f, () => done(fail(err))) : install(f)));
  };
  const found = fs.lookup(rel);
  if (E.isRight(found)) return creating && flags & O_EXCL ? done(fail('EEXIST')) : proceed(found.right, false);
  if (found.left !== 'ENOENT' || !creating) return done(found);
  if (!mnt.writable) return done(fail('EROFS'));
  charge(ctx, 'guest.fs.op');
  mnt.withSpace(task, () => fs.create(rel), (c) => (E.isLeft(c) ? done(c) : proceed(c.right, true)));
}

/** close(2). */
export function closeFd(ctx: VfsContext, task: Task, fd: number, done: Done<void>): void {
  const f = ctx.processes.processOf(task).fds.remove(fd);
  if (!f) return done(fail('EBADF'));
  releaseFile(ctx, task, f, () => done(ok(undefined)));
}

/** The description is gone (fput): the last user of an orphaned inode frees it. */
export function releaseFile(ctx: VfsContext, task: Task, f: OpenFile, done: () => void): void {
  const v = f.inode;
  if (!v) return done();
  v.opens--;
  if (v.opens > 0 || v.orphan === undefined) return done();
  const path = v.orphan;
  v.orphan = undefined;
  const mnt: MountedFs = v.mnt;
  mnt.forget(task, v, () => {
    charge(ctx, 'guest.fs.op');
    if (mnt.writable && E.isRight(mnt.fs.unlink(path))) mnt.changed();
    done();
  });
}
