/**
 * Crash consistency of the guest's ext3 through virtio-blk (/dev/vda) and through
 * virtio-scsi and scsi-hd (/dev/sda): random sequences of system
 * calls (fs-model/commands, with sleeps so the flusher and the journal's commit timer run)
 * on a raw image in memory and on a real host file, then a power cut at a random
 * instant — during a call, between calls, or while writeback and commits are in flight
 * (vm/power.ts `powerCut`: guest memory, queued requests and the host's unflushed caches
 * are lost) — then a reboot on the same storage and a mount (the journal is replayed).
 *
 * Properties (fs-model/crash-check.ts):
 * - fsck finds nothing wrong with the image, before the mount (replaying the journal on a
 *   copy, as e2fsck does) and after the mount and an umount;
 * - every file whose fsync returned holds that content, or what later calls made of it;
 * - a directory entry survives once its directory was fsynced (and the directories above);
 * - no byte that was never written to a file appears in it; nothing appears that was never
 *   there.
 *
 * The drive is `cache=writeback` (QEMU's default): what the guest did not flush is lost.
 * Failures print fast-check's seed and path; the first input is the simulation's seed.
 * Runs: 60 per back end over virtio-blk, 20 over virtio-scsi (IOPATH_DEEP=1: ten times as
 * many), up to 40 commands each.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, it } from 'vitest';
import { vmErrorMessage } from '../vm/errors.js';
import { powerCut, reboot } from '../vm/power.js';
import { DEEP, runs } from './support/vm.js';
import { fsCommands } from './fs-model/commands/index.js';
import { checkAfterCrash } from './fs-model/crash-check.js';
import { FsModel } from './fs-model/model.js';
import { FsReal, PowerCut, bootFs, mountOn } from './fs-model/real.js';
import { checkFsck, readTree } from './fs-model/tree.js';
import { guestOs } from '../report/file-experiment.js';
import { DISK, fsBackends } from './fs-model/backends.js';

const FRONTENDS = [
  { frontend: 'virtio-blk', runs: runs(60), backends: fsBackends('iopath-fscrash-') },
  { frontend: 'virtio-scsi', runs: runs(20), backends: fsBackends('iopath-fscrash-scsi-', 'virtio-scsi') },
] as const;

/**
 * When the power goes: up to 60 µs after the start of the nth call (so inside a write, an
 * fsync, a rename… or just after it), or at an instant after the mount (in the first calls,
 * or during the sleeps, while the flusher and the journal work). A cut not reached by the
 * end of the sequence happens after it, once that much time has gone by.
 */
type Cut = { call: number; delayNs: number } | { atNs: number };
const cutArb: fc.Arbitrary<Cut> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ call: fc.integer({ min: 1, max: 30 }), delayNs: fc.integer({ min: 0, max: 60_000 }) }) },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: 0, max: 20e9 })).map((atNs) => ({ atNs })) },
);

/** The deep profile runs ten times as long as vitest's default timeout allows. */
const DEEP_TIMEOUT = DEEP ? 60 * 60_000 : undefined;

describe.each(FRONTENDS)('after a power cut, the guest file system holds what fsync promised and nothing that was never written ($frontend)', ({ runs: RUNS, backends }) => {
  for (const b of backends) {
    it(b.name, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.commands(fsCommands({ remount: false, sleepNs: 8e9 }), { maxCommands: 40, size: 'medium' }), cutArb, (seed, cmds, cut) => {
          const real = bootFs(b.args(), seed, true, b.device);
          const model = new FsModel();
          const waitNs = 'atNs' in cut ? cut.atNs : cut.delayNs;
          if ('atNs' in cut) real.cutAt = real.m.sim.now + cut.atNs;
          else real.cutAfterCall = cut;
          try {
            fc.modelRun(() => ({ model, real }), cmds);
            real.cutAt ??= real.m.sim.now + waitNs;
            real.sleep(waitNs + 1);
          } catch (e) {
            if (!(e instanceof PowerCut)) throw e;
          }
          powerCut(real.m);
          const m2 = reboot(real.m);
          if (E.isLeft(m2)) throw new Error(`reboot: ${vmErrorMessage(m2.left)}`);
          const os2 = guestOs(m2.right);
          if (E.isLeft(os2)) throw new Error(os2.left);
          const after = new FsReal(m2.right, os2.right, os2.right.spawn('after-crash', 0), b.device);
          checkFsck(after, 'd0', DISK);
          mountOn(after, false);
          checkAfterCrash(model, readTree(after));
          after.call(after.sys.umount(after.task, '/mnt'), 'umount');
          checkFsck(after, 'd0', DISK);
        }),
        { numRuns: RUNS },
      );
    }, DEEP_TIMEOUT);
  }
});
