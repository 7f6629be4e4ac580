/**
 * Test support for workloads: `FakeOs`, a small in-memory implementation of the guest OS
 * contract (guest/vfs/syscalls-api.ts) over a test kernel with no devices. Paths map to
 * byte arrays, directories are a set; every call takes effect when it is made and
 * returns after a fixed latency on the simulation clock (fsync longer, I/O by its size),
 * as the contract says: one emission, in virtual time. Not a file system — just enough
 * POSIX to drive fio jobs and op lists in unit tests.
 */
import { AsyncSubject, type Observable } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import type { GuestMemory } from '../hw/memory.js';
import { testKernel, type TestKernel } from '../guest/blockdev/testing.js';
import { Task } from '../guest/kernel/task.js';
import {
  O_ACCMODE, O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_TRUNC,
  type Errno, type GuestOsApi, type StatResult, type Sys, type Syscalls, type UserBuf, type Whence,
} from '../guest/vfs/syscalls-api.js';
import { resolvePath } from './file-plan.js';
import type { FileRunEnv } from './run-file-jobs.js';

interface OpenFile {
  path: string;
  flags: number;
  pos: number;
}

/** The system calls' Linux names, where the contract's method is named otherwise (as the guest's VFS traces them). */
const LINUX_NAMES: Record<string, string> = { pread: 'pread64', pwrite: 'pwrite64', readdir: 'getdents64', umount: 'umount2' };

/** Latencies of the fake calls, ns. */
export const FAKE_LATENCY = { call: 1_000, perByte: 0.25, fsync: 50_000 };

export class FakeOs implements GuestOsApi {
  readonly tk: TestKernel;
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>(['/', '/mnt', '/dev']);
  readonly mounts = new Set<string>();
  /** Every call made, as `name arg…` (for assertions). */
  readonly log: string[] = [];
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 3;
  private nextPid = 1000;
  private nextAddr: number;
  readonly syscalls: Syscalls;

  /** With `threads`, the fake can start threads of a process (as the guest's OS can). */
  constructor(cpus = 1, opts: { threads?: boolean } = {}) {
    this.tk = testKernel(cpus);
    if (opts.threads) this.thread = (of, name, cpu) => this.spawn(name, cpu ?? of.cpu.index);
    this.nextAddr = this.tk.kernel.dmaEnd;
    this.syscalls = this.makeSyscalls();
  }

  get mem(): GuestMemory {
    return this.tk.kernel.mem;
  }

  /** A thread of `of`'s process (descriptors are global in the fake, so shared anyway). */
  thread?: (of: Task, name: string, cpu?: number) => Task;

  spawn(name: string, cpu = 0): Task {
    return new Task(this.nextPid++, name, this.tk.kernel.cpus[cpu % this.tk.kernel.cpus.length]);
  }

  allocUser(bytes: number): UserBuf {
    const addr = this.nextAddr;
    this.nextAddr += Math.ceil(bytes / 4096) * 4096;
    return { addr, len: bytes };
  }

  freeUser(_buf: UserBuf): void {}

  /** Run the clock until nothing is left to do. */
  settle(): void {
    this.tk.sim.run();
  }

  private ret<T>(v: E.Either<Errno, T>, ns = FAKE_LATENCY.call): Sys<T> {
    const s = new AsyncSubject<E.Either<Errno, T>>();
    this.tk.sim.after(ns, () => {
      s.next(v);
      s.complete();
    });
    return s as Observable<E.Either<Errno, T>>;
  }

  private parentOk(p: string): Errno | undefined {
    const parent = p.slice(0, p.lastIndexOf('/')) || '/';
    if (this.files.has(parent)) return 'ENOTDIR';
    return this.dirs.has(parent) ? undefined : 'ENOENT';
  }

