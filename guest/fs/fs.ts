/**
 * A mounted file system: synchronous in-memory operations over the pinned metadata, each
 * returning Either<Errno, T> and changing metadata only through the running journal
 * transaction; and the write plans (commit, checkpoint, umount) that the caller issues through
 * FsBlockIo, one after another, in the order they were made.
 *
 * Ordered mode, the caller's half: before issuing a commit plan, write the data of the inodes
 * `orderedInodes()` named just before `commit()` (every block `bmap(…, create)` handed out, with
 * `fresh` blocks written in full). After a plan's last step completed, call `complete(plan)`:
 * blocks freed by its transactions become reusable.
 */
import * as E from 'fp-ts/lib/Either.js';
import { defer, map, type Observable } from 'rxjs';
import type { FsBlockIo, WritePlan, WriteStep } from './block-io.js';
import type { BmapResult } from './bmap.js';
import type { FsCore } from './core.js';
import { dirList, dirLookup, type DirEntry } from './dir.js';
import type { Errno } from './errno.js';
import { bmapFile, bmapRun, setSize, statfs, statInode, truncate, liveInode, type BmapRunResult, type Stat, type StatFs } from './file-ops.js';
import type { Geometry } from './geometry.js';
import { isDir } from './inode.js';
import { lookupParent, lookupPath, parsePath } from './namei.js';
import * as ops from './ops.js';
import { runOnIo, type IoProgram } from './program.js';
import { encodeSuperblock, EXT2_VALID_FS, INCOMPAT_RECOVER } from './superblock.js';
import { nsToTime } from './inode.js';

/** A write plan from the journal; `lastTid` is the newest transaction it commits. */
export interface CommitPlan extends WritePlan {
  readonly lastTid: number;
}

/** What mount found and did. */
export interface MountInfo {
  /** Committed transactions replayed from the journal. */
  readonly replayedTransactions: number;
  /** Things mount survived (warnings in the kernel log). */
  readonly warnings: string[];
}

type R<T> = E.Either<Errno, T>;

function* planProgram(plan: WritePlan): IoProgram<void> {
  for (const step of plan.steps) yield { kind: 'write', step };
  return E.right(undefined);
}

/** Issues a plan's steps through `io`, each after the previous completed. */
export function issuePlan(io: FsBlockIo, plan: WritePlan): Observable<R<void>> {
  return runOnIo(planProgram(plan), io).pipe(map((r) => (E.isLeft(r) ? E.left(r.left.errno) : E.right(undefined))));
}

export class Fs {
  constructor(
    private readonly core: FsCore,
    readonly info: MountInfo,
    private readonly io?: FsBlockIo,
  ) {}

  get geometry(): Geometry {
    return this.core.geo;
  }
  /** File-system errors met so far (ext4_error's log). */
  get errors(): readonly string[] {
    return this.core.errors;
  }
  get mounted(): boolean {
    return this.core.mounted;
  }
  get readOnly(): boolean {
    return this.core.readOnly;
  }

  private live<T>(f: () => R<T>): R<T> {
    return this.core.mounted ? f() : E.left('EIO');
  }

