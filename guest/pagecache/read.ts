/**
 * The buffered read path (filemap_read / generic_file_buffered_read, Linux 4.19 shape).
 *
 * For each page of [pos, pos + len) up to i_size:
 * - look it up; missing → synchronous readahead (page_cache_sync_readahead) over the
 *   window readahead.ts decides; still missing (readahead off, no memory) → allocate that
 *   one page, waiting for memory if need be, and read it;
 * - a page carrying the readahead marker → asynchronous readahead of the next window;
 * - not uptodate → wait for its read (it is locked); still not uptodate (the read failed)
 *   → read it once more ourselves, then give up with EIO;
 * - copy to the user buffer, mark the page accessed (once per page for a sequential
 *   reader), remember the position (file_ra_state.prev_pos).
 * A read that fails after copying some bytes returns the short count, as Linux does.
 * Hits and misses are traced per run of pages.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../../hw/memory.js';
import type { Task } from '../kernel/task.js';
import { RunEmitter } from './core.js';
import { copyToUser } from './copy.js';
import type { Mapping } from './mapping.js';
import type { CachedPage } from './page.js';
import { submitRead } from './page-io.js';
import type { PageCacheParts } from './parts.js';
import { ondemandReadahead, type FileRaState, type RaWindow } from './readahead.js';
import type { Errno, UserBuf } from './types.js';

export function bufferedRead(pc: PageCacheParts, task: Task, mapping: Mapping, pos: number, len: number, dst: UserBuf, ra: FileRaState, done: (r: E.Either<Errno, number>) => void): void {
  new ReadOp(pc, task, mapping, pos, len, dst, ra, done).step();
}

class ReadOp {
  private copied = 0;
  private prevIndex: number;
  private prevOffset: number;
  /** Page index this read already re-read after a failed read (one retry only). */
  private retried = -1;
  /** Last page index counted as hit or miss (a page waited for is counted once). */
  private counted = -1;
  /** First page index past the request (last_index). */
  private readonly endIndex: number;
  private readonly runs: RunEmitter;

  constructor(
    private readonly pc: PageCacheParts,
    private readonly task: Task,
    private readonly mapping: Mapping,
    private readonly pos: number,
    private readonly len: number,
    private readonly dst: UserBuf,
    private readonly ra: FileRaState,
    private readonly done: (r: E.Either<Errno, number>) => void,
  ) {
    this.prevIndex = Math.floor(ra.prevPos / PAGE_SIZE);
    this.prevOffset = ((ra.prevPos % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    this.endIndex = Math.ceil((pos + len) / PAGE_SIZE);
    this.runs = new RunEmitter(pc.core);
  }

  step(): void {
    const { core, reclaim } = this.pc;
    const mapping = this.mapping;
    for (;;) {
      const at = this.pos + this.copied;
      if (this.copied >= this.len || at >= mapping.size) return this.finish();
      const index = Math.floor(at / PAGE_SIZE);
      const offset = at % PAGE_SIZE;
      core.charge('guest.pagecache.lookup');
      let page = mapping.pages.get(index);
      if (!page) {
        this.readahead(ondemandReadahead(this.ra, (i) => mapping.pages.has(i), false, index, this.endIndex - index), 'sync');
        page = mapping.pages.get(index);
        if (!page) {
          const addr = reclaim.tryAlloc();
          if (addr === undefined) {
            reclaim.waitForMemory(this.task, (ok) => (ok ? this.step() : this.finish('ENOMEM')));
            return;
          }
          page = core.insert(mapping, index, addr);
          submitRead(core, this.task, mapping, [page], false);
        }
      }
      if (this.counted !== index) {
        this.counted = index;
        this.runs.add(page.uptodate ? 'hit' : 'miss', mapping, index);
      }
      core.pin(page);
      if (page.readahead && !page.writeback) {
        page.readahead = false;
        this.readahead(ondemandReadahead(this.ra, (i) => mapping.pages.has(i), true, index, this.endIndex - index), 'async');
      }
      if (!page.uptodate) {
        if (!page.locked && !page.removed && this.retried !== index) {
          // The read that brought it in failed: try once more (filemap_read_folio).
          this.retried = index;
          core.lock(page);
          submitRead(core, this.task, mapping, [page], false);
        }
        if (page.locked) {
          this.waitFor(page);
          return;
        }
        core.unpin(page);
        if (page.removed) continue; // truncated meanwhile: look again
        return this.finish('EIO');
      }
      const size = mapping.size;
      if (at >= size) {
        core.unpin(page);
        return this.finish();
      }
      const n = Math.min(PAGE_SIZE - offset, this.len - this.copied, size - at);
      core.chargeCopy(n);
      copyToUser(core.mem, this.dst, this.copied, page.addr + offset, n);
      if (this.prevIndex !== index || this.prevOffset !== offset) core.lru.markAccessed(page);
      this.prevIndex = index;
      this.prevOffset = (offset + n) % PAGE_SIZE;
      this.copied += n;
      core.unpin(page);
    }
  }

  /** Sleep until `page` is unlocked, then go on (wait_on_page_locked). */
  private waitFor(page: CachedPage): void {
    this.task.sleep();
    page.wait(() =>
      this.task.run('read: page unlocked', () => {
        this.pc.core.unpin(page);
        this.step();
      }),
    );
  }

  /**
   * __do_page_cache_readahead: allocate the missing pages of the window (without waiting
   * for memory), up to the end of the file, put the marker on page start + nr - lookahead,
   * and read each run of consecutive new pages with one readPages call.
   */
  private readahead(w: RaWindow | undefined, reason: 'sync' | 'async'): void {
    const { core, reclaim } = this.pc;
    const mapping = this.mapping;
    if (!w || mapping.size === 0) return;
    const lastIndex = Math.floor((mapping.size - 1) / PAGE_SIZE);
    let run: CachedPage[] = [];
    const flush = (): void => {
      if (run.length === 0) return;
      core.emit('readahead', mapping, run[0].index, run.length, reason);
      submitRead(core, this.task, mapping, run, reason === 'async');
      run = [];
    };
    for (let i = 0; i < w.nr; i++) {
      const index = w.start + i;
      if (index > lastIndex) break;
      core.charge('guest.pagecache.lookup');
      if (mapping.pages.has(index)) {
        flush();
        continue;
      }
      const addr = reclaim.tryAlloc();
      if (addr === undefined) break;
      const page = core.insert(mapping, index, addr);
      if (i === w.nr - w.lookahead) page.readahead = true;
      run.push(page);
    }
    flush();
  }

  private finish(err?: Errno): void {
    this.ra.prevPos = this.prevIndex * PAGE_SIZE + this.prevOffset;
    this.runs.flush();
    this.done(err && this.copied === 0 ? E.left(err) : E.right(this.copied));
  }
}
