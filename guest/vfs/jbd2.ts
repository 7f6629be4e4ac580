/**
 * The journal thread of one mounted file system (jbd2's kjournald2, data=ordered): it
 * commits the running transaction `commitIntervalMs` after its first change (t_expires,
 * ext4's commit=5), when fsync or sync asks, and when an allocation found no room but
 * blocks wait to be freed. Commits run one at a time, in order; each:
 *
 *   1. takes the ordered inodes (guest/fs `orderedInodes()` plus the VFS's own: inodes whose
 *      size grew or that were freed) and `commit()`s, in one step;
 *   2. waits for those inodes' data writes already in flight (ordered mode: the data a
 *      transaction makes reachable is on the disk before the transaction commits);
 *   3. issues the plan through the device, step after step, then `complete(plan)`.
 *
 * Commits are numbered; a change made now is carried by commit `changed()`, and a waiter
 * asks for a number. A plan that fails aborts the journal (jbd2_journal_abort): every
 * waiter then hears EIO, nothing more is written, and the VFS refuses changes (EROFS).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { SchedulerLike, Subscription } from 'rxjs';
import { timer } from 'rxjs';
import { issuePlan, planWrites, type CommitPlan } from '../fs/index.js';
import type { Task } from '../kernel/task.js';
import { charge, printk } from './context.js';
import type { Errno } from './errno.js';
import type { MountedFs } from './mounted-fs.js';
import { waitAll } from './wait.js';

interface Waiter {
  readonly seq: number;
  readonly cb: (err?: Errno) => void;
}

export class Jbd2 {
  /** Commits whose plan has been made (`fs.commit()` called). */
  private startedN = 0;
  private doneN = 0;
  /** The newest completed commit that wrote anything (its barriers flushed the device's cache). */
  private barrierN = 0;
  private committing = false;
  private timerDue = false;
  private timer: Subscription | undefined;
  private waiters: Waiter[] = [];
  private stopped = false;
  private onIdle: (() => void) | undefined;
  /** Set when a plan failed. */
  aborted: Errno | undefined;

  constructor(
    private readonly mnt: MountedFs,
    /** The journal's kernel thread. */
    readonly task: Task,
    private readonly intervalMs: number,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** Commits whose plan has been made so far. */
  get started(): number {
    return this.startedN;
  }
  /** Commits done so far. */
  get committed(): number {
    return this.doneN;
  }
  /** The newest commit that wrote blocks (and so flushed the device's cache after them). */
  get lastBarrier(): number {
    return this.barrierN;
  }

  /** A metadata change was made: the commit that will carry it. Arms the commit timer. */
  changed(): number {
    if (!this.timer && !this.stopped && this.intervalMs > 0) this.arm();
    return this.startedN + 1;
  }

  /** `cb` once commit `seq` is done (starting commits as needed); with the error if the journal aborted. */
  waitFor(seq: number, cb: (err?: Errno) => void): void {
    if (this.aborted) return cb(this.aborted);
    if (this.doneN >= seq) return cb();
    if (this.stopped) return cb('EIO');
    this.waiters.push({ seq, cb });
    if (!this.committing) this.start();
  }

  /** Commit everything changed so far and wait for it. */
  commitAndWait(cb: (err?: Errno) => void): void {
    this.waitFor(this.startedN + 1, cb);
  }

  private arm(): void {
    this.timer = timer(this.intervalMs, this.scheduler).subscribe(() => {
      this.timer = undefined;
      if (this.committing) this.timerDue = true;
      else this.start();
    });
  }

  private start(): void {
    this.committing = true;
    this.timerDue = false;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.task.run('jbd2: commit', () => {
      charge(this.mnt.ctx, 'guest.jbd2.commit');
      const latches = this.mnt.takeOrdered();
      const plan = this.mnt.fs.commit();
      const seq = ++this.startedN;
      this.afterData(latches, 'jbd2: ordered data written', () => this.issue(plan, seq));
    });
  }

  private afterData(latches: ReturnType<MountedFs['takeOrdered']>, what: string, fn: () => void): void {
    if (latches.every((l) => l.done)) return fn();
    this.task.sleep();
    waitAll(latches, () => this.task.run(what, fn));
  }

  private issue(plan: CommitPlan, seq: number): void {
    const writes = planWrites(plan).length;
    if (this.aborted) return this.finish(seq, false);
    if (writes === 0) {
      this.mnt.fs.complete(plan);
      return this.finish(seq, false);
    }
    charge(this.mnt.ctx, 'guest.jbd2.block', writes);
    issuePlan(this.mnt.io.forTask(this.task), plan).subscribe((r) => {
      if (E.isLeft(r)) {
        this.aborted = r.left;
        printk(this.mnt.ctx, `jbd2/${this.mnt.dev.name}`, `Aborting journal on device ${this.mnt.dev.name}: I/O error writing transaction ${plan.lastTid} (${r.left})`);
      } else this.mnt.fs.complete(plan);
      this.finish(seq, E.isRight(r));
    });
  }

  private finish(seq: number, wrote: boolean): void {
    this.doneN = seq;
    if (wrote) this.barrierN = seq;
    this.committing = false;
    const ready = this.waiters.filter((w) => this.aborted !== undefined || w.seq <= seq);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.cb(this.aborted);
    const idle = this.onIdle;
    if (idle) {
      this.onIdle = undefined;
      idle();
    } else if (!this.aborted && (this.waiters.length > 0 || this.timerDue)) this.start();
  }

  /**
   * umount: after the commit in progress, stop; then `final()`'s plan (the file system's
   * umount: commit, checkpoint, clean superblock) is issued, after every data write in
   * flight, as the last plan. `cb` with EIO if it failed (or the journal had aborted).
   */
  shutdown(final: () => CommitPlan, cb: (err?: Errno) => void): void {
    if (this.committing) {
      this.onIdle = () => this.shutdown(final, cb);
      return;
    }
    this.stop();
    this.task.run('jbd2: umount', () => {
      const plan = final();
      this.afterData(this.mnt.allInflight(), 'jbd2: data written', () => {
        if (this.aborted) return cb(this.aborted);
        issuePlan(this.mnt.io.forTask(this.task), plan).subscribe((r) => cb(E.isLeft(r) ? r.left : undefined));
      });
    });
  }

  /** Stop the commit timer and take no more work (a power cut, umount, the end of a run). Nothing is written. */
  stop(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w.cb(this.aborted ?? 'EIO');
  }
}
