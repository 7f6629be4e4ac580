/** The commands of the model-based test, as fast-check arbitraries. */
import fc from 'fast-check';
import type { Command } from 'fast-check';
import { CrashCommand } from './crash.js';
import { CreateCommand } from './create.js';
import { LinkCommand } from './link.js';
import type { FsModel, Real } from './model.js';
import { RemountCommand } from './remount.js';
import { RenameCommand } from './rename.js';
import { RmdirCommand } from './rmdir.js';
import { SyncCommand } from './sync.js';
import { UnlinkCommand } from './unlink.js';
import { WriteSizeCommand } from './write-size.js';

export { newModel, type FsModel, type Real } from './model.js';

/** Paths over a small alphabet, so that operations collide often. */
const depth = (n: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: n, maxLength: n }).map((cs) => `/${cs.join('/')}`);
export const pathArb = fc.oneof({ weight: 3, arbitrary: depth(1) }, { weight: 3, arbitrary: depth(2) }, { weight: 1, arbitrary: depth(3) });

export function fsCommands(maxSize: number): fc.Arbitrary<Command<FsModel, Real>>[] {
  const create = pathArb.map((p) => new CreateCommand(p, 'file'));
  const mkdir = pathArb.map((p) => new CreateCommand(p, 'dir'));
  const write = fc.tuple(pathArb, fc.nat({ max: maxSize }), fc.constantFrom(1, 1, 3, 50)).map(([p, s, k]) => new WriteSizeCommand(p, s, k));
  return [
    create,
    create,
    mkdir,
    mkdir,
    write,
    write,
    fc.tuple(pathArb, pathArb).map(([a, b]) => new LinkCommand(a, b)),
    pathArb.map((p) => new UnlinkCommand(p)),
    pathArb.map((p) => new RmdirCommand(p)),
    fc.tuple(pathArb, pathArb).map(([a, b]) => new RenameCommand(a, b)),
    fc.constant(new SyncCommand()),
    fc.constant(new RemountCommand()),
    fc.double({ min: 0, max: 1, noNaN: true }).map((c) => new CrashCommand(c)),
  ];
}
