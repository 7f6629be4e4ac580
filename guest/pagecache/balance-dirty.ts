/**
 * balance_dirty_pages (mm/page-writeback.c), simplified.
 *
 * A writer checks in after every `ratelimit` pages it dirtied (nr_dirtied_pause: 32 pages,
 * 8 while the limit is exceeded). Then:
 * - dirty pages above the background threshold (dirty_background_ratio of available
 *   memory, or dirty_background_bytes) wake the flusher for background writeback;
 * - dirty + writeback pages above the dirty limit (dirty_ratio, or dirty_bytes) pause the
 *   writer: a `throttle` trace event, then the task sleeps and re-checks each time pages
 *   finish writeback, until the count is at or under the limit. Its write() completes only
 *   then.
 *
 * Not modelled: Linux's proportional pause between the freerun ceiling ((background +
 * limit) / 2) and the limit (pos_ratio, dirty_ratelimit, MAX_PAUSE of 200 ms): here a
 * writer runs freely up to the limit and waits for writeback above it.
 */
import type { Task } from '../kernel/task.js';
import type { PageCacheCore } from './core.js';
import type { Flusher } from './flusher.js';
import type { Mapping } from './mapping.js';

/** Pages a task may dirty between checks (128 KiB >> (PAGE_SHIFT - 10)). */
export const DIRTY_RATELIMIT_PAGES = 32;
/** The same while the dirty limit is exceeded (32 KiB). */
export const DIRTY_RATELIMIT_EXCEEDED_PAGES = 8;

export class DirtyThrottle {
  private readonly dirtiedByTask = new WeakMap<Task, number>();
  /** The last task to check in, and its count (kept here, not in the map, while it writes on). */
  private lastTask: Task | undefined;
  private lastCount = 0;

  constructor(
    private readonly core: PageCacheCore,
    private readonly flusher: Flusher,
  ) {}

  /**
   * balance_dirty_pages_ratelimited after `task` dirtied `n` more pages, at page `index` of
   * `mapping`. Returns true when the task must pause: `resume` then runs on the task once
   * it may go on. Returns false to go on at once.
   */
  ratelimited(task: Task, mapping: Mapping, index: number, n: number, resume: () => void): boolean {
    if (task !== this.lastTask) {
      if (this.lastTask !== undefined) this.dirtiedByTask.set(this.lastTask, this.lastCount);
      this.lastTask = task;
      this.lastCount = this.dirtiedByTask.get(task) ?? 0;
    }
    const count = this.lastCount + n;
    const limit = this.core.dirtyExceeded ? DIRTY_RATELIMIT_EXCEEDED_PAGES : DIRTY_RATELIMIT_PAGES;
    if (count < limit) {
      this.lastCount = count;
      return false;
    }
    this.lastCount = 0;
    return this.balance(task, mapping, index, resume);
  }

  /** balance_dirty_pages itself. */
  balance(task: Task, mapping: Mapping, index: number, resume: () => void): boolean {
    const core = this.core;
    const over = this.check();
    if (over <= 0) return false;
    core.emit('throttle', mapping, index, over);
    const wait = (): void => {
      task.sleep();
      core.progress.add(() =>
        task.run('balance_dirty_pages', () => {
          if (this.check() > 0) wait();
          else resume();
        }),
      );
    };
    wait();
    return true;
  }

  /** Kick background writeback if due; answer how many pages dirty + writeback exceed the limit. */
  private check(): number {
    const core = this.core;
    const th = core.thresholds();
    if (core.nrDirty > th.background) this.flusher.kickBackground();
    const over = core.nrDirty + core.nrWriteback - th.limit;
    core.dirtyExceeded = over > 0;
    return over;
  }
}
