/**
 * The guest's operating system as a workload sees it (GuestOsApi): the VFS's system calls,
 * processes to run them, and user memory for buffers — over the kernel, its page cache and
 * its block devices. `vm/` builds one per booted guest (`machine.guest.os`); tests build
 * one over a test kernel and fake disks.
 */
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import type { DmaAllocator } from '../kernel/dma-alloc.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { Task } from '../kernel/task.js';
import type { PageCache } from '../pagecache/pagecache.js';
import type { VfsOptions } from './context.js';
import { ProcessTable } from './process.js';
import type { GuestOsApi, UserBuf } from './syscalls-api.js';
import { Vfs } from './vfs.js';

const USER_ALIGN = 4096;

export class GuestOs implements GuestOsApi {
  readonly processes: ProcessTable;
  readonly vfs: Vfs;

  constructor(
    readonly kernel: GuestKernel,
    private readonly user: DmaAllocator,
    readonly cache: PageCache,
    /** Block devices by path (`/dev/vda`). */
    readonly devices: ReadonlyMap<string, GuestBlockDevice>,
    opts: VfsOptions = {},
  ) {
    this.processes = new ProcessTable(kernel);
    this.vfs = new Vfs(kernel, cache, devices, this.processes, opts);
  }

  get syscalls(): Vfs {
    return this.vfs;
  }

  spawn(name: string, cpu = 0): Task {
    return this.processes.spawn(name, cpu);
  }

  /** Another thread of `of`'s process (it shares the descriptors). */
  thread(of: Task, name: string, cpu?: number): Task {
    return this.processes.thread(of, name, cpu);
  }

  allocUser(bytes: number): UserBuf {
    return { addr: this.user.alloc(Math.max(1, bytes), USER_ALIGN), len: bytes };
  }

  freeUser(buf: UserBuf): void {
    this.user.free(buf.addr, Math.max(1, buf.len), USER_ALIGN);
  }

  /** The end of a run: the flusher's and the journals' timers stop; nothing more is written. */
  shutdown(): void {
    this.vfs.shutdown();
    this.cache.shutdown();
  }
}
