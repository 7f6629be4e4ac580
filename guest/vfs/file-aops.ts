/**
 * The address-space operations of a regular file (ext3's aops with mpage I/O): how its
 * page-cache pages reach the disk and come back.
 *
 * - readPages: each file block of each page is mapped without allocating (`bmap(…,
 *   false)`); holes and blocks past i_size read as zeroes, the rest go out as bios of
 *   consecutive blocks; the tail of the page holding EOF is zeroed after the read.
 * - writePages: blocks are allocated at writeback (`bmap(…, true)`, ext4's delayed
 *   allocation), only for blocks inside i_size; the tail of the page holding EOF is
 *   zeroed first (block_write_full_page), so a fresh block never carries garbage; the
 *   on-disk i_size catches up with the pages written (`setSize`, in the same step as the
 *   allocations). An inode that got blocks or size is ordered: the next commit waits for
 *   these writes. No room while freed blocks wait for a commit: what is mapped goes out,
 *   the journal commits, the rest is tried again; still no room: the pages fail (ENOSPC
 *   on the mapping, reported by fsync).
 * - A dead inode (freed) reads nothing and writes nowhere.
 */
import * as E from 'fp-ts/lib/Either.js';
import { Observable } from 'rxjs';
import { PAGE_SIZE } from '../../hw/memory.js';
import { SECTOR_SIZE } from '../blockdev/bio.js';
import type { Task } from '../kernel/task.js';
import type { Mapping } from '../pagecache/mapping.js';
import type { AddressSpaceOps, Page, PageIoStatus, WritebackControl } from '../pagecache/types.js';
import { buildBios, submitBios, type IoPiece } from './bios.js';
import { charge } from './context.js';
import { pageStatusOf, type Errno } from './errno.js';
import type { VfsInode } from './inode.js';
import { sleepThen } from './wait.js';

export function fileAops(v: VfsInode): AddressSpaceOps {
  const statusOnce = (start: (done: (s: PageIoStatus) => void) => void): Observable<PageIoStatus> =>
    new Observable<PageIoStatus>((sub) =>
      start((s) => {
        sub.next(s);
        sub.complete();
      }),
    );
  return {
    readPages: (mapping, pages, rac) => statusOnce((done) => readPages(v, mapping, pages, rac.task, done)),
    writePages: (mapping, pages, wbc) => statusOnce((done) => writePages(v, mapping, pages, wbc, done)),
  };
}

function readPages(v: VfsInode, mapping: Mapping, pages: readonly Page[], task: Task, done: (s: PageIoStatus) => void): void {
  const { fs, ctx, dev } = v.mnt;
  const mem = ctx.kernel.mem;
  if (v.dead) return done('ioerr');
  const bs = v.mnt.blockSize;
  const per = PAGE_SIZE / bs;
  const spb = bs / SECTOR_SIZE;
  const size = mapping.size;
  const pieces: IoPiece[] = [];
  for (const p of pages) {
    for (let b = 0; b < per; b++) {
      const fileBlock = p.index * per + b;
      const addr = p.addr + b * bs;
      if (fileBlock * bs >= size) {
        mem.fill(addr, bs, 0);
        continue;
      }
      charge(ctx, 'guest.fs.bmap');
      const r = fs.bmap(v.ino, fileBlock, false);
      if (E.isLeft(r)) return done('ioerr');
      if (r.right.block === 0) mem.fill(addr, bs, 0);
      else pieces.push({ sector: r.right.block * spb, addr, len: bs });
    }
  }
  pieces.sort((a, b) => a.sector - b.sector);
  submitBios(task, dev, buildBios('read', pieces), (st) => {
    // Bytes past EOF in the last page read as zeroes, whatever the block held.
    for (const p of pages) {
      const start = p.index * PAGE_SIZE;
      if (size > start && size < start + PAGE_SIZE) mem.fill(p.addr + (size - start), start + PAGE_SIZE - size, 0);
    }
    done(st);
  });
}

/** How many times writeback waits for a commit to free blocks before giving up (as allocation does). */
const WRITEBACK_RETRIES = 3;

