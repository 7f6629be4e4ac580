/**
 * O_DIRECT reads and writes (iomap / fs/direct-io.c): the user buffer goes to the disk
 * with no page-cache copy. The buffer's address, the file offset and the length must be
 * multiples of the device's logical block size (EINVAL). Dirty cached pages of the range
 * are written back first; a write also drops the cached pages before and after it, so
 * buffered readers never see stale data.
 *
 * Reads stop at i_size (short count) and read holes as zeroes. Writes allocate blocks
 * (retrying after a commit when freed blocks are pending; a write that still finds no
 * room is cut short, or fails with ENOSPC); the parts of a fresh block the write does not
 * cover are written with zeroes, and the on-disk i_size grows in the same step (the
 * in-memory i_size once the write is done). Like writeback, a
 * write that allocated or grew the file is ordered: the commit waits for it.
 * The caller holds the inode's lock for writes.
 */
import * as E from 'fp-ts/lib/Either.js';
import { SECTOR_SIZE } from '../blockdev/bio.js';
import type { Task } from '../kernel/task.js';
import { buildBios, submitBios, type IoPiece } from './bios.js';
import { charge, type VfsContext } from './context.js';
import type { Errno } from './errno.js';
import type { VfsInode } from './inode.js';
import type { Done } from './syscall.js';
import { fail, ok } from './syscall.js';
import type { UserBuf } from './syscalls-api.js';
import { once, sleepThen } from './wait.js';

const ALLOC_RETRIES = 3;

export function directIo(ctx: VfsContext, task: Task, v: VfsInode, write: boolean, buf: UserBuf, pos: number, done: Done<number>): void {
  const mapping = v.mapping;
  if (!mapping) return done(fail('EISDIR'));
  const lbs = v.mnt.dev.limits.logicalBlockSize;
  const len = buf.len;
  if (buf.addr % lbs !== 0 || pos % lbs !== 0 || len % lbs !== 0) return done(fail('EINVAL'));
  if (len === 0) return done(ok(0));
  const range = { start: pos, end: pos + len };
  once(ctx.cache.writebackAndWait(task, mapping, range), (wb) => {
    if (E.isLeft(wb)) return done(wb);
    if (!write) return directRead(ctx, task, v, buf, pos, done);
    // A page dirtied again meanwhile stays (EBUSY): the race is the caller's, as in Linux.
    once(ctx.cache.invalidateRange(task, mapping, range), () => directWrite(ctx, task, v, buf, pos, done));
  });
}

function directRead(ctx: VfsContext, task: Task, v: VfsInode, buf: UserBuf, pos: number, done: Done<number>): void {
  const { fs, dev } = v.mnt;
  const size = v.size;
  if (pos >= size) return done(ok(0));
  const n = Math.min(buf.len, size - pos);
  const lbs = dev.limits.logicalBlockSize;
  const end = pos + Math.ceil(n / lbs) * lbs;
  const bs = v.mnt.blockSize;
  const pieces: IoPiece[] = [];
  for (let fb = Math.floor(pos / bs); fb * bs < end; fb++) {
    const a = Math.max(pos, fb * bs);
    const b = Math.min(end, (fb + 1) * bs);
    charge(ctx, 'guest.fs.bmap');
    const r = fs.bmap(v.ino, fb, false);
    if (E.isLeft(r)) return done(r);
    const user = buf.addr + (a - pos);
    if (r.right.block === 0) ctx.kernel.mem.fill(user, b - a, 0);
    else pieces.push({ sector: (r.right.block * bs + (a - fb * bs)) / SECTOR_SIZE, addr: user, len: b - a });
  }
  pieces.sort((x, y) => x.sector - y.sector);
  submitBios(task, dev, buildBios('read', pieces, { sync: true }), (st) => done(st === 'ok' ? ok(n) : fail('EIO')));
}

function directWrite(ctx: VfsContext, task: Task, v: VfsInode, buf: UserBuf, pos: number, done: Done<number>, tries = 0, freshSeen = new Set<number>()): void {
  const mnt = v.mnt;
  const { fs, dev } = mnt;
  const bs = mnt.blockSize;
  const end = pos + buf.len;
  const pieces: IoPiece[] = [];
  let err: Errno | undefined;
  let mappedEnd = pos;
  for (let fb = Math.floor(pos / bs); fb * bs < end; fb++) {
    charge(ctx, 'guest.fs.bmap');
    const r = fs.bmap(v.ino, fb, true);
    if (E.isLeft(r)) {
      err = r.left;
      break;
    }
    if (r.right.fresh) freshSeen.add(fb);
    const blockSector = (r.right.block * bs) / SECTOR_SIZE;
    const a = Math.max(pos, fb * bs);
    const b = Math.min(end, (fb + 1) * bs);
    const zero = (from: number, to: number): void => {
      if (to > from) pieces.push({ sector: blockSector + (from - fb * bs) / SECTOR_SIZE, addr: mnt.zeroBlock() + (from - fb * bs), len: to - from });
    };
    if (freshSeen.has(fb)) zero(fb * bs, a);
    pieces.push({ sector: blockSector + (a - fb * bs) / SECTOR_SIZE, addr: buf.addr + (a - pos), len: b - a });
    if (freshSeen.has(fb)) zero(b, (fb + 1) * bs);
    mappedEnd = b;
  }
  if (err === 'ENOSPC' && tries < ALLOC_RETRIES && fs.pendingFreeBlocks() > 0) {
    mnt.journal.commitAndWait(sleepThen(task, 'dio: retry allocation', (e?: Errno) => (e ? done(fail(e)) : directWrite(ctx, task, v, buf, pos, done, tries + 1, freshSeen))));
    return;
  }
  const n = mappedEnd - pos;
  if (n === 0) return done(fail(err ?? 'EIO'));
  const st = fs.statIno(v.ino);
  if (E.isLeft(st)) return done(st);
  let grew = false;
  if (mappedEnd > st.right.size) {
    const r = fs.setSize(v.ino, mappedEnd);
    if (E.isLeft(r)) return done(r);
    grew = true;
  }
  if (freshSeen.size > 0 || grew) {
    mnt.ordered.add(v);
    mnt.changed(v);
  }
  pieces.sort((x, y) => x.sector - y.sector);
  const latch = v.startIo();
  submitBios(task, dev, buildBios('write', pieces, { sync: true }), (status) => {
    latch.countDown();
    const m = v.mapping;
    // i_size grows once the data is on the disk (ext4's end_io), so no reader sees the new
    // blocks before they hold it. The size on disk grew with the allocation: the commit
    // that carries it waits for these writes (ordered).
    if (m && mappedEnd > m.size) m.size = mappedEnd;
    const result = status === 'ok' ? ok(n) : fail<number>('EIO');
    if (!m) return done(result);
    once(ctx.cache.invalidateRange(task, m, { start: pos, end: pos + n }), () => done(result));
  });
}
