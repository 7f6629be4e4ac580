/**
 * read, write, pread, pwrite and lseek (fs/read_write.c): the checks every call makes —
 * the descriptor's access mode (EBADF), a directory (EISDIR), the offset (EINVAL), the
 * buffer (EFAULT), MAX_RW_COUNT — then the page cache (buffered) or O_DIRECT. Writes hold
 * the inode's lock, so O_APPEND takes i_size and writes atomically and a write never
 * interleaves with truncate; an O_SYNC / O_DSYNC write then syncs the range it wrote.
 * `read` and `write` move the file position; `pread` and `pwrite` do not (pwrite on an
 * O_APPEND description still appends, as Linux does).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../kernel/task.js';
import type { VfsContext } from './context.js';
import { directIo } from './direct-io.js';
import { MAX_RW_COUNT, type Errno } from './errno.js';
import type { OpenFile } from './file.js';
import { fsyncFile } from './sync.js';
import { fail, ok, SyscallCall, type Done } from './syscall.js';
import type { UserBuf, Whence } from './syscalls-api.js';

/** The description behind `fd` in `task`'s process. */
export function fileOf(ctx: VfsContext, task: Task, fd: number): OpenFile | undefined {
  return ctx.processes.processOf(task).fds.get(fd);
}

/** The common checks; the byte count to move, or the errno. */
function check(ctx: VfsContext, f: OpenFile | undefined, write: boolean, buf: UserBuf, offset: number | undefined): E.Either<Errno, number> {
  if (!f || !(write ? f.writable : f.readable)) return E.left('EBADF');
  if (!f.inode || f.inode.kind === 'dir') return E.left('EISDIR');
  if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) return E.left('EINVAL');
  if (!Number.isSafeInteger(buf.len) || buf.len < 0 || !Number.isSafeInteger(buf.addr)) return E.left('EINVAL');
  const len = Math.min(buf.len, MAX_RW_COUNT);
  if (len > 0 && !ctx.kernel.mem.contains(buf.addr, len)) return E.left('EFAULT');
  return E.right(len);
}

export function readFd(ctx: VfsContext, task: Task, fd: number, buf: UserBuf, offset: number | undefined, done: Done<number>): void {
  const f = fileOf(ctx, task, fd);
  const c = check(ctx, f, false, buf, offset);
  if (E.isLeft(c)) return done(c);
  const file = f as OpenFile;
  const v = file.inode!;
  const len = c.right;
  const pos = offset ?? file.pos;
  const moved = (r: E.Either<Errno, number>): void => {
    if (E.isRight(r) && offset === undefined) file.pos = pos + r.right;
    done(r);
  };
  if (len === 0) return done(ok(0));
  if (file.direct) return directIo(ctx, task, v, false, { addr: buf.addr, len }, pos, moved);
  ctx.cache.readThen(task, v.mapping!, pos, len, buf.addr, file.ra ?? v.mapping!.ra, moved);
}

export function writeFd(ctx: VfsContext, task: Task, fd: number, buf: UserBuf, offset: number | undefined, done: Done<number>): void {
  const f = fileOf(ctx, task, fd);
  const c = check(ctx, f, true, buf, offset);
  if (E.isLeft(c)) return done(c);
  const file = f as OpenFile;
  const v = file.inode!;
  if (!v.mnt.writable) return done(fail('EROFS'));
  v.lock.acquire(task, () => {
    const pos = file.append ? v.size : (offset ?? file.pos);
    const max = v.mnt.maxFileSize;
    if (c.right > 0 && pos >= max) {
      v.lock.release();
      return done(fail('EFBIG'));
    }
    const len = Math.min(c.right, max - pos);
    const wrote = (r: E.Either<Errno, number>): void => {
      v.lock.release();
      if (E.isLeft(r)) return done(r);
      if (offset === undefined) file.pos = pos + r.right;
      if (!file.syncWrites || r.right === 0) return done(r);
      fsyncFile(ctx, task, file, { start: pos, end: pos + r.right }, (err) => done(err ? fail(err) : r));
    };
    if (len === 0) return wrote(ok(0));
    if (file.direct) return directIo(ctx, task, v, true, { addr: buf.addr, len }, pos, wrote);
    ctx.cache.writeThen(task, v.mapping!, pos, len, buf.addr, wrote);
  });
}

/**
 * read, write, pread64 and pwrite64 as calls of their own (syscall.ts): the arguments are
 * fields, so a call — of which a file job makes millions — allocates no closures for them.
 */
export class RwCall extends SyscallCall<number> {
  constructor(
    private readonly ctx: VfsContext,
    task: Task,
    private readonly write: boolean,
    private readonly fd: number,
    private readonly buf: UserBuf,
    /** Undefined: at the file position (read, write). */
    private readonly offset: number | undefined,
  ) {
    super(ctx.kernel, task, write ? (offset === undefined ? 'write' : 'pwrite64') : offset === undefined ? 'read' : 'pread64');
  }

  args(): string {
    return this.offset === undefined ? `${this.fd}, ${this.buf.len}` : `${this.fd}, ${this.buf.len}, ${this.offset}`;
  }

  protected body(done: Done<number>): void {
    if (this.write) writeFd(this.ctx, this.task, this.fd, this.buf, this.offset, done);
    else readFd(this.ctx, this.task, this.fd, this.buf, this.offset, done);
  }

  protected retOf(n: number): number {
    return n;
  }
}

export function lseekFd(ctx: VfsContext, task: Task, fd: number, offset: number, whence: Whence, done: Done<number>): void {
  const f = fileOf(ctx, task, fd);
  if (!f) return done(fail('EBADF'));
  const base = whence === 'SEEK_SET' ? 0 : whence === 'SEEK_CUR' ? f.pos : whence === 'SEEK_END' ? (f.inode?.size ?? 0) : NaN;
  const pos = base + offset;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(pos) || pos < 0) return done(fail('EINVAL'));
  f.pos = pos;
  done(ok(pos));
}
