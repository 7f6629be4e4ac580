/**
 * `iopath img <command> ...`: qemu-img's commands over iopath's block layer, with
 * qemu-img's options, output and exit codes (qemu-img 7.2). The arguments arrive as
 * typed; each command parses its own, as qemu-img does.
 */
import { runCheck } from './check.js';
import { runCommit } from './commit.js';
import { errorExit, printHelp } from './common.js';
import { runCompare } from './compare.js';
import { runConvert } from './convert.js';
import { runCreate } from './create.js';
import { runInfo } from './info.js';
import { runMap } from './map.js';
import { runRebase } from './rebase.js';
import { runResize } from './resize.js';
import { runSnapshot } from './snapshot.js';

/** A command: its argv, argv[0] being the command's name. Returns the exit status. */
type ImgCommand = (argv: readonly string[]) => number;

const COMMANDS: Readonly<Record<string, ImgCommand>> = {
  check: runCheck,
  commit: runCommit,
  compare: runCompare,
  convert: runConvert,
  create: runCreate,
  info: runInfo,
  map: runMap,
  rebase: runRebase,
  resize: runResize,
  snapshot: runSnapshot,
};

export function runImg(args: readonly string[]): number {
  const [cmd] = args;
  if (cmd === undefined) return errorExit('Not enough arguments');
  if (cmd === '-h' || cmd === '--help') return printHelp();
  const run = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!run) return cmd.startsWith('-') ? errorExit(`unrecognized option '${cmd}'`) : errorExit(`Command not found: ${cmd}`);
  return run(args);
}
