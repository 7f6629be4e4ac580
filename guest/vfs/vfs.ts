/**
 * The guest's VFS: the system calls of syscalls-api.ts over the mount table, the page
 * cache, guest/fs and the block devices. Each call is one `syscall` (syscall.ts: CPU time,
 * trace events, the Observable); the work is in the files named after it:
 *
 *   open.ts       open, close            rw.ts        read, write, pread, pwrite, lseek
 *   direct-io.ts  O_DIRECT               sync.ts      fsync, fdatasync, O_SYNC, sync
 *   truncate.ts   ftruncate, O_TRUNC     names.ts     unlink, rename, mkdir, rmdir, readdir, stat, statfs
 *   mount-ops.ts  mount, umount, mkfs, drop_caches
 *
 * Under them: namespace.ts (mounts, paths), mounted-fs.ts (a mounted file system and its
 * inodes), jbd2.ts (the journal thread), file-aops.ts (a file's pages to and from the
 * disk), bdev-io.ts (the file system's metadata I/O), process.ts (fd tables).
 */
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { Task } from '../kernel/task.js';
import type { PageCache } from '../pagecache/pagecache.js';
import { DEFAULT_COMMIT_INTERVAL_MS, type VfsContext, type VfsOptions } from './context.js';
import { dropCaches, mkfsDevice, mountDevice, umountDir } from './mount-ops.js';
import { Namespace } from './namespace.js';
import { mkdirPath, readdirPath, renamePath, rmdirPath, statfsPath, statPath, unlinkPath } from './names.js';
import { closeFd, openPath } from './open.js';
import type { ProcessTable } from './process.js';
import { fileOf, lseekFd, RwCall } from './rw.js';
import { fsyncFile, syncAll } from './sync.js';
import { fail, ok, syscall, type Done } from './syscall.js';
import type { MkfsDeviceOptions, StatFsResult, StatResult, Sys, Syscalls, UserBuf, Whence } from './syscalls-api.js';
import { truncateInode } from './truncate.js';

const id = (n: number): number => n;
const q = (s: string): string => JSON.stringify(s);

export class Vfs implements Syscalls {
  readonly ctx: VfsContext;

  constructor(kernel: GuestKernel, cache: PageCache, devices: ReadonlyMap<string, GuestBlockDevice>, processes: ProcessTable, opts: VfsOptions = {}) {
    this.ctx = { kernel, cache, devices, processes, ns: new Namespace(), commitIntervalMs: opts.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS };
  }

  private call<T>(task: Task, name: string, args: () => string, body: (done: Done<T>) => void, ret?: (v: T) => number): Sys<T> {
    return syscall(this.ctx.kernel, task, name, args, body, ret);
  }

