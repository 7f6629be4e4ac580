/**
 * The buffered write path (generic_perform_write with block_write_begin / generic_write_end).
 *
 * Once per write() the owner may map (allocate) blocks: `ops.prepareWrite`. Then for each
 * page of [pos, pos + len):
 * - find or allocate it (waiting for memory if need be) and lock it;
 * - a partial write of a page that is not uptodate reads it first (read-modify-write)
 *   unless the page lies wholly beyond the end of the file, where the parts not written are
 *   zeroed instead;
 * - copy from the user buffer, mark uptodate and dirty (dirtiedAt = now on a clean →
 *   dirty transition), mark accessed, unlock, extend i_size;
 * - every few newly dirtied pages, balance_dirty_pages: the writer may be paused here.
 * A page under writeback may be written (no stable pages): it is simply dirty again.
 * A failure after some bytes were copied returns the short count, as Linux does.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../../hw/memory.js';
import type { Task } from '../kernel/task.js';
import { RunEmitter } from './core.js';
import { copyFromUser } from './copy.js';
import type { Mapping } from './mapping.js';
import type { CachedPage } from './page.js';
import { onceStatus, submitRead } from './page-io.js';
import type { PageCacheParts } from './parts.js';
import { pageIoErrno, type Errno, type UserBuf } from './types.js';

export function bufferedWrite(pc: PageCacheParts, task: Task, mapping: Mapping, pos: number, src: UserBuf, len: number, done: (r: E.Either<Errno, number>) => void): void {
  const op = new WriteOp(pc, task, mapping, pos, src, len, done);
  const prepare = mapping.ops.prepareWrite;
  if (!prepare || len === 0) return op.step();
  const first = Math.floor(pos / PAGE_SIZE);
  const last = Math.floor((pos + len - 1) / PAGE_SIZE);
  onceStatus(prepare.call(mapping.ops, mapping, first, last, task), (status) =>
    task.run('write_begin: blocks mapped', () => {
      const err = pageIoErrno(status);
      if (err) done(E.left(err));
      else op.step();
    }),
  );
}

class WriteOp {
  private written = 0;
  /** Page index this write already tried to read for read-modify-write. */
  private rmwTried = -1;
  private readonly runs: RunEmitter;

  constructor(
    private readonly pc: PageCacheParts,
    private readonly task: Task,
    private readonly mapping: Mapping,
    private readonly pos: number,
    private readonly src: UserBuf,
    private readonly len: number,
    private readonly done: (r: E.Either<Errno, number>) => void,
  ) {
    this.runs = new RunEmitter(pc.core);
  }

  step(): void {
    const { core, reclaim, throttle } = this.pc;
    const mapping = this.mapping;
    for (;;) {
      if (this.written >= this.len) return this.finish();
      const at = this.pos + this.written;
      const index = Math.floor(at / PAGE_SIZE);
      const offset = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - offset, this.len - this.written);
      core.charge('guest.pagecache.lookup');
      let page = mapping.pages.get(index);
      if (!page) {
        const addr = reclaim.tryAlloc();
        if (addr === undefined) {
          reclaim.waitForMemory(this.task, (ok) => (ok ? this.step() : this.finish('ENOMEM')));
          return;
        }
        page = core.insert(mapping, index, addr); // locked
      } else if (page.locked) {
        this.waitFor(page);
        return;
      } else {
        core.lock(page);
      }
      if (!page.uptodate && n < PAGE_SIZE) {
        if (index * PAGE_SIZE >= mapping.size) {
          core.mem.fill(page.addr, PAGE_SIZE, 0); // beyond EOF: nothing to read
        } else if (this.rmwTried !== index) {
          this.rmwTried = index;
          submitRead(core, this.task, mapping, [page], false); // unlocks when done
          if (page.locked) {
            this.waitFor(page);
            return;
          }
          continue;
        } else {
          core.unlock(page);
          return this.finish('EIO');
        }
      }
      core.chargeCopy(n);
      copyFromUser(core.mem, this.src, this.written, page.addr + offset, n);
      page.uptodate = true;
      const newlyDirty = core.markDirty(page);
      if (newlyDirty) this.runs.add('dirty', mapping, index);
      core.lru.markAccessed(page);
      core.unlock(page);
      this.written += n;
      if (at + n > mapping.size) {
        const old = mapping.size;
        mapping.size = at + n;
        mapping.ops.sizeChanged?.(mapping, old, mapping.size);
      }
      if (newlyDirty && throttle.ratelimited(this.task, mapping, index, 1, () => this.step())) {
        this.runs.flush();
        return;
      }
    }
  }

  /** Sleep until `page` is unlocked (lock_page), then start this page again. */
  private waitFor(page: CachedPage): void {
    const core = this.pc.core;
    core.pin(page);
    this.task.sleep();
    page.wait(() =>
      this.task.run('write: page unlocked', () => {
        core.unpin(page);
        this.step();
      }),
    );
  }

  private finish(err?: Errno): void {
    this.runs.flush();
    this.done(err && this.written === 0 ? E.left(err) : E.right(this.written));
  }
}
