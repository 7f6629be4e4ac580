/**
 * Test support for the `iopath img` interop suites: one command line run by the real
 * qemu-img in one directory and by `iopath img` in its twin, both starting from the same
 * files; what each printed, its exit status and the files it left.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../test-support.js';
import { runImg } from './index.js';

/** One side's outcome. */
export interface Run {
  readonly out: string;
  readonly err: string;
  readonly code: number;
  readonly files: Record<string, Buffer>;
}

/** Every file of `dir` by name, in name order (`map` may mask what the run may vary). */
export function dirFiles(dir: string, map: (b: Buffer) => Buffer = (b) => b): Record<string, Buffer> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, map(readFileSync(join(dir, f)))]),
  );
}

/** A tool run in `cwd` that must succeed (making templates). */
export function runTool(cwd: string, tool: string, args: string[]): void {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${r.stderr}`);
}

/**
 * Twin directories under `base` (q for qemu-img, o for iopath), each filled by `fill`; then
 * `args` run by each in its own; `files` reads what each left.
 */
export function runTwins(base: string, args: string[], fill: (dir: string) => void, files: (dir: string) => Record<string, Buffer> = dirFiles): { theirs: Run; ours: Run } {
  const q = join(base, 'q');
  const o = join(base, 'o');
  for (const d of [q, o]) {
    mkdirSync(d, { recursive: true });
    fill(d);
  }
  const r = spawnSync('qemu-img', args, { cwd: q, encoding: 'utf8' });
  const theirs = { out: r.stdout, err: r.stderr, code: r.status ?? -1, files: files(q) };
  const cwd = process.cwd();
  process.chdir(o);
  let c: { code: number; out: string; err: string };
  try {
    c = capture(() => runImg(args));
  } finally {
    process.chdir(cwd);
  }
  return { theirs, ours: { ...c, files: files(o) } };
}

/** Command texts as argument lists. */
export const argLines = (cmds: string[]): string[][] => cmds.map((c) => c.split(' ').filter((w) => w !== ''));
