/**
 * The mounted file system's state: the pinned metadata blocks (superblock, descriptors, bitmaps,
 * inode tables, directory and indirect blocks), the journal, and the accessors through which an
 * operation changes them. Every change goes through `access` (JBD2's get_write_access +
 * mark_buffer_dirty), so it lands in the running transaction — and in the operation's undo log:
 * an operation that fails (ENOSPC halfway through a rename) leaves no trace.
 */
import * as E from 'fp-ts/lib/Either.js';
import { le32, setLe32 } from './bytes.js';
import type { Errno } from './errno.js';
import { decodeGroupDesc, encodeGroupDesc, groupDescLocation, type GroupDesc } from './group-desc.js';
import { decodeInode, encodeInode, type Inode } from './inode.js';
import type { Geometry } from './geometry.js';
import { gdtFirstBlock, superblockBlock, superblockOffsetInBlock } from './geometry.js';
import type { Journal } from './journal.js';
import { decodeSuperblock, type Superblock } from './superblock.js';

export interface FsCoreInit {
  readonly geo: Geometry;
  readonly bufs: Map<number, Uint8Array>;
  readonly journal: Journal;
  readonly now: () => number;
  readonly readOnly: boolean;
  readonly errors: string[];
  /** Blocks no file may own: superblocks, descriptors, bitmaps, inode tables, the journal. */
  readonly reserved: ReadonlySet<number>;
}

const SB_FREE_BLOCKS = 0x0c;
const SB_FREE_INODES = 0x10;

export class FsCore {
  readonly geo: Geometry;
  readonly bufs: Map<number, Uint8Array>;
  readonly journal: Journal;
  readonly now: () => number;
  readonly readOnly: boolean;
  /** File-system errors met while running (ext4_error), oldest first. */
  readonly errors: string[];
  /** Blocks no file may own: superblocks, descriptors, bitmaps, inode tables, the journal. */
  readonly reserved: ReadonlySet<number>;
  readonly sbBlock: number;
  readonly sbOff: number;
  /** Blocks freed by uncommitted transactions: not reusable until their commit is durable. */
  readonly pendingFree = new Map<number, number>();
  mounted = true;
  /** Inodes that got new data blocks since the last commit (ordered mode: write their data first). */
  readonly ordered = new Set<number>();
  /** Credits (blocks dirtied at most) of an operation that allocates, and of one that frees. */
  readonly credits: { readonly alloc: number; readonly free: number };
  private undo: (() => void)[] | undefined;
  private readonly saved = new Set<number>();

  constructor(init: FsCoreInit) {
    this.geo = init.geo;
    this.bufs = init.bufs;
    this.journal = init.journal;
    this.now = init.now;
    this.readOnly = init.readOnly;
    this.errors = init.errors;
    this.reserved = init.reserved;
    this.sbBlock = superblockBlock(this.geo.blockSize);
    this.sbOff = superblockOffsetInBlock(this.geo.blockSize);
    this.credits = FsCore.creditsFor(this.geo);
  }

  static creditsFor(geo: Pick<Geometry, 'groups' | 'gdtBlocks'>): { alloc: number; free: number } {
    const gdt = Math.min(geo.gdtBlocks, 3);
    return { alloc: 16 + gdt, free: 24 + 2 * geo.groups + geo.gdtBlocks };
  }

  /** A pinned block (read access). */
  buffer(block: number): Uint8Array | undefined {
    return this.bufs.get(block);
  }

  /** Write access to a pinned block: saved for undo, dirtied in the running transaction. */
  access(block: number): Uint8Array {
    const buf = this.bufs.get(block);
    if (!buf) throw new Error(`fs: write access to block ${block}, which is not pinned metadata`);
    if (this.undo && !this.saved.has(block)) {
      this.saved.add(block);
      const copy = buf.slice();
      this.undo.push(() => buf.set(copy));
    }
    this.journal.dirty(block);
    return buf;
  }

  /** Pins a newly allocated metadata block, zeroed, and dirties it. */
  pin(block: number): Uint8Array {
    const buf = new Uint8Array(this.geo.blockSize);
    const prev = this.bufs.get(block);
    this.bufs.set(block, buf);
    this.saved.add(block);
    this.undo?.push(() => (prev ? this.bufs.set(block, prev) : this.bufs.delete(block)));
    this.journal.dirty(block);
    return buf;
  }

