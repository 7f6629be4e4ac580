/**
 * Processes as the VFS sees them: a process owns a file-descriptor table shared by its
 * threads (tasks). `spawn` starts a process with one task; `thread` adds a task to a
 * task's process; `kthread` makes a kernel thread (no files). A task made elsewhere
 * (`new Task(...)` in a test) is its own process the first time it makes a system call.
 *
 * Descriptors are the lowest free number from 3 (0–2 are stdin, stdout and stderr, which
 * guest programs here do not have), up to RLIMIT_NOFILE's default soft limit (EMFILE).
 */
import type { GuestKernel } from '../kernel/kernel.js';
import { Task } from '../kernel/task.js';
import type { OpenFile } from './file.js';

/** RLIMIT_NOFILE's default soft limit. */
export const NR_OPEN_DEFAULT = 1024;
const FIRST_FD = 3;

/** A process's descriptor table (struct files_struct). */
export class FdTable {
  private readonly files: (OpenFile | undefined)[] = [];

  /** The open file description behind `fd`, if any. */
  get(fd: number): OpenFile | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.files[fd] : undefined;
  }

  /** No descriptor is free (EMFILE). */
  get full(): boolean {
    for (let fd = FIRST_FD; fd < NR_OPEN_DEFAULT; fd++) if (this.files[fd] === undefined) return false;
    return true;
  }

  /** Install `f` at the lowest free descriptor; undefined when the table is full (EMFILE). */
  install(f: OpenFile): number | undefined {
    for (let fd = FIRST_FD; fd < NR_OPEN_DEFAULT; fd++) {
      if (this.files[fd] === undefined) {
        this.files[fd] = f;
        return fd;
      }
    }
    return undefined;
  }

  remove(fd: number): OpenFile | undefined {
    const f = this.get(fd);
    if (f) this.files[fd] = undefined;
    return f;
  }

  /** Open descriptors, ascending. */
  get open(): number[] {
    return this.files.flatMap((f, fd) => (f ? [fd] : []));
  }
}

export class Process {
  readonly fds = new FdTable();
  readonly tasks: Task[] = [];
  constructor(
    readonly pid: number,
    readonly name: string,
  ) {}
}

export class ProcessTable {
  private nextPid = 2;
  private readonly byTask = new WeakMap<Task, Process>();

  constructor(private readonly kernel: GuestKernel) {}

  private cpu(cpu: number) {
    const cpus = this.kernel.cpus;
    return cpus[((cpu % cpus.length) + cpus.length) % cpus.length];
  }

  /** A new process with one task on CPU `cpu` (modulo the CPU count). */
  spawn(name: string, cpu = 0): Task {
    const pid = this.nextPid++;
    const p = new Process(pid, name);
    const t = new Task(pid, name, this.cpu(cpu));
    p.tasks.push(t);
    this.byTask.set(t, p);
    return t;
  }

  /** Another task in `of`'s process (clone with CLONE_FILES). */
  thread(of: Task, name: string, cpu = of.cpu.index): Task {
    const p = this.processOf(of);
    const t = new Task(this.nextPid++, name, this.cpu(cpu));
    p.tasks.push(t);
    this.byTask.set(t, p);
    return t;
  }

  /** A kernel thread (jbd2, kworker): a task with no files. */
  kthread(name: string, cpu = 0): Task {
    return new Task(this.nextPid++, name, this.cpu(cpu));
  }

  /** The process of `task` (a task nobody spawned becomes a process of its own). */
  processOf(task: Task): Process {
    let p = this.byTask.get(task);
    if (!p) {
      p = new Process(task.pid, task.name);
      p.tasks.push(task);
      this.byTask.set(task, p);
    }
    return p;
  }
}
