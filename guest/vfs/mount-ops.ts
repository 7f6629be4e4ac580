/**
 * mount, umount, mkfs.ext3 and drop_caches.
 *
 * mount: the device path must name one of the guest's block devices (ENOENT; ENOTBLK for
 * a path outside /dev) that is not mounted (EBUSY); the mount point an existing directory
 * that is not one already (EBUSY). guest/fs mounts it over the device (the journal is
 * replayed there); a refusal is logged (a `note` event, the kernel's words) and returned
 * as its errno. Then the orphans a crash left in lost+found are deleted, as
 * ext4_orphan_cleanup does.
 *
 * umount: EBUSY while a file is open on it or something is mounted below it; otherwise
 * every dirty page of its files is written and waited for, their pages dropped, and the
 * journal's last plan issued (commit, checkpoint, clean superblock).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import { mkfs, mount, type MkfsOptions } from '../fs/index.js';
import type { Task } from '../kernel/task.js';
import { BdevBlockIo } from './bdev-io.js';
import { charge, printk, realtime, type VfsContext } from './context.js';
import type { Errno } from './errno.js';
import { MountedFs } from './mounted-fs.js';
import { fail, ok, type Done } from './syscall.js';
import type { MkfsDeviceOptions } from './syscalls-api.js';
import { once, sleepThen } from './wait.js';

/** The block device at `path`: ENOENT for a missing /dev entry, ENOTBLK for any other path. */
function device(ctx: VfsContext, path: string): E.Either<Errno, GuestBlockDevice> {
  const dev = ctx.devices.get(path);
  // Claimed by a device-mapper map (a multipath path): the exclusive open fails.
  if (dev) return dev.holder === undefined ? E.right(dev) : E.left('EBUSY');
  return E.left(path.startsWith('/dev/') ? 'ENOENT' : 'ENOTBLK');
}

export function mountDevice(ctx: VfsContext, task: Task, devPath: string, dir: string, done: Done<void>): void {
  const d = device(ctx, devPath);
  if (E.isLeft(d)) return done(d);
  const at = ctx.ns.resolve(dir);
  if (E.isLeft(at)) return done(at);
  charge(ctx, 'guest.vfs.path', at.right.components);
  const point = at.right;
  if (point.kind === 'rootfs' && !ctx.ns.rootDir(point.path)) return done(fail('ENOENT'));
  if (point.kind === 'fs') {
    const st = point.mnt.fs.stat(point.rel);
    if (E.isLeft(st)) return done(st);
    if (st.right.kind !== 'dir') return done(fail('ENOTDIR'));
  }
  if (ctx.ns.mountOf(devPath) || ctx.ns.mountAt(point.path)) return done(fail('EBUSY'));
  const io = new BdevBlockIo(ctx.kernel, d.right);
  const name = d.right.name;
  once(mount(io.forTask(task), { now: () => realtime(ctx) }), (r) =>
    task.run('mount: done', () => {
      if (E.isLeft(r)) {
        printk(ctx, 'guest ext3', `EXT4-fs (${name}): ${r.left.message}`);
        return done(fail(r.left.errno));
      }
      if (ctx.ns.mountOf(devPath) || ctx.ns.mountAt(point.path)) return done(fail('EBUSY'));
      const fs = r.right;
      for (const w of fs.info.warnings) printk(ctx, 'guest ext3', `EXT4-fs (${name}): ${w}`);
      if (fs.info.replayedTransactions > 0) printk(ctx, 'guest ext3', `EXT4-fs (${name}): recovery complete (${fs.info.replayedTransactions} transactions replayed)`);
      const mnt = new MountedFs(ctx, devPath, d.right, point.path, fs, io);
      cleanOrphans(mnt);
      ctx.ns.add(mnt);
      printk(ctx, 'guest ext3', `EXT4-fs (${name}): mounted filesystem with ordered data mode`);
      done(ok(undefined));
    }),
  );
}

/** Delete what was unlinked while open when the system went down (ext4_orphan_cleanup). */
function cleanOrphans(mnt: MountedFs): void {
  if (mnt.fs.readOnly) return;
  const list = mnt.fs.readdir('/lost+found');
  if (E.isLeft(list)) return;
  for (const e of list.right) {
    if (!/^\.orphan-\d+$/.test(e.name)) continue;
    if (E.isRight(mnt.fs.unlink(`/lost+found/${e.name}`))) mnt.changed();
  }
}

