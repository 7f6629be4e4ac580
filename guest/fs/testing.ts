/**
 * Helpers for tests of the file system and of what drives it: an FsBlockIo over a byte image
 * (synchronous Observables), plan application, and a snapshot of the visible tree.
 */
import * as E from 'fp-ts/lib/Either.js';
import { of } from 'rxjs';
import type { Barrier, BlockWrite, FsBlockIo, WritePlan } from './block-io.js';
import type { Fs } from './fs.js';
import type { FileKind } from './file-ops.js';

export interface MemoryBlockIo extends FsBlockIo {
  readonly image: Uint8Array;
  /** Every write batch issued, in order. */
  readonly log: { writes: BlockWrite[]; barrier: Barrier }[];
  /** Reads issued: [block, count]. */
  readonly reads: [number, number][];
}

/** An FsBlockIo over `image`; out-of-range accesses complete with EIO. */
export function memoryBlockIo(image: Uint8Array): MemoryBlockIo {
  let bs = 1024;
  const log: MemoryBlockIo['log'] = [];
  const reads: [number, number][] = [];
  return {
    image,
    log,
    reads,
    sizeBytes: image.length,
    get blockSize() {
      return bs;
    },
    setBlockSize(size: number) {
      bs = size;
    },
    read(block, count) {
      reads.push([block, count]);
      if (block < 0 || (block + count) * bs > image.length) return of(E.left('EIO' as const));
      return of(E.right(image.slice(block * bs, (block + count) * bs)));
    },
    write(writes, barrier) {
      log.push({ writes, barrier });
      for (const w of writes) if (w.block < 0 || w.block * bs + w.data.length > image.length) return of(E.left('EIO' as const));
      for (const w of writes) image.set(w.data, w.block * bs);
      return of(E.right(undefined));
    },
  };
}

export function applyWrites(image: Uint8Array, writes: readonly BlockWrite[], blockSize: number): void {
  for (const w of writes) image.set(w.data, w.block * blockSize);
}

export function applyPlan(image: Uint8Array, plan: WritePlan, blockSize: number): void {
  for (const s of plan.steps) applyWrites(image, s.writes, blockSize);
}

export interface TreeNode {
  readonly kind: FileKind;
  readonly size: number;
  readonly nlink: number;
  readonly ino: number;
}

/** Every path below the root (lost+found included) with what stat says of it. */
export function treeOf(fs: Fs): Map<string, TreeNode> {
  const out = new Map<string, TreeNode>();
  const visit = (path: string): void => {
    const entries = fs.readdir(path === '' ? '/' : path);
    if (E.isLeft(entries)) throw new Error(`readdir ${path}: ${entries.left}`);
    for (const e of entries.right) {
      if (e.name === '.' || e.name === '..') continue;
      const p = `${path}/${e.name}`;
      const st = fs.statIno(e.ino);
      if (E.isLeft(st)) throw new Error(`stat ${p}: ${st.left}`);
      out.set(p, { kind: st.right.kind, size: st.right.size, nlink: st.right.nlink, ino: e.ino });
      if (st.right.kind === 'dir') visit(p);
    }
  };
  visit('');
  return out;
}

/** A Right's value, or a thrown Error naming the Left (test code). */
export function unwrap<L, R>(e: E.Either<L, R>, what = 'value'): R {
  if (E.isLeft(e)) throw new Error(`${what}: ${typeof e.left === 'object' ? JSON.stringify(e.left) : String(e.left)}`);
  return e.right;
}
