/**
 * Running an op list (ops/parse.ts) as one guest process: each op is one system call
 * (two when a data op has to open its file first), in order, each waiting for the one
 * before. A failed call does not stop the list — its errno is the op's result, as a shell
 * script without `set -e` goes on. Written data is a fixed pattern that depends on the
 * file offset, so a read shows what it found.
 *
 * When given a trace, each op is announced with a `note` (where `op`) when it starts and
 * when it returns, so a timeline reads op by op.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../../guest/kernel/task.js';
import {
  O_APPEND, O_CREAT, O_DIRECT, O_DSYNC, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC,
  type Errno, type GuestOsApi, type Sys,
} from '../../guest/vfs/syscalls-api.js';
import type { GuestMemory } from '../../hw/memory.js';
import type { Simulator } from '../../sim/simulator.js';
import type { Trace } from '../../sim/trace.js';
import { call, sleep, type Proc } from '../proc.js';
import { formatOp, type Op, type OpenFlag } from './parse.js';

export interface OpsEnv {
  readonly sim: Simulator;
  readonly mem: GuestMemory;
  readonly os: GuestOsApi;
  readonly trace?: Trace;
}

export interface OpResult {
  readonly op: Op;
  readonly startedAt: number;
  readonly endedAt: number;
  /** 'ok', or the errno of the failed call. */
  readonly result: 'ok' | Errno;
  /** What came back, when something did: bytes moved, a stat, directory entries. */
  readonly detail?: string;
}

const FLAG_BITS: Record<OpenFlag, number> = { direct: O_DIRECT, sync: O_SYNC, dsync: O_DSYNC, append: O_APPEND };

/** The byte written at file offset `off` (never zero, so written data is told from holes). */
export const patternByte = (off: number): number => ((off * 31 + (off >>> 8) * 7) & 0xff) || 0xa5;

/** Run `ops` in order as `task`; the result of each. */
export function* runOps(env: OpsEnv, task: Task, ops: readonly Op[]): Proc<OpResult[]> {
  const { sim, os } = env;
  const sys = os.syscalls;
  const fds = new Map<string, number>();
  const out: OpResult[] = [];
  const note = (text: string): void => env.trace?.emit({ kind: 'note', t: sim.now, where: 'op', text });

  function* fdOf(path: string): Proc<E.Either<Errno, number>> {
    const have = fds.get(path);
    if (have !== undefined) return E.right(have);
    const r = yield* call(sys.open(task, path, O_RDWR | O_CREAT, 0o644));
    if (E.isRight(r)) fds.set(path, r.right);
    return r;
  }
  function* onFd<T>(path: string, f: (fd: number) => Sys<T>): Proc<E.Either<Errno, T>> {
    const fd = yield* fdOf(path);
    if (E.isLeft(fd)) return fd;
    return yield* call(f(fd.right));
  }
  function* io(o: Extract<Op, { op: 'read' | 'write' }>): Proc<E.Either<Errno, number>> {
    const buf = os.allocUser(o.len);
    if (o.op === 'write') {
      const data = new Uint8Array(o.len);
      for (let i = 0; i < o.len; i++) data[i] = patternByte(o.offset + i);
      env.mem.write(buf.addr, data);
    }
    const r = yield* onFd(o.path, (fd) => (o.op === 'write' ? sys.pwrite(task, fd, buf, o.offset) : sys.pread(task, fd, buf, o.offset)));
    os.freeUser(buf);
    return r;
  }
  function* one(o: Op): Proc<E.Either<Errno, string | undefined>> {
    const none = <T>(r: E.Either<Errno, T>): E.Either<Errno, string | undefined> => E.map(() => undefined)(r);
    switch (o.op) {
      case 'open':
      case 'create': {
        const flags = o.op === 'open' ? o.flags.reduce((f: number, x: OpenFlag) => f | FLAG_BITS[x], O_RDWR | O_CREAT) : O_RDWR | O_CREAT | O_TRUNC;
        const old = fds.get(o.path);
        const r = yield* call(sys.open(task, o.path, flags, 0o644));
        if (E.isLeft(r)) return r;
        fds.set(o.path, r.right);
        if (old !== undefined) yield* call(sys.close(task, old));
        return E.right(`fd ${r.right}`);
      }
      case 'close': {
        const fd = fds.get(o.path);
        if (fd === undefined) return E.left('EBADF');
        fds.delete(o.path);
        return none(yield* call(sys.close(task, fd)));
      }
      case 'write':
      case 'read':
        return E.map((n: number) => `${n} bytes`)(yield* io(o));
      case 'fsync':
      case 'fdatasync': {
        if (!fds.has(o.path)) {
          // A directory (or a file not open yet): open it read-only, as `sync -f`/fsync(1) do.
          const r = yield* call(sys.open(task, o.path, O_RDONLY));
          if (E.isLeft(r)) return r;
          fds.set(o.path, r.right);
        }
        const fd = fds.get(o.path)!;
        return none(yield* call(o.op === 'fsync' ? sys.fsync(task, fd) : sys.fdatasync(task, fd)));
      }
      case 'truncate':
        return none(yield* onFd(o.path, (fd) => sys.ftruncate(task, fd, o.len)));
      case 'unlink':
        return none(yield* call(sys.unlink(task, o.path)));
      case 'mkdir':
        return none(yield* call(sys.mkdir(task, o.path, 0o755)));
      case 'rmdir':
        return none(yield* call(sys.rmdir(task, o.path)));
      case 'rename':
        return none(yield* call(sys.rename(task, o.from, o.to)));
      case 'stat':
        return E.map((s: { kind: string; size: number; ino: number }) => `${s.kind}, ${s.size} bytes, inode ${s.ino}`)(yield* call(sys.stat(task, o.path)));
      case 'readdir':
        return E.map((names: string[]) => names.join(' '))(yield* call(sys.readdir(task, o.path)));
      case 'sync':
        return none(yield* call(sys.sync(task)));
      case 'drop_caches':
        return none(yield* call(sys.dropCaches(task, o.what)));
      case 'sleep':
        yield* sleep(o.ns);
        return E.right(undefined);
    }
  }

  for (const [i, o] of ops.entries()) {
    const startedAt = sim.now;
    note(`${i + 1}: ${formatOp(o)}`);
    const r = yield* one(o);
    const result = E.isLeft(r) ? r.left : 'ok';
    const detail = E.isRight(r) ? r.right : undefined;
    note(`${i + 1}: ${formatOp(o)} → ${result}${detail ? ` (${detail})` : ''}`);
    out.push({ op: o, startedAt, endedAt: sim.now, result, ...(detail !== undefined ? { detail } : {}) });
  }
  return out;
}
