/** What the CLI tests share: capturing a command's output, and golden files (QEMU iotests' `.out` idea). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, vi } from 'vitest';

/** Run a command function, capturing what it writes to stdout and stderr. */
export function capture(fn: () => number): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: fn(), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** Compare `text` with `cli/golden/<name>`; IOPATH_UPDATE_GOLDEN=1 rewrites it after a deliberate change. */
export function golden(name: string, text: string): void {
  const file = join(__dirname, 'golden', name);
  if (process.env.IOPATH_UPDATE_GOLDEN === '1') writeFileSync(file, text);
  if (!existsSync(file)) throw new Error(`golden file ${name} is missing: run with IOPATH_UPDATE_GOLDEN=1 to create it`);
  expect(text).toBe(readFileSync(file, 'utf8'));
}
