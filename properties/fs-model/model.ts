/**
 * The model the file-system suites compare the guest against: a Map of paths to nodes —
 * a file's bytes, or a directory — and the open handles. It is not a file system: no
 * blocks, no inodes on disk, no journal; a path walk is a Map lookup. What it knows is
 * POSIX (and Linux's errno choices) for the calls the commands make, each written as a
 * small function that says what the call must return and changes the model when it
 * succeeds.
 *
 * For the crash suite, every file also keeps its history: each version of its bytes
 * (one per call that changed it) and the version its last fsync covered; and every path
 * keeps which files were ever bound to it and whether its entry was made durable by an
 * fsync of its directory (model-crash.ts).
 */
import type { Errno } from '../../guest/vfs/syscalls-api.js';

/** The directory everything happens under; it always exists (the mount point's root). */
export const ROOT = '/mnt';

export interface FileNode {
  readonly kind: 'file';
  /** Identity of the file (an inode, as far as the model cares). */
  readonly id: number;
  data: Uint8Array;
  /** Every version of the bytes since creation, oldest first (the last is `data`). */
  readonly versions: Uint8Array[];
  /** Index in `versions` of what the last successful fsync covered. */
  fsynced?: number;
}

export interface DirNode {
  readonly kind: 'dir';
  readonly id: number;
}

export type Node = FileNode | DirNode;

export interface Handle {
  readonly node: FileNode;
  pos: number;
  readonly append: boolean;
}

/**
 * What a call must return. An error may name a second errno the guest is known to give
 * instead of Linux's (`tolerated`, with why): each is a difference of the guest's VFS
 * from Linux, listed here until it is fixed (none at present).
 */
export type Result<T = void> = { ok: true; value: T } | { ok: false; errno: Errno; tolerated?: Errno };
export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const err = (errno: Errno, tolerated?: Errno): Result<never> => ({ ok: false, errno, ...(tolerated ? { tolerated } : {}) });

export const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';
export const nameOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** mkfs.ext3 makes it; the commands never touch it. */
export const LOST_FOUND = ROOT + '/lost+found';

export class FsModel {
  readonly nodes = new Map<string, Node>();
  /** Open handles, in the order they were opened (commands pick one by index). */
  readonly handles: Handle[] = [];
  /** Every node ever bound to each path (crash suite: what may be found there). */
  readonly everAt = new Map<string, Set<Node>>();
  /** Entries made durable by an fsync of their directory, and not changed since. */
  readonly durable = new Map<string, Node>();
  private nextId = 2;

  constructor() {
    this.bind(ROOT, { kind: 'dir', id: 0 });
    this.bind(LOST_FOUND, { kind: 'dir', id: 1 });
    this.durable.set(LOST_FOUND, this.nodes.get(LOST_FOUND)!);
  }

  /** `p` now names `n`. */
  bind(p: string, n: Node): void {
    this.nodes.set(p, n);
    let s = this.everAt.get(p);
    if (!s) this.everAt.set(p, (s = new Set()));
    s.add(n);
    this.durable.delete(p);
  }

  /** `p` names nothing now. */
  unbind(p: string): void {
    this.nodes.delete(p);
    this.durable.delete(p);
  }

  /** fsync of directory `dir` returned: its entries as they are now are durable. */
  dirSynced(dir: string): void {
    for (const name of this.children(dir)) {
      const p = `${dir}/${name}`;
      this.durable.set(p, this.nodes.get(p)!);
    }
  }

  /** The errno a path walk to `p`'s parent gives (ENOENT: a component missing; ENOTDIR: one is a file). */
  walkParent(p: string): Errno | undefined {
    const parts = p.slice(ROOT.length + 1).split('/');
    let at = ROOT;
    for (const part of parts.slice(0, -1)) {
      at += '/' + part;
      const n = this.nodes.get(at);
      if (!n) return 'ENOENT';
      if (n.kind !== 'dir') return 'ENOTDIR';
    }
    return undefined;
  }

  children(dir: string): string[] {
    const prefix = dir + '/';
    return [...this.nodes.keys()].filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map(nameOf).sort();
  }

  newFile(): FileNode {
    const data = new Uint8Array(0);
    return { kind: 'file', id: this.nextId++, data, versions: [data] };
  }

  newDir(): DirNode {
    return { kind: 'dir', id: this.nextId++ };
  }

  /** Replace a file's bytes (a new version). */
  setData(f: FileNode, data: Uint8Array): void {
    f.data = data;
    f.versions.push(data);
  }

  /** Write `src` at `off` (growing the file, zero-filling a gap). */
  writeAt(f: FileNode, off: number, src: Uint8Array): void {
    const next = new Uint8Array(Math.max(f.data.length, off + src.length));
    next.set(f.data);
    next.set(src, off);
    this.setData(f, next);
  }

  truncate(f: FileNode, len: number): void {
    const next = new Uint8Array(len);
    next.set(f.data.subarray(0, Math.min(len, f.data.length)));
    this.setData(f, next);
  }

  /** Move `from` (and, for a directory, everything under it) over `to` (whose node, if any, goes). */
  move(from: string, to: string): void {
    const moved: [string, Node][] = [];
    for (const [k, v] of this.nodes) if (k === from || k.startsWith(from + '/')) moved.push([k, v]);
    for (const [k] of moved) this.unbind(k);
    // Below a renamed directory, entries keep their durability on disk but not their path:
    // the old paths are gone and the new ones are new bindings.
    for (const [k, v] of moved) this.bind(to + k.slice(from.length), v);
  }

  /** Every path under ROOT (not ROOT itself), sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].filter((k) => k !== ROOT).sort();
  }
}