export function umountDir(ctx: VfsContext, task: Task, dir: string, done: Done<void>): void {
  const n = ctx.ns.resolve(dir);
  if (E.isLeft(n)) return done(n);
  const mnt = ctx.ns.mountAt(n.right.path);
  if (!mnt) return done(fail('EINVAL'));
  const busy = (): boolean => [...mnt.inodes.values()].some((v) => v.opens > 0) || ctx.ns.mountsBelow(mnt.dir).length > 0;
  if (busy()) return done(fail('EBUSY'));
  const files = [...mnt.inodes.values()].flatMap((v) => (v.mapping ? [v.mapping] : []));
  let left = files.length + 1;
  const written = (): void => {
    if (--left > 0) return;
    task.run('umount: pages written', () => {
      if (busy()) return done(fail('EBUSY'));
      ctx.ns.remove(mnt);
      const maps = [...mnt.inodes.values()].flatMap((v) => (v.mapping ? [v.mapping] : []));
      mnt.inodes.clear();
      let drops = maps.length + 1;
      const dropped = (): void => {
        if (--drops > 0) return;
        mnt.journal.shutdown(
          () => mnt.fs.umount(),
          sleepThen(task, 'umount: done', (err?: Errno) => done(err ? fail(err) : ok(undefined))),
        );
      };
      for (const m of maps) once(ctx.cache.releaseMapping(task, m), dropped);
      dropped();
    });
  };
  for (const m of files) once(ctx.cache.writeback(task, m, { start: 0 }, 'WB_SYNC_ALL'), written);
  written();
}

/** mke2fs's default journal size for a file system of `blocks` blocks (ext2fs_default_journal_size). */
export function defaultJournalBlocks(blocks: number): number | undefined {
  if (blocks < 2048) return undefined;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  return 32768;
}

export function mkfsDevice(ctx: VfsContext, task: Task, devPath: string, o: MkfsDeviceOptions, done: Done<void>): void {
  const d = device(ctx, devPath);
  if (E.isLeft(d)) return done(d);
  if (ctx.ns.mountOf(devPath)) return done(fail('EBUSY'));
  const io = new BdevBlockIo(ctx.kernel, d.right);
  const bs = o.blockSize ?? 4096;
  if (bs < d.right.limits.logicalBlockSize) return done(fail('EINVAL'));
  const blocks = o.blocks ?? Math.floor(io.sizeBytes / bs);
  const opts: MkfsOptions = {
    sizeBlocks: blocks,
    blockSize: bs,
    inodes: o.inodes,
    journalBlocks: o.journalBlocks ?? defaultJournalBlocks(blocks),
    inodeSize: o.inodeSize,
    volumeName: o.volumeName,
    now: realtime(ctx),
  };
  once(mkfs(io.forTask(task), opts), (r) => {
    if (E.isLeft(r)) printk(ctx, 'guest mkfs', `mkfs.ext3: ${r.left.message}`);
    done(E.isLeft(r) ? fail(r.left.errno) : ok(undefined));
  });
}

/** echo what > /proc/sys/vm/drop_caches: 1 clean pages, 2 unused inodes (and their empty mappings), 3 both. */
export function dropCaches(ctx: VfsContext, task: Task, what: number, done: Done<void>): void {
  if (what !== 1 && what !== 2 && what !== 3) return done(fail('EINVAL'));
  if (what & 1) ctx.cache.dropCaches();
  if (!(what & 2)) return done(ok(undefined));
  const idle = ctx.ns.mounted.flatMap((mnt) =>
    [...mnt.inodes.values()].filter((v) => v.opens === 0 && !v.orphan && (!v.mapping || v.mapping.nrPages === 0)),
  );
  let left = idle.length + 1;
  const one = (): void => {
    if (--left === 0) done(ok(undefined));
  };
  for (const v of idle) {
    v.mnt.inodes.delete(v.ino);
    if (v.mapping) once(ctx.cache.releaseMapping(task, v.mapping), one);
    else one();
  }
  one();
}