function writePages(v: VfsInode, mapping: Mapping, pages: readonly Page[], wbc: WritebackControl, done: (s: PageIoStatus) => void): void {
  const mnt = v.mnt;
  const { fs, ctx, dev } = mnt;
  const mem = ctx.kernel.mem;
  if (v.dead) return done('ok');
  const st = fs.statIno(v.ino);
  if (E.isLeft(st)) return done('ioerr');
  let diskSize = st.right.size;
  const bs = mnt.blockSize;
  const per = PAGE_SIZE / bs;
  const spb = bs / SECTOR_SIZE;
  const task = wbc.task;
  let next = 0;
  let tries = 0;
  let pending = 0;
  let status: PageIoStatus = 'ok';
  const end = (s: PageIoStatus): void => {
    if (s !== 'ok' && status === 'ok') status = s;
    if (--pending === 0) done(status);
  };
  const pass = (): void => {
    if (v.dead) return;
    const size = mapping.size;
    // The file blocks inside i_size of the pages from `next` on (a page wholly past it was
    // truncated since it was dirtied), mapped in one run that stops at the first failure.
    const want: number[] = [];
    const pageOfBlock: number[] = [];
    for (let i = next; i < pages.length; i++) {
      const start = pages[i].index * PAGE_SIZE;
      for (let b = 0; b < per && start + b * bs < size; b++) {
        want.push(pages[i].index * per + b);
        pageOfBlock.push(i);
      }
    }
    const disk: number[] = [];
    const run = fs.bmapRun(v.ino, want, disk);
    let err: Errno | undefined = run.error;
    // guest.fs.bmap for each block tried, as a call per block charged it (mapping reads no clock).
    for (let k = 0; k < run.mapped + (err === undefined ? 0 : 1); k++) charge(ctx, 'guest.fs.bmap');
    // This pass reached the page of the block that failed, or every page.
    const reached = err === undefined ? pages.length : pageOfBlock[run.mapped] + 1;
    for (let i = next; i < reached; i++) {
      const p = pages[i];
      const start = p.index * PAGE_SIZE;
      if (start < size && size < start + PAGE_SIZE) mem.fill(p.addr + (size - start), start + PAGE_SIZE - size, 0);
    }
    next = reached - (err === undefined ? 0 : 1);
    const fresh = run.fresh;
    const pieces: IoPiece[] = [];
    let mappedEnd = 0;
    for (let k = 0; k < run.mapped; k++) {
      const p = pages[pageOfBlock[k]];
      const b = want[k] - p.index * per;
      pieces.push({ sector: disk[k] * spb, addr: p.addr + b * bs, len: bs });
      mappedEnd = Math.min(size, p.index * PAGE_SIZE + (b + 1) * bs);
    }
    let grew = false;
    if (mappedEnd > diskSize) {
      const r = fs.setSize(v.ino, mappedEnd);
      if (E.isRight(r)) [diskSize, grew] = [mappedEnd, true];
      else err ??= r.left;
    }
    if (fresh || grew) {
      mnt.ordered.add(v);
      mnt.changed(v);
    }
    pieces.sort((a, b) => a.sector - b.sector);
    const bios = buildBios('write', pieces, { sync: wbc.syncMode === 'WB_SYNC_ALL' });
    if (bios.length > 0) {
      pending++;
      const latch = v.startIo();
      submitBios(task, dev, bios, (s) => {
        latch.countDown();
        end(s);
      }, false);
    }
    if (err === undefined) return;
    if (err === 'ENOSPC' && tries < WRITEBACK_RETRIES && fs.pendingFreeBlocks() > 0) {
      tries++;
      pending++;
      mnt.journal.commitAndWait(
        sleepThen(task, 'writepages: retry allocation', (e?: Errno) => {
          if (e) return end(pageStatusOf(e));
          pass();
          end('ok');
        }),
      );
      return;
    }
    if (status === 'ok') status = pageStatusOf(err);
  };
  pending++;
  pass();
  end('ok');
}
