/**
 * Making data durable: fsync / fdatasync (ext4_sync_file), the O_SYNC / O_DSYNC tail of a
 * write, and sync(2).
 *
 * fsync of a file: its dirty pages are written and waited for (file_write_and_wait_range,
 * which also reports a writeback error once per open file description); then, if the
 * inode has a metadata change not yet committed (new blocks, a larger i_size, a
 * truncate), the journal commits the transaction that carries it; finally the device's
 * write cache is flushed — unless a commit that started after the data was written
 * already did (its barriers flush everything completed before them). fdatasync is the
 * same here: the file system records no metadata a read would not need (timestamps of
 * writes are not updated). fsync of a directory commits whatever is running.
 */
import * as E from 'fp-ts/lib/Either.js';
import { flushBio } from '../blockdev/bio.js';
import type { Task } from '../kernel/task.js';
import type { ByteRange } from '../pagecache/types.js';
import { submitBios } from './bios.js';
import type { VfsContext } from './context.js';
import { blkErrno, type Errno } from './errno.js';
import type { OpenFile } from './file.js';
import type { MountedFs } from './mounted-fs.js';
import { once, sleepThen } from './wait.js';

/** Commit up to journal commit `seq`, then flush the device unless a commit after now did. */
export function commitAndFlush(task: Task, mnt: MountedFs, seq: number, done: (err?: Errno) => void): void {
  const j = mnt.journal;
  const t0 = j.started;
  const flush = (): void => {
    if (j.lastBarrier > t0 || !mnt.dev.limits.writeCache) return done();
    submitBios(task, mnt.dev, [flushBio()], (st) => done(blkErrno(st)));
  };
  if (seq <= j.committed) return flush();
  j.waitFor(seq, sleepThen(task, 'fsync: committed', (err?: Errno) => (err ? done(err) : flush())));
}

/** fsync / fdatasync of `f` (its whole file, or `range`: the O_SYNC tail of a write). */
export function fsyncFile(ctx: VfsContext, task: Task, f: OpenFile, range: ByteRange | undefined, done: (err?: Errno) => void): void {
  const v = f.inode;
  if (!v) return done();
  const mnt = v.mnt;
  if (v.kind === 'dir' || !v.mapping || !f.wbErr) return commitAndFlush(task, mnt, mnt.journal.started + 1, done);
  once(ctx.cache.fileWriteAndWait(task, v.mapping, range ?? { start: 0 }, f.wbErr), (r) => {
    const dataErr = E.isLeft(r) ? r.left : undefined;
    commitAndFlush(task, mnt, v.metaSeq, (err) => done(dataErr ?? err));
  });
}

/** sync(2): every dirty page written, every journal committed, every device flushed; always succeeds. */
export function syncAll(ctx: VfsContext, task: Task, done: () => void): void {
  once(ctx.cache.sync(task), () => {
    const mounts = ctx.ns.mounted;
    let left = mounts.length + 1;
    const one = (): void => {
      if (--left === 0) done();
    };
    for (const m of mounts) commitAndFlush(task, m, m.journal.started + 1, one);
    one();
  });
}
