/** Helpers shared by the CLI commands: seeds, cost files, error output. */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { CostModel, costErrorMessage } from '../sim/costs.js';

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
