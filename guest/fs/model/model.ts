/**
 * The model the file system is checked against (fast-check's model-based testing): a map from
 * paths to nodes, much simpler than the real thing. Hard links are two paths holding the same
 * node object. The errno rules are Linux's, in the order namei checks them.
 */
import * as E from 'fp-ts/lib/Either.js';
import { expect } from 'vitest';
import type { Errno } from '../errno.js';
import type { Fs } from '../fs.js';
import { fsckImage } from '../fsck.js';
import { mountImage } from '../mount.js';
import { applyPlan, treeOf, unwrap } from '../testing.js';

export interface Node {
  readonly kind: 'file' | 'dir';
  size: number;
}

export interface FsModel {
  /** '' is the root; other paths are '/a/b'. lost+found is left out. */
  readonly paths: Map<string, Node>;
  /** The tree as of the last durable commit (for crash checks). */
  durable: Map<string, { kind: string; size: number }>;
}

export interface Real {
  fs: Fs;
  readonly image: Uint8Array;
  readonly blockSize: number;
  /** Virtual clock shared with the mounted file system. */
  readonly clock: { now: number };
}

export type Res<T> = E.Either<Errno, T>;

export const newModel = (): FsModel => ({ paths: new Map([['', { kind: 'dir', size: 0 }]]), durable: new Map() });

const comps = (p: string): string[] => p.split('/').filter((c) => c.length > 0);

export function lookup(m: FsModel, path: string): Res<string> {
  let cur = '';
  for (const c of comps(path)) {
    if (m.paths.get(cur)?.kind !== 'dir') return E.left('ENOTDIR');
    const next = `${cur}/${c}`;
    if (!m.paths.has(next)) return E.left('ENOENT');
    cur = next;
  }
  return E.right(cur);
}

export function parentOf(m: FsModel, path: string): Res<{ dir: string; child: string }> {
  const cs = comps(path);
  const dir = lookup(m, `/${cs.slice(0, -1).join('/')}`);
  if (E.isLeft(dir)) return dir;
  if (m.paths.get(dir.right)?.kind !== 'dir') return E.left('ENOTDIR');
  return E.right({ dir: dir.right, child: `${dir.right}/${cs[cs.length - 1]}` });
}

export const within = (p: string, ancestor: string): boolean => p === ancestor || p.startsWith(`${ancestor}/`);
export const hasChildren = (m: FsModel, dir: string): boolean => [...m.paths.keys()].some((p) => p !== dir && within(p, dir));

/** Asserts the real outcome matches the model's: the same errno, or success. */
export function expectOutcome(real: Res<unknown>, expected: Res<unknown>, what: string): void {
  const got = E.isLeft(real) ? real.left : 'ok';
  const want = E.isLeft(expected) ? expected.left : 'ok';
  expect(got, what).toBe(want);
}

/** The model's tree in the shape of treeOf, without inode numbers. */
export function modelTree(m: FsModel): Map<string, { kind: string; size: number }> {
  const out = new Map<string, { kind: string; size: number }>();
  for (const [p, n] of m.paths) if (p !== '') out.set(p, { kind: n.kind, size: n.kind === 'dir' ? -1 : n.size });
  return out;
}

/** The real tree (lost+found left out, directory sizes hidden). */
export function realTree(fs: Fs): Map<string, { kind: string; size: number }> {
  const out = new Map<string, { kind: string; size: number }>();
  for (const [p, n] of treeOf(fs)) if (!within(p, '/lost+found')) out.set(p, { kind: n.kind, size: n.kind === 'dir' ? -1 : n.size });
  return out;
}

const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));

/** The real file system shows exactly the model: paths, kinds, sizes, link counts, hard-link identity. */
export function expectMatches(m: FsModel, r: Real): void {
  expect(sorted(realTree(r.fs))).toEqual(sorted(modelTree(m)));
  const tree = treeOf(r.fs);
  const inoOf = new Map<Node, number>();
  for (const [p, n] of m.paths) {
    if (p === '') continue;
    const t = tree.get(p);
    if (!t) throw new Error(`missing ${p}`);
    const links = n.kind === 'dir' ? 2 + [...m.paths].filter(([q, x]) => x.kind === 'dir' && q !== p && within(q, p) && !q.slice(p.length + 1).includes('/')).length
      : [...m.paths.values()].filter((x) => x === n).length;
    expect(t.nlink, `nlink of ${p}`).toBe(links);
    const seen = inoOf.get(n);
    if (seen === undefined) inoOf.set(n, t.ino);
    else expect(t.ino, `${p} is a hard link`).toBe(seen);
  }
  expect(new Set(inoOf.values()).size, 'distinct nodes have distinct inodes').toBe(inoOf.size);
}

/** Commits and applies the plan to the image; the model's durable state catches up. */
export function syncReal(m: FsModel, r: Real): void {
  const plan = r.fs.commit();
  applyPlan(r.image, plan, r.blockSize);
  r.fs.complete(plan);
  m.durable = modelTree(m);
}

/** Unmounts, checks the image with fsck, and mounts it again. */
export function remountReal(m: FsModel, r: Real): void {
  applyPlan(r.image, r.fs.umount(), r.blockSize);
  expect(fsckImage(r.image).findings).toEqual([]);
  r.fs = unwrap(mountImage(r.image, { now: () => r.clock.now }));
  m.durable = modelTree(m);
}
