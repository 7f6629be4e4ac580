/**
 * Helpers for tests that boot a VM: boot from QEMU arguments (throwing on a bad spec, as
 * test code may), a sparse raw image on the host, and Debian e2fsprogs' `e2fsck -fn` on
 * it — skipped, saying why, where e2fsprogs is missing, and required when
 * IOPATH_REQUIRE_PEERS=1 (CI).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Task } from '../guest/kernel/task.js';
import { O_CREAT, O_RDONLY, O_WRONLY } from '../guest/vfs/syscalls-api.js';
import { parseQemuArgs } from './cmdline/index.js';
import { startMachine, type Machine } from './machine.js';
import { sysOk } from './run-sys.js';

/** Boot a machine from QEMU arguments, recording its trace. */
export function bootVm(args: readonly string[], seed = 5): Machine {
  const spec = parseQemuArgs(args);
  if (E.isLeft(spec)) throw new Error(JSON.stringify(spec.left));
  const m = startMachine(spec.right, { seed, record: true });
  if (E.isLeft(m)) throw new Error(JSON.stringify(m.left));
  return m.right;
}

/** 256 MiB of RAM and a virtio-blk disk over the raw image `image`. */
export const vmArgs = (image: string): string[] => ['-m', '256M', '-drive', `if=none,id=d0,file=${image},format=raw`, '-device', 'virtio-blk-pci,drive=d0'];

/** A sparse raw image of `bytes` at `dir/name`; its path. */
export function hostImage(dir: string, name: string, bytes: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  return path;
}

/** Whether `e2fsck` runs here; warns (or, with IOPATH_REQUIRE_PEERS=1, throws) when it does not. */
export function e2fsckAvailable(who: string): boolean {
  if (spawnSync('e2fsck', ['-V'], { encoding: 'utf8' }).status === 0) return true;
  const msg = `${who}: e2fsck not found (Debian package e2fsprogs)`;
  if (process.env.IOPATH_REQUIRE_PEERS === '1') throw new Error(`${msg}, and IOPATH_REQUIRE_PEERS=1 requires it`);
  console.warn(`${msg}: its checks are skipped`);
  return false;
}

/** `e2fsck -fn` on a host image: its exit status (0: clean) and output. */
export function e2fsck(path: string): { status: number | null; out: string } {
  const r = spawnSync('e2fsck', ['-fn', path], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** open(O_CREAT|O_WRONLY), write all of `data`, fsync, close: a guest file written and made durable by task `t`. */
export function writeGuestFile(m: Machine, t: Task, path: string, data: Uint8Array): void {
  const { os } = m.guest;
  const sys = os.syscalls;
  const fd = sysOk(m, sys.open(t, path, O_CREAT | O_WRONLY), `open ${path}`);
  const b = os.allocUser(data.length);
  m.mem.write(b.addr, data);
  const n = sysOk(m, sys.write(t, fd, b), `write ${path}`);
  if (n !== data.length) throw new Error(`write ${path}: ${n} of ${data.length} bytes`);
  sysOk(m, sys.fsync(t, fd), `fsync ${path}`);
  sysOk(m, sys.close(t, fd), `close ${path}`);
  os.freeUser(b);
}

/** The first `n` bytes of a guest file as task `t` reads them (one read). */
export function readGuestFile(m: Machine, t: Task, path: string, n: number): Uint8Array {
  const { os } = m.guest;
  const sys = os.syscalls;
  const fd = sysOk(m, sys.open(t, path, O_RDONLY), `open ${path}`);
  const b = os.allocUser(n + 4096);
  const got = sysOk(m, sys.read(t, fd, b), `read ${path}`);
  const out = m.mem.read(b.addr, got);
  sysOk(m, sys.close(t, fd), `close ${path}`);
  os.freeUser(b);
  return out;
}
