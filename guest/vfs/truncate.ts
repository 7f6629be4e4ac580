/**
 * Changing a file's size (ftruncate, O_TRUNC), holding its i_rwsem: the page cache first
 * (truncate_setsize + truncate_pagecache: pages past the end dropped once their writeback
 * is done, the tail of a partial last page zeroed and dirtied, so the zeroes reach the
 * disk — the page is read in first if it is not cached, block_truncate_page's job), then
 * the file system (blocks past the end freed, i_size set; growing leaves a hole).
 */
import * as E from 'fp-ts/lib/Either.js';
import { PAGE_SIZE } from '../../hw/memory.js';
import type { Task } from '../kernel/task.js';
import { charge, type VfsContext } from './context.js';
import type { Errno } from './errno.js';
import type { VfsInode } from './inode.js';
import { once } from './wait.js';

export function truncateInode(ctx: VfsContext, task: Task, v: VfsInode, size: number, done: (err?: Errno) => void): void {
  const mnt = v.mnt;
  const mapping = v.mapping;
  if (!mapping) return done('EISDIR');
  if (!Number.isSafeInteger(size) || size < 0) return done('EINVAL');
  if (size > mnt.maxFileSize) return done('EFBIG');
  if (!mnt.writable) return done('EROFS');
  v.lock.acquire(task, () => {
    const finish = (err?: Errno): void => {
      v.lock.release();
      done(err);
    };
    const cut = (): void =>
      once(ctx.cache.truncate(task, mapping, size), () => {
        charge(ctx, 'guest.fs.op');
        const r = mnt.fs.truncate(v.ino, size);
        if (E.isLeft(r)) return finish(r.left);
        mnt.changed(v);
        finish();
      });
    const partial = size % PAGE_SIZE !== 0 && size < mapping.size && !mapping.pages.has(Math.floor(size / PAGE_SIZE));
    if (!partial) return cut();
    // block_truncate_page: bring the partial last page in so its tail is zeroed on the disk too.
    const scratch = ctx.kernel.alloc.alloc(8);
    once(ctx.cache.read(task, mapping, size, 1, scratch), () => {
      ctx.kernel.alloc.free(scratch, 8);
      cut();
    });
  });
}
