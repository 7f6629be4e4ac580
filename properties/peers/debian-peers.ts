/**
 * The real Debian tools iopath is tested against (qemu-img, qemu-io from qemu-utils; zstd).
 * In CI (`IOPATH_REQUIRE_PEERS=1`, set by .ci/run) a missing tool fails the suite; on a
 * developer machine without it the interop tests skip, saying why.
 */
import { spawnSync } from 'node:child_process';

export function havePeer(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Run a peer tool; throws with its output when it fails. */
export function runPeer(tool: string, args: string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * Whether the interop suite for `tools` runs here. Prints the reason when it skips; throws
 * when the peers are required (CI) and missing.
 */
/** The Debian package each peer tool comes from (.ci/run installs them). */
const PACKAGE: Readonly<Record<string, string>> = { 'qemu-img': 'qemu-utils', 'qemu-io': 'qemu-utils', 'qemu-nbd': 'qemu-utils', zstd: 'zstd', e2fsck: 'e2fsprogs' };

export function peersAvailable(...tools: string[]): boolean {
  const missing = tools.filter((t) => !havePeer(t));
  if (missing.length === 0) return true;
  const packages = [...new Set(missing.map((t) => PACKAGE[t] ?? t))];
  const msg = `interop: ${missing.join(', ')} not found (Debian package${packages.length > 1 ? 's' : ''} ${packages.join(', ')})`;
  if (process.env.IOPATH_REQUIRE_PEERS === '1') throw new Error(`${msg}, and IOPATH_REQUIRE_PEERS=1 requires it`);
  console.warn(`${msg}: skipping the interop tests`);
  return false;
}
