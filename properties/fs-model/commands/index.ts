/** Every command of the file-system suites, and the arbitraries that make them. */
import fc from 'fast-check';
import { dirArb, handleArb, lengthArb, listArb, offsetArb, pathArb } from '../arbitraries.js';
import type { FsModel } from '../model.js';
import type { FsReal } from '../real.js';
import { CloseCommand } from './close.js';
import { DropCachesCommand } from './drop-caches.js';
import { FsyncDirCommand } from './fsync-dir.js';
import { FsyncCommand } from './fsync.js';
import { MkdirCommand } from './mkdir.js';
import { OpenCommand } from './open.js';
import { ReadCommand } from './read.js';
import { ReaddirCommand } from './readdir.js';
import { RemountCommand } from './remount.js';
import { RenameCommand } from './rename.js';
import { RmdirCommand } from './rmdir.js';
import { SleepCommand } from './sleep.js';
import { StatCommand } from './stat.js';
import { TruncateCommand } from './truncate.js';
import { UnlinkCommand } from './unlink.js';
import { WriteCommand } from './write.js';

export type FsCommand = fc.Command<FsModel, FsReal>;

export interface CommandMix {
  /** Include remount (umount + mount). */
  remount: boolean;
  /** Include sleeps of up to this many ns (0: none). */
  sleepNs: number;
}

const flagsArb = fc.record({
  creat: fc.boolean(),
  excl: fc.boolean(),
  trunc: fc.boolean(),
  append: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** The commands, weighted toward what changes data and names. */
export function fsCommands(mix: CommandMix): fc.Arbitrary<FsCommand>[] {
  // fc.commands picks among its arbitraries uniformly: a weight is that many copies.
  const w = (weight: number, arbitrary: fc.Arbitrary<FsCommand>): fc.Arbitrary<FsCommand>[] => Array(weight).fill(arbitrary);
  const list: fc.Arbitrary<FsCommand>[][] = [
    w(4, fc.tuple(pathArb, flagsArb).map(([p, f]) => new OpenCommand(p, { ...f, creat: f.creat || !f.excl }))),
    w(6, fc.tuple(handleArb, fc.boolean(), offsetArb, lengthArb, fc.nat()).map(([h, p, o, l, s]) => new WriteCommand(h, p, o, l, s))),
    w(3, fc.tuple(handleArb, fc.boolean(), offsetArb, lengthArb).map(([h, p, o, l]) => new ReadCommand(h, p, o, l))),
    w(1, fc.tuple(handleArb, offsetArb).map(([h, l]) => new TruncateCommand(h, l))),
    w(2, fc.tuple(handleArb, fc.boolean()).map(([h, d]) => new FsyncCommand(h, d))),
    w(1, handleArb.map((h) => new CloseCommand(h))),
    w(1, pathArb.map((p) => new UnlinkCommand(p))),
    w(2, fc.tuple(pathArb, pathArb).map(([a, b]) => new RenameCommand(a, b))),
    w(2, dirArb.map((p) => new MkdirCommand(p))),
    w(1, dirArb.map((p) => new RmdirCommand(p))),
    w(1, listArb.map((p) => new ReaddirCommand(p))),
    w(1, pathArb.map((p) => new StatCommand(p))),
    w(1, listArb.map((p) => new FsyncDirCommand(p))),
    w(1, fc.constant(new DropCachesCommand())),
  ];
  if (mix.remount) list.push(w(1, fc.constant(new RemountCommand())));
  if (mix.sleepNs > 0) list.push(w(1, fc.integer({ min: 1, max: mix.sleepNs }).map((ns) => new SleepCommand(ns))));
  return list.flat();
}