  private makeSyscalls(): Syscalls {
    const L = E.left;
    const R = E.right;
    const file = (fd: number): OpenFile | undefined => this.fds.get(fd);
    const io = (fd: number, buf: UserBuf, offset: number | undefined, write: boolean): E.Either<Errno, number> => {
      const f = file(fd);
      if (!f) return L('EBADF');
      const acc = f.flags & O_ACCMODE;
      if (write ? acc === O_RDONLY : acc === 1) return L('EBADF');
      let data = this.files.get(f.path)!;
      let at = offset ?? f.pos;
      if (write) {
        if (f.flags & O_APPEND) at = data.length;
        if (at + buf.len > data.length) {
          const grown = new Uint8Array(at + buf.len);
          grown.set(data);
          this.files.set(f.path, (data = grown));
        }
        data.set(this.mem.read(buf.addr, buf.len), at);
        if (offset === undefined) f.pos = at + buf.len;
        return R(buf.len);
      }
      const n = Math.max(0, Math.min(buf.len, data.length - at));
      if (n > 0) this.mem.write(buf.addr, data.subarray(at, at + n));
      if (offset === undefined) f.pos = at + n;
      return R(n);
    };
    const stat = (p: string): E.Either<Errno, StatResult> => {
      const d = this.files.get(p);
      if (d) return R({ ino: 0, kind: 'file', size: d.length, nlink: 1, blocks: Math.ceil(d.length / 512), mtimeNs: 0 });
      if (this.dirs.has(p)) return R({ ino: 0, kind: 'dir', size: 4096, nlink: 2, blocks: 8, mtimeNs: 0 });
      return L('ENOENT');
    };
    const bytes = (n: number): number => FAKE_LATENCY.call + n * FAKE_LATENCY.perByte;
    /** Log the call, trace its entry, do it now, trace its return after its latency. */
    const logged = <T>(t: Task, what: string, f: () => E.Either<Errno, T>, ns?: number | ((v: E.Either<Errno, T>) => number)): Sys<T> => {
      this.log.push(what);
      const [call, ...args] = what.split(' ');
      const name = LINUX_NAMES[call] ?? call;
      const trace = this.tk.trace;
      trace.emit({ kind: 'syscall', t: this.tk.sim.now, pid: t.pid, name, phase: 'enter', args: args.join(' ') });
      const v = f();
      const out = this.ret(v, typeof ns === 'function' ? ns(v) : ns);
      const ret = E.isLeft(v) ? v.left : typeof v.right === 'number' ? v.right : 0;
      out.subscribe(() => trace.emit({ kind: 'syscall', t: this.tk.sim.now, pid: t.pid, name, phase: 'exit', ret }));
      return out;
    };
    const n = (v: E.Either<Errno, number>): number => bytes(E.isRight(v) ? v.right : 0);
    const sys: Syscalls = {
      open: (t, path, flags) =>
        logged(t, `open ${path}`, () => {
          const p = resolvePath(path);
          if (this.dirs.has(p)) return (flags & O_ACCMODE) === O_RDONLY ? R(this.newFd(p, flags)) : L('EISDIR');
          const exists = this.files.has(p);
          if (exists && flags & O_CREAT && flags & O_EXCL) return L('EEXIST');
          if (!exists) {
            if (!(flags & O_CREAT)) return L('ENOENT');
            const bad = this.parentOk(p);
            if (bad) return L(bad);
            this.files.set(p, new Uint8Array(0));
          } else if (flags & O_TRUNC) this.files.set(p, new Uint8Array(0));
          return R(this.newFd(p, flags));
        }),
      close: (t, fd) => logged(t, `close ${fd}`, () => (this.fds.delete(fd) ? R(undefined) : L('EBADF'))),
      read: (t, fd, buf) => logged(t, `read ${fd}`, () => io(fd, buf, undefined, false), n),
      write: (t, fd, buf) => logged(t, `write ${fd}`, () => io(fd, buf, undefined, true), n),
      pread: (t, fd, buf, off) => logged(t, `pread ${fd} ${buf.len}@${off}`, () => io(fd, buf, off, false), n),
      pwrite: (t, fd, buf, off) => logged(t, `pwrite ${fd} ${buf.len}@${off}`, () => io(fd, buf, off, true), n),
      lseek: (t, fd, offset, whence: Whence) =>
        logged(t, `lseek ${fd} ${offset}`, () => {
          const f = file(fd);
          if (!f) return L('EBADF');
          const base = whence === 'SEEK_SET' ? 0 : whence === 'SEEK_CUR' ? f.pos : (this.files.get(f.path)?.length ?? 0);
          if (base + offset < 0) return L('EINVAL');
          return R((f.pos = base + offset));
        }),
      fsync: (t, fd) => logged(t, `fsync ${fd}`, () => (file(fd) ? R(undefined) : L('EBADF')), FAKE_LATENCY.fsync),
      fdatasync: (t, fd) => logged(t, `fdatasync ${fd}`, () => (file(fd) ? R(undefined) : L('EBADF')), FAKE_LATENCY.fsync),
      ftruncate: (t, fd, len) =>
        logged(t, `ftruncate ${fd} ${len}`, () => {
          const f = file(fd);
          if (!f || (f.flags & O_ACCMODE) === O_RDONLY) return L(f ? 'EINVAL' : 'EBADF');
          const old = this.files.get(f.path)!;
          const next = new Uint8Array(len);
          next.set(old.subarray(0, Math.min(len, old.length)));
          this.files.set(f.path, next);
          return R(undefined);
        }),
      unlink: (t, path) =>
        logged(t, `unlink ${path}`, () => {
          const p = resolvePath(path);
          if (this.dirs.has(p)) return L('EISDIR');
          return this.files.delete(p) ? R(undefined) : L('ENOENT');
        }),
      rename: (t, from, to) =>
        logged(t, `rename ${from} ${to}`, () => {
          const a = resolvePath(from);
          const b = resolvePath(to);
          const d = this.files.get(a);
          if (!d) return L(this.dirs.has(a) ? 'EINVAL' : 'ENOENT');
          if (this.dirs.has(b)) return L('EISDIR');
          const bad = this.parentOk(b);
          if (bad) return L(bad);
          this.files.delete(a);
          this.files.set(b, d);
          for (const f of this.fds.values()) if (f.path === a) f.path = b;
          return R(undefined);
        }),
      mkdir: (t, path) =>
        logged(t, `mkdir ${path}`, () => {
          const p = resolvePath(path);
          if (this.dirs.has(p) || this.files.has(p)) return L('EEXIST');
          const bad = this.parentOk(p);
          if (bad) return L(bad);
          this.dirs.add(p);
          return R(undefined);
        }),
      rmdir: (t, path) =>
        logged(t, `rmdir ${path}`, () => {
          const p = resolvePath(path);
          if (!this.dirs.has(p)) return L(this.files.has(p) ? 'ENOTDIR' : 'ENOENT');
          if (this.children(p).length > 0) return L('ENOTEMPTY');
          this.dirs.delete(p);
          return R(undefined);
        }),
      readdir: (t, path) => logged(t, `readdir ${path}`, () => (this.dirs.has(resolvePath(path)) ? R(this.children(resolvePath(path))) : L('ENOENT'))),
      stat: (t, path) => logged(t, `stat ${path}`, () => stat(resolvePath(path))),
      statfs: (t, _path) => logged(t, 'statfs', () => R({ blockSize: 4096, blocks: 1 << 20, blocksFree: 1 << 19, files: 1 << 16, filesFree: 1 << 15 })),
      sync: (t) => logged(t, 'sync', () => R(undefined), FAKE_LATENCY.fsync),
      mount: (t, dev, dir) =>
        logged(t, `mount ${dev} ${dir}`, () => {
          if (!this.dirs.has(dir)) return L('ENOENT');
          if (this.mounts.has(dir)) return L('EBUSY');
          this.mounts.add(dir);
          return R(undefined);
        }),
      umount: (t, dir) =>
        logged(t, `umount ${dir}`, () => {
          if (!this.mounts.has(dir)) return L('EINVAL');
          for (const f of this.fds.values()) if (f.path.startsWith(dir + '/')) return L('EBUSY');
          this.mounts.delete(dir);
          return R(undefined);
        }),
      dropCaches: (t, what) => logged(t, `drop_caches ${what}`, () => R(undefined)),
      mkfsDevice: (t, dev) => logged(t, `mkfs ${dev}`, () => (this.mounts.size > 0 ? L('EBUSY') : R(undefined)), FAKE_LATENCY.fsync),
    };
    return sys;
  }

  private newFd(path: string, flags: number): number {
    const fd = this.nextFd++;
    this.fds.set(fd, { path, flags, pos: 0 });
    return fd;
  }

  private children(dir: string): string[] {
    const prefix = dir === '/' ? '/' : dir + '/';
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p === dir || !p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      if (!rest.includes('/')) names.add(rest);
    }
    return [...names].sort();
  }
}

/** The file-job runner's environment over a FakeOs. */
export function fakeFileRunEnv(os: FakeOs, seed = 1): FileRunEnv {
  const { sim, trace } = os.tk;
  return { sim, trace, mem: os.mem, os, cpus: os.tk.kernel.cpus.length, seed, idleAt: () => sim.now };
}