  open(task: Task, path: string, flags: number, mode = 0o644): Sys<number> {
    return this.call(task, 'open', () => `${q(path)}, 0${flags.toString(8)}, 0${mode.toString(8)}`, (done) => openPath(this.ctx, task, path, flags, done), id);
  }
  close(task: Task, fd: number): Sys<void> {
    return this.call(task, 'close', () => `${fd}`, (done) => closeFd(this.ctx, task, fd, done));
  }
  read(task: Task, fd: number, buf: UserBuf): Sys<number> {
    return new RwCall(this.ctx, task, false, fd, buf, undefined);
  }
  write(task: Task, fd: number, buf: UserBuf): Sys<number> {
    return new RwCall(this.ctx, task, true, fd, buf, undefined);
  }
  pread(task: Task, fd: number, buf: UserBuf, offset: number): Sys<number> {
    return new RwCall(this.ctx, task, false, fd, buf, offset);
  }
  pwrite(task: Task, fd: number, buf: UserBuf, offset: number): Sys<number> {
    return new RwCall(this.ctx, task, true, fd, buf, offset);
  }
  lseek(task: Task, fd: number, offset: number, whence: Whence): Sys<number> {
    return this.call(task, 'lseek', () => `${fd}, ${offset}, ${whence}`, (done) => lseekFd(this.ctx, task, fd, offset, whence, done), id);
  }
  fsync(task: Task, fd: number): Sys<void> {
    return this.call(task, 'fsync', () => `${fd}`, (done) => this.sync1(task, fd, done));
  }
  fdatasync(task: Task, fd: number): Sys<void> {
    return this.call(task, 'fdatasync', () => `${fd}`, (done) => this.sync1(task, fd, done));
  }
  private sync1(task: Task, fd: number, done: Done<void>): void {
    const f = fileOf(this.ctx, task, fd);
    if (!f) return done(fail('EBADF'));
    fsyncFile(this.ctx, task, f, undefined, (err) => done(err ? fail(err) : ok(undefined)));
  }
  ftruncate(task: Task, fd: number, length: number): Sys<void> {
    return this.call(task, 'ftruncate', () => `${fd}, ${length}`, (done) => {
      const f = fileOf(this.ctx, task, fd);
      if (!f) return done(fail('EBADF'));
      if (!f.writable || !f.inode || f.inode.kind !== 'file') return done(fail('EINVAL'));
      truncateInode(this.ctx, task, f.inode, length, (err) => done(err ? fail(err) : ok(undefined)));
    });
  }
  unlink(task: Task, path: string): Sys<void> {
    return this.call(task, 'unlink', () => q(path), (done) => unlinkPath(this.ctx, task, path, done));
  }
  rename(task: Task, from: string, to: string): Sys<void> {
    return this.call(task, 'rename', () => `${q(from)}, ${q(to)}`, (done) => renamePath(this.ctx, task, from, to, done));
  }
  mkdir(task: Task, path: string, mode = 0o755): Sys<void> {
    return this.call(task, 'mkdir', () => `${q(path)}, 0${mode.toString(8)}`, (done) => mkdirPath(this.ctx, task, path, done));
  }
  rmdir(task: Task, path: string): Sys<void> {
    return this.call(task, 'rmdir', () => q(path), (done) => rmdirPath(this.ctx, task, path, done));
  }
  readdir(task: Task, path: string): Sys<string[]> {
    return this.call(task, 'getdents64', () => q(path), (done) => readdirPath(this.ctx, path, done), (names) => names.length);
  }
  stat(task: Task, path: string): Sys<StatResult> {
    return this.call(task, 'stat', () => q(path), (done) => statPath(this.ctx, path, done));
  }
  statfs(task: Task, path: string): Sys<StatFsResult> {
    return this.call(task, 'statfs', () => q(path), (done) => statfsPath(this.ctx, path, done));
  }
  sync(task: Task): Sys<void> {
    return this.call(task, 'sync', () => '', (done) => syncAll(this.ctx, task, () => done(ok(undefined))));
  }
  mount(task: Task, device: string, dir: string): Sys<void> {
    return this.call(task, 'mount', () => `${q(device)}, ${q(dir)}, "ext3"`, (done) => mountDevice(this.ctx, task, device, dir, done));
  }
  umount(task: Task, dir: string): Sys<void> {
    return this.call(task, 'umount2', () => q(dir), (done) => umountDir(this.ctx, task, dir, done));
  }
  dropCaches(task: Task, what: 1 | 2 | 3): Sys<void> {
    return this.call(task, 'drop_caches', () => `${what}`, (done) => dropCaches(this.ctx, task, what, done));
  }
  mkfsDevice(task: Task, device: string, opts: MkfsDeviceOptions = {}): Sys<void> {
    return this.call(task, 'mkfs', () => q(device), (done) => mkfsDevice(this.ctx, task, device, opts, done));
  }

  /** Stop the journal threads' commit timers (the end of a run, a power cut). Nothing is written. */
  shutdown(): void {
    for (const m of this.ctx.ns.mounted) m.journal.stop();
  }
}
