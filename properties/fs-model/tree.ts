/**
 * Reading the whole tree under /mnt back through the guest's system calls (readdir, stat,
 * open, pread, close), and checks on it: equal to the model (after a remount), and clean
 * to fsck (the image read back from the host's drive).
 */
import * as E from 'fp-ts/lib/Either.js';
import { fsckImage } from '../../guest/fs/index.js';
import { O_RDONLY } from '../../guest/vfs/syscalls-api.js';
import { firstDiff, readBack } from '../support/vm.js';
import { LOST_FOUND, ROOT, type FsModel } from './model.js';
import type { FsReal } from './real.js';

export type TreeEntry = { kind: 'dir' } | { kind: 'file'; data: Uint8Array };

/** Every path under /mnt (lost+found's contents left out) and what it holds. */
export function readTree(r: FsReal): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (dir: string): void => {
    const names = r.call(r.sys.readdir(r.task, dir), `readdir(${dir})`);
    if (E.isLeft(names)) throw new Error(`readdir(${dir}): ${names.left}`);
    for (const name of names.right) {
      const p = `${dir}/${name}`;
      const st = r.call(r.sys.stat(r.task, p), `stat(${p})`);
      if (E.isLeft(st)) throw new Error(`stat(${p}) of a name readdir listed: ${st.left}`);
      if (st.right.kind === 'dir') {
        out.set(p, { kind: 'dir' });
        if (p !== LOST_FOUND) walk(p);
      } else out.set(p, { kind: 'file', data: readFile(r, p, st.right.size) });
    }
  };
  walk(ROOT);
  return out;
}

function readFile(r: FsReal, p: string, size: number): Uint8Array {
  const fd = r.call(r.sys.open(r.task, p, O_RDONLY), `open(${p})`);
  if (E.isLeft(fd)) throw new Error(`open(${p}, O_RDONLY): ${fd.left}`);
  const n = r.call(r.sys.pread(r.task, fd.right, r.buf(size), 0), `pread(${p})`);
  if (E.isLeft(n) || n.right !== size) throw new Error(`pread(${p}, ${size}, 0): ${E.isLeft(n) ? n.left : `${n.right} bytes`}`);
  const data = r.bytes(size);
  r.call(r.sys.close(r.task, fd.right), `close(${p})`);
  return data;
}

/** The tree equals the model: the same paths, kinds and bytes. */
export function checkTreeEqualsModel(m: FsModel, tree: ReadonlyMap<string, TreeEntry>): void {
  const want = m.paths();
  const got = [...tree.keys()].sort();
  if (JSON.stringify(want) !== JSON.stringify(got)) throw new Error(`tree: the model has ${JSON.stringify(want)}, the file system ${JSON.stringify(got)}`);
  for (const p of want) {
    const n = m.nodes.get(p)!;
    const t = tree.get(p)!;
    if (n.kind !== t.kind) throw new Error(`tree: ${p} is a ${t.kind}, the model says ${n.kind}`);
    if (n.kind === 'file' && t.kind === 'file') {
      const d = firstDiff(n.data, t.data);
      if (d >= 0) throw new Error(`tree: ${p} (${t.data.length} bytes, model ${n.data.length}) differs at byte ${d}`);
    }
  }
}

/** fsck of the drive's image (the journal replayed on a copy, as e2fsck does) finds nothing. */
export function checkFsck(r: FsReal, driveId: string, bytes: number): void {
  const image = readBack(r.m, driveId, 0, bytes);
  const report = fsckImage(image);
  if (report.findings.length > 0) throw new Error(`fsck: ${report.findings.map((f) => `${f.code}: ${f.message}`).join('; ')}`);
}
