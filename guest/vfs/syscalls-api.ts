/**
 * The system calls a guest process makes on files: the contract between the workload
 * (fio file jobs, `iopath trace --op`, property tests) and the guest's VFS.
 *
 * Every call is made by a `Task` (a thread on a guest CPU) and returns an Observable that
 * emits exactly one `Either<Errno, T>` and completes, in virtual time: a call "blocks" by
 * not emitting until what it waits for (I/O, writeback, a journal commit) has happened.
 * Errors are errno values, never exceptions (DESIGN.md, "Errors: three tiers").
 */
import type { Either } from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import type { Errno } from '../fs/errno.js';
import type { Task } from '../kernel/task.js';

export type { Errno };

/** open(2) flags, Linux's values (include/uapi/asm-generic/fcntl.h). */
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_SYNC = 0o4010000;

export type Whence = 'SEEK_SET' | 'SEEK_CUR' | 'SEEK_END';

export interface StatResult {
  ino: number;
  kind: 'file' | 'dir';
  size: number;
  nlink: number;
  blocks: number;
  mtimeNs: number;
}

export interface StatFsResult {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  files: number;
  filesFree: number;
}

/** A guest buffer: `len` bytes at guest-physical `addr` (user memory of the process). */
export interface UserBuf {
  addr: number;
  len: number;
}

export type Sys<T> = Observable<Either<Errno, T>>;

/**
 * A call that can also be started without a subscription: `start(next)` does what
 * subscribing does and hands the one result to `next`. For a caller that takes exactly the
 * first value and never unsubscribes before it (a process blocked in the call), it is the
 * same call without rxjs's subscriber objects. The guest's system calls offer it.
 */
export interface StartableCall<T> {
  start(next: (v: T) => void): void;
}

/** True when `o` offers `start` (see StartableCall). */
export function isStartable<T>(o: Observable<T>): o is Observable<T> & StartableCall<T> {
  return typeof (o as Partial<StartableCall<T>>).start === 'function';
}

export interface Syscalls {
  open(task: Task, path: string, flags: number, mode?: number): Sys<number>;
  close(task: Task, fd: number): Sys<void>;
  read(task: Task, fd: number, buf: UserBuf): Sys<number>;
  write(task: Task, fd: number, buf: UserBuf): Sys<number>;
  pread(task: Task, fd: number, buf: UserBuf, offset: number): Sys<number>;
  pwrite(task: Task, fd: number, buf: UserBuf, offset: number): Sys<number>;
  lseek(task: Task, fd: number, offset: number, whence: Whence): Sys<number>;
  fsync(task: Task, fd: number): Sys<void>;
  fdatasync(task: Task, fd: number): Sys<void>;
  ftruncate(task: Task, fd: number, length: number): Sys<void>;
  unlink(task: Task, path: string): Sys<void>;
  rename(task: Task, from: string, to: string): Sys<void>;
  mkdir(task: Task, path: string, mode?: number): Sys<void>;
  rmdir(task: Task, path: string): Sys<void>;
  /** The names in a directory, in directory order, without "." and "..". */
  readdir(task: Task, path: string): Sys<string[]>;
  stat(task: Task, path: string): Sys<StatResult>;
  statfs(task: Task, path: string): Sys<StatFsResult>;
  sync(task: Task): Sys<void>;
  /** mount -t ext3 /dev/vdX <dir> (journal replay happens here). */
  mount(task: Task, device: string, dir: string): Sys<void>;
  umount(task: Task, dir: string): Sys<void>;
  /** echo N > /proc/sys/vm/drop_caches */
  dropCaches(task: Task, what: 1 | 2 | 3): Sys<void>;
  /**
   * mkfs.ext3 <device>: make an empty ext3 file system on a block device that is not
   * mounted (EBUSY if it is); the defaults are mke2fs's (4 KiB blocks, one inode per
   * 16 KiB, its journal size for the device's size). The guest's VFS has it; a fake OS
   * without block devices may leave it out.
   */
  mkfsDevice?(task: Task, device: string, opts?: MkfsDeviceOptions): Sys<void>;
}

/** mkfs.ext3's options (mke2fs -b, -N, -J size=, -I, -L). */
export interface MkfsDeviceOptions {
  /** 1024, 2048 or 4096 (default 4096). */
  blockSize?: number;
  /** File-system size in blocks (default: the whole device). */
  blocks?: number;
  /** Inodes wanted (default one per 16 KiB). */
  inodes?: number;
  /** Journal size in blocks (default: mke2fs's for the size). */
  journalBlocks?: number;
  /** 256 (default) or 128. */
  inodeSize?: number;
  volumeName?: string;
}

/**
 * What a workload needs of the booted guest OS: its system calls, a way to start a
 * thread, and user memory for buffers. `vm/` exposes it as `machine.guest.os`.
 */
export interface GuestOsApi {
  readonly syscalls: Syscalls;
  /** Start a task (a thread of a new process) on CPU `cpu` (default 0). */
  spawn(name: string, cpu?: number): Task;
  /** User memory for I/O buffers (page-aligned); the caller fills and reads it through guest memory. */
  allocUser(bytes: number): UserBuf;
  freeUser(buf: UserBuf): void;
}
