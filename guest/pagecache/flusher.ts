/**
 * The flusher thread (fs/fs-writeback.c, wb_workfn): one kernel task that writes dirty
 * pages for three reasons.
 *
 * - periodic (kupdate): while dirty data exists it wakes every dirty_writeback_centisecs
 *   and writes the pages dirty for at least dirty_expire_centisecs. As in Linux the timer
 *   is armed when the first page becomes dirty (wb_wakeup_delayed) and re-armed after a
 *   wakeup only while dirty pages remain, so an idle cache leaves no timer behind. Wakeups
 *   keep their period exactly (the next is one interval after the previous one fired, not
 *   after the work ended), so a page dirtied at d is submitted by d + expire + interval
 *   (plus the time the flusher waits for its CPU).
 * - background: when dirty pages exceed the background threshold (kicked by writers in
 *   balance_dirty_pages, and checked at every wakeup), the oldest dirty pages are written in
 *   chunks until the count is back under it.
 * - vmscan: reclaim found nothing clean to free and asks for all dirty pages to be written.
 *
 * Simplified: Linux keeps dirtied_when per inode and writes whole expired inodes; here the
 * timestamp is per page and only expired pages are written. Pages already under writeback
 * are skipped (WB_SYNC_NONE) and picked up by a later pass.
 */
import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import { NS_PER_MS } from '../../sim/scheduler.js';
import type { Task } from '../kernel/task.js';
import type { PageCacheCore } from './core.js';
import type { CachedPage } from './page.js';
import { MAX_WRITEBACK_PAGES, submitWriteAny } from './page-io.js';

const NS_PER_CENTISEC = 10_000_000;

export class Flusher {
  private timer: Subscription | undefined;
  /** When the armed timer fires (virtual ns). */
  private timerAt = 0;
  private queued = false;
  private periodicDue = false;
  private periodicAt = 0;
  private backgroundDue = false;
  private vmscanDue = false;

  constructor(
    private readonly core: PageCacheCore,
    /** The flusher's kernel thread (kworker/u:flush): its work is charged to its CPU. */
    readonly task: Task,
    private readonly scheduler: SchedulerLike,
  ) {}

  private get intervalNs(): number {
    return this.core.sysctl.dirty_writeback_centisecs * NS_PER_CENTISEC;
  }

  /** True while the periodic timer is armed. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** A page went clean → dirty: arm the periodic wakeup if it is not armed (wb_wakeup_delayed). */
  onDirtied(): void {
    if (this.timer || this.periodicDue || this.intervalNs === 0) return;
    this.arm(this.core.clock.now + this.intervalNs);
  }

  /** wb_start_background_writeback. */
  kickBackground(): void {
    this.backgroundDue = true;
    this.queue();
  }

  /** wakeup_flusher_threads(WB_REASON_VMSCAN): write every dirty page. */
  kickVmscan(): void {
    this.vmscanDue = true;
    this.queue();
  }

  /** Cancel the periodic timer (end of a run; nothing is written). */
  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private arm(at: number): void {
    this.timer?.unsubscribe();
    this.timerAt = at;
    const delayMs = Math.max(0, at - this.core.clock.now) / NS_PER_MS;
    this.timer = timer(delayMs, this.scheduler).subscribe(() => {
      this.timer = undefined;
      this.periodicDue = true;
      this.periodicAt = this.timerAt;
      this.queue();
    });
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    this.task.run('wb_workfn', () => this.work());
  }

  private work(): void {
    this.queued = false;
    const core = this.core;
    if (this.vmscanDue) {
      this.vmscanDue = false;
      submitWriteAny(core, this.task, this.oldestDirty(Infinity), 'vmscan');
    }
    if (this.backgroundDue || core.nrDirty > core.thresholds().background) {
      this.backgroundDue = false;
      // wb_check_background_flush: write the oldest pages in chunks until under the threshold.
      while (core.nrDirty > core.thresholds().background) {
        const chunk = this.oldestDirty(MAX_WRITEBACK_PAGES);
        if (chunk.length === 0) break;
        submitWriteAny(core, this.task, chunk, 'background');
      }
    }
    if (this.periodicDue) {
      this.periodicDue = false;
      // wb_check_old_data_flush: pages dirty for at least dirty_expire_centisecs.
      const cutoff = core.clock.now - core.sysctl.dirty_expire_centisecs * NS_PER_CENTISEC;
      const expired: CachedPage[] = [];
      for (const p of core.dirtyList) if (!p.writeback && p.dirtiedAt <= cutoff) expired.push(p);
      submitWriteAny(core, this.task, expired, 'periodic');
      if (core.nrDirty > 0 && this.intervalNs > 0 && !this.timer) this.arm(this.periodicAt + this.intervalNs);
    }
  }

  /** Up to `n` dirty pages not under writeback, oldest first. */
  private oldestDirty(n: number): CachedPage[] {
    const out: CachedPage[] = [];
    const list = this.core.dirtyList;
    for (let p = list.oldest(); p !== undefined && out.length < n; p = list.after(p)) if (!p.writeback) out.push(p);
    return out;
  }
}