  /** Unpins a freed metadata block (its logged copies get revoked). */
  unpin(block: number): void {
    const prev = this.bufs.get(block);
    if (!prev) return;
    this.bufs.delete(block);
    this.journal.forget(block);
    this.undo?.push(() => this.bufs.set(block, prev));
  }

  /** Records a freed block as not reusable until the running transaction is durable. */
  deferFree(block: number): void {
    const prev = this.pendingFree.get(block);
    this.pendingFree.set(block, this.journal.runningTid);
    this.undo?.push(() => (prev === undefined ? this.pendingFree.delete(block) : this.pendingFree.set(block, prev)));
  }

  /** Notes an inode whose new data blocks must reach the disk before the running transaction commits. */
  orderedData(ino: number): void {
    this.ordered.add(ino);
  }

  // --- superblock and group descriptors ---

  superblock(): Superblock {
    return decodeSuperblock(this.bufs.get(this.sbBlock) as Uint8Array, this.sbOff);
  }

  /** Adds to the superblock's free block and free inode counts. */
  adjustFree(blocks: number, inodes: number): void {
    const b = this.access(this.sbBlock);
    if (blocks !== 0) setLe32(b, this.sbOff + SB_FREE_BLOCKS, le32(b, this.sbOff + SB_FREE_BLOCKS) + blocks);
    if (inodes !== 0) setLe32(b, this.sbOff + SB_FREE_INODES, le32(b, this.sbOff + SB_FREE_INODES) + inodes);
  }

  private gdLoc(g: number): [number, number] {
    const [i, off] = groupDescLocation(this.geo.blockSize, g);
    return [gdtFirstBlock(this.geo.blockSize) + i, off];
  }

  gd(g: number): GroupDesc {
    const [blk, off] = this.gdLoc(g);
    return decodeGroupDesc(this.bufs.get(blk) as Uint8Array, off);
  }

  putGd(g: number, d: GroupDesc): void {
    const [blk, off] = this.gdLoc(g);
    encodeGroupDesc(d, this.access(blk), off);
  }

  // --- inodes ---

  /** The block and byte offset of inode `ino` in its group's inode table. */
  inodeLoc(ino: number): [number, number] {
    const g = Math.floor((ino - 1) / this.geo.inodesPerGroup);
    const idx = (ino - 1) % this.geo.inodesPerGroup;
    const block = this.gd(g).inodeTable + Math.floor(idx / this.geo.inodesPerBlock);
    return [block, (idx % this.geo.inodesPerBlock) * this.geo.inodeSize];
  }

  validIno(ino: number): boolean {
    return Number.isInteger(ino) && ino >= 1 && ino <= this.geo.inodesCount;
  }

  inode(ino: number): Inode {
    const [blk, off] = this.inodeLoc(ino);
    return decodeInode(this.bufs.get(blk) as Uint8Array, off, this.geo.inodeSize);
  }

  putInode(ino: number, i: Inode): void {
    const [blk, off] = this.inodeLoc(ino);
    encodeInode(i, this.access(blk), off, this.geo.inodeSize);
  }

  /** Records a file-system error (ext4_error) and returns EIO for the operation that met it. */
  corrupt<T = never>(message: string): E.Either<Errno, T> {
    this.errors.push(message);
    return E.left('EIO');
  }

  /**
   * Runs one operation as a journal handle of `credits` blocks: the running transaction is
   * closed first if the operation might not fit; if it fails, every change it made is undone.
   */
  handle<T>(credits: number, op: () => E.Either<Errno, T>): E.Either<Errno, T> {
    if (!this.mounted) return E.left('EIO');
    if (this.readOnly) return E.left('EROFS');
    if (this.undo) throw new Error('fs: nested journal handle');
    this.journal.reserve(credits, (b) => this.bufs.get(b) as Uint8Array);
    const before = this.journal.snapshotRunning();
    this.undo = [];
    this.saved.clear();
    let r: E.Either<Errno, T> | undefined;
    try {
      r = op();
    } finally {
      const undo = this.undo;
      this.undo = undefined;
      this.saved.clear();
      if (r === undefined || E.isLeft(r)) {
        for (let i = undo.length - 1; i >= 0; i--) undo[i]();
        this.journal.running = before;
      }
    }
    return r;
  }
}
