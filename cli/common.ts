/** Helpers shared by the CLI commands: seeds, cost files, error output. */
import { readFileSync, writeFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { chromeTrace } from '../report/timeline.js';
import { CostModel, costErrorMessage } from '../sim/costs.js';
import type { TraceEvent } from '../sim/trace.js';
import { cmdlineErrorMessage, isHelp, parseQemuArgs } from '../vm/cmdline/index.js';
import { DEFAULT_VM_ARGS } from '../vm/default-vm.js';

export function fail(message: string): number {
  process.stderr.write(`iopath: ${message}\n`);
  return 1;
}

export function parseSeed(s: string): E.Either<string, number> {
  const n = Number(s);
  return Number.isSafeInteger(n) ? E.right(n) : E.left(`--seed expects an integer, got '${s}'`);
}

export function loadCosts(file: string | undefined): E.Either<string, CostModel> {
  if (file === undefined) return E.right(new CostModel());
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return E.left(`--costs ${file}: ${(e as Error).message}`);
  }
  return E.mapLeft((err: Parameters<typeof costErrorMessage>[0]) => `${file}: ${costErrorMessage(err)}`)(CostModel.fromJson(text));
}

/** What every simulating command needs: the VM's QEMU arguments (the default VM when none), a seed, a cost model. */
export interface RunInputs {
  args: string[];
  seed: number;
  costs: CostModel;
}

/**
 * Check the QEMU arguments, `--seed` and `--costs` of a command. Left is the exit code to
 * return at once: 0 after printing QEMU's help (`-device virtio-blk-pci,help`), 1 after
 * printing the error.
 */
export function runInputs(qemu: string[], opts: { seed: string; costs?: string }): E.Either<number, RunInputs> {
  const args = qemu.length > 0 ? qemu : [...DEFAULT_VM_ARGS];
  const parsed = parseQemuArgs(args);
  if (E.isLeft(parsed)) {
    if (isHelp(parsed.left)) {
      process.stdout.write(cmdlineErrorMessage(parsed.left) + '\n');
      return E.left(0);
    }
    return E.left(fail(cmdlineErrorMessage(parsed.left)));
  }
  const seed = parseSeed(opts.seed);
  if (E.isLeft(seed)) return E.left(fail(seed.left));
  const costs = loadCosts(opts.costs);
  if (E.isLeft(costs)) return E.left(fail(costs.left));
  return E.right({ args, seed: seed.right, costs: costs.right });
}

/** Write `--chrome-trace FILE`; returns an exit code when it failed. */
export function writeChromeTrace(file: string | undefined, events: readonly TraceEvent[]): number | undefined {
  if (file === undefined) return undefined;
  try {
    writeFileSync(file, JSON.stringify(chromeTrace(events)));
    return undefined;
  } catch (e) {
    return fail(`--chrome-trace ${file}: ${(e as Error).message}`);
  }
}