  lookup(path: string): R<number> {
    return this.live(() => lookupPath(this.core, path));
  }
  /** One component in directory `dir`. */
  /** Walks to `path`'s parent directory (ENOENT: a component missing; ENOTDIR: one is not a directory). */
  walkParent(path: string): R<void> {
    return this.live(() => {
      const r = lookupParent(this.core, path);
      return E.isLeft(r) ? r : E.right(undefined);
    });
  }
  lookupAt(dir: number, name: string): R<number> {
    return this.live(() => {
      const d = liveInode(this.core, dir);
      if (E.isLeft(d)) return d;
      if (!isDir(d.right)) return E.left('ENOTDIR');
      const p = parsePath(name);
      if (E.isLeft(p)) return p;
      if (p.right.components.length !== 1) return E.left('EINVAL');
      const r = dirLookup(this.core, dir, p.right.components[0]);
      return E.isLeft(r) ? r : r.right === undefined ? E.left('ENOENT') : E.right(r.right);
    });
  }
  create(path: string, kind: 'file' | 'dir' = 'file'): R<number> {
    return this.core.handle(this.core.credits.alloc, () => ops.create(this.core, path, kind));
  }
  mkdir(path: string): R<number> {
    return this.create(path, 'dir');
  }
  link(existing: string, newPath: string): R<void> {
    return this.core.handle(this.core.credits.alloc, () => ops.link(this.core, existing, newPath));
  }
  unlink(path: string): R<void> {
    return this.core.handle(this.core.credits.free, () => ops.unlink(this.core, path));
  }
  rmdir(path: string): R<void> {
    return this.core.handle(this.core.credits.free, () => ops.rmdir(this.core, path));
  }
  rename(from: string, to: string): R<void> {
    return this.core.handle(this.core.credits.free, () => ops.rename(this.core, from, to));
  }
  readdir(path: string): R<DirEntry[]> {
    return this.live(() => {
      const ino = lookupPath(this.core, path);
      if (E.isLeft(ino)) return ino;
      return this.readdirIno(ino.right);
    });
  }
  readdirIno(ino: number): R<DirEntry[]> {
    const d = liveInode(this.core, ino);
    if (E.isLeft(d)) return d;
    return isDir(d.right) ? dirList(this.core, ino) : E.left('ENOTDIR');
  }
  stat(path: string): R<Stat> {
    return this.live(() => {
      const ino = lookupPath(this.core, path);
      return E.isLeft(ino) ? ino : statInode(this.core, ino.right);
    });
  }
  statIno(ino: number): R<Stat> {
    return statInode(this.core, ino);
  }
  /** File block → disk block (0: a hole); with `create`, allocates it (ENOSPC, EFBIG). */
  bmap(ino: number, fileBlock: number, create: boolean): R<BmapResult> {
    if (!create) return this.live(() => bmapFile(this.core, ino, fileBlock, false));
    return this.core.handle(this.core.credits.alloc, () => bmapFile(this.core, ino, fileBlock, true));
  }
  /** `bmap(ino, n, true)` for each n of `blocks` in turn until one fails (writeback): see bmapRun. */
  bmapRun(ino: number, blocks: readonly number[], out: number[]): BmapRunResult {
    return bmapRun(this.core, ino, blocks, out);
  }
  /** Extends i_size after a write (EINVAL if smaller: use truncate). */
  setSize(ino: number, size: number): R<void> {
    return this.core.handle(this.core.credits.alloc, () => setSize(this.core, ino, size));
  }
  truncate(ino: number, size: number): R<void> {
    return this.core.handle(this.core.credits.free, () => truncate(this.core, ino, size));
  }
  statfs(): R<StatFs> {
    return this.live(() => E.right(statfs(this.core)));
  }
  /** Inodes whose newly mapped data must be written before the next commit plan is issued. */
  orderedInodes(): number[] {
    return [...this.core.ordered].sort((a, b) => a - b);
  }
  /** Blocks freed by transactions whose commit is not known to be durable yet. */
  pendingFreeBlocks(): number {
    return this.core.pendingFree.size;
  }

  /** Commits the running transaction (and any closed ones): the plan to issue. */
  commit(): CommitPlan {
    if (!this.core.mounted || this.core.readOnly) return { steps: [], lastTid: this.core.journal.committedTid };
    this.core.ordered.clear();
    return this.core.journal.commit((b) => this.core.bufs.get(b) as Uint8Array);
  }
  /** Writes committed metadata home and empties the log. */
  checkpoint(): CommitPlan {
    const lastTid = this.core.journal.committedTid;
    if (!this.core.mounted || this.core.readOnly) return { steps: [], lastTid };
    return { steps: this.core.journal.checkpoint(), lastTid };
  }
  /** The plan's writes are durable: release the blocks its transactions freed. */
  complete(plan: CommitPlan): void {
    for (const [b, tid] of this.core.pendingFree) if (tid <= plan.lastTid) this.core.pendingFree.delete(b);
  }
  /** Commit, checkpoint, and mark the superblock clean; the file system is unmounted after. */
  umount(): CommitPlan {
    if (!this.core.mounted) return { steps: [], lastTid: this.core.journal.committedTid };
    const commit = this.commit();
    const cp = this.checkpoint();
    this.core.mounted = false;
    if (this.core.readOnly) return commit;
    const buf = this.core.bufs.get(this.core.sbBlock) as Uint8Array;
    const sb = this.core.superblock();
    sb.state |= EXT2_VALID_FS;
    sb.featureIncompat &= ~INCOMPAT_RECOVER;
    sb.wtime = nsToTime(this.core.now())[0];
    encodeSuperblock(sb, buf, this.core.sbOff);
    const last: WriteStep = { what: 'superblock', writes: [{ block: this.core.sbBlock, data: buf.slice() }], barrier: 'fua' };
    return { steps: [...commit.steps, ...cp.steps, last], lastTid: commit.lastTid };
  }

  private run(plan: CommitPlan, io: FsBlockIo | undefined): Observable<R<void>> {
    const dev = io ?? this.io;
    if (!dev) throw new Error('fs: no FsBlockIo to issue the plan through');
    return issuePlan(dev, plan).pipe(
      map((r) => {
        if (E.isRight(r)) this.complete(plan);
        return r;
      }),
    );
  }
  /** On subscription: commit() issued through `io` (the mount's by default), then complete(). */
  sync(io?: FsBlockIo): Observable<R<void>> {
    return defer(() => this.run(this.commit(), io));
  }
  /** On subscription: umount() issued through `io`. */
  unmount(io?: FsBlockIo): Observable<R<void>> {
    return defer(() => this.run(this.umount(), io));
  }
}
