/**
 * The guest's file system against a model, through the whole path: random sequences of
 * system calls — open/creat, write/pwrite, read/pread, ftruncate, fsync/fdatasync, close,
 * unlink, rename, mkdir, rmdir, readdir, stat, fsync of a directory, drop_caches and
 * remount — made by a guest process on ext3 over virtio-blk (/dev/vda), and over virtio-scsi
 * and scsi-hd (/dev/sda), on a raw image in memory and on a raw image in a real host file
 * (`-drive file=…,format=raw`). The model
 * (fs-model/model.ts) is a Map of paths to bytes and directories; each command
 * (fs-model/commands/, one per file, fast-check's model-based layout) says what its call
 * must return and checks it.
 *
 * After the sequence: a remount, then the whole tree read back through the guest equals
 * the model, and after umount fsck finds nothing wrong with the image.
 *
 * Failures print fast-check's seed and path (and the simulation seed is the first input).
 * Runs: 60 per back end over virtio-blk, 20 over virtio-scsi (IOPATH_DEEP=1: ten times as
 * many), up to 50 commands each.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { DEEP, runs } from './support/vm.js';
import { fsCommands } from './fs-model/commands/index.js';
import { RemountCommand } from './fs-model/commands/remount.js';
import { FsModel } from './fs-model/model.js';
import { bootFs } from './fs-model/real.js';
import { checkFsck, checkTreeEqualsModel, readTree } from './fs-model/tree.js';
import { DISK, fsBackends } from './fs-model/backends.js';

const FRONTENDS = [
  { frontend: 'virtio-blk', runs: runs(60), backends: fsBackends('iopath-fsmodel-') },
  { frontend: 'virtio-scsi', runs: runs(20), backends: fsBackends('iopath-fsmodel-scsi-', 'virtio-scsi') },
] as const;

/** The deep profile runs ten times as long as vitest's default timeout allows. */
const DEEP_TIMEOUT = DEEP ? 60 * 60_000 : undefined;

describe.each(FRONTENDS)('the guest file system behaves as the model says, through $frontend', ({ runs: RUNS, backends }) => {
  for (const b of backends) {
    it(b.name, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.commands(fsCommands({ remount: true, sleepNs: 0 }), { maxCommands: 50, size: 'medium' }), (seed, cmds) => {
          const real = bootFs(b.args(), seed, true, b.device);
          const model = new FsModel();
          fc.modelRun(() => ({ model, real }), cmds);
          new RemountCommand().run(model, real);
          checkTreeEqualsModel(model, readTree(real));
          real.call(real.sys.umount(real.task, '/mnt'), 'umount');
          checkFsck(real, 'd0', DISK);
        }),
        { numRuns: RUNS },
      );
    }, DEEP_TIMEOUT);
  }
});
