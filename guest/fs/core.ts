/**
 * The mounted file system's state: the pinned metadata blocks (superblock, descriptors, bitmaps,
 * inode tables, directory and indirect blocks), the journal, and the accessors through which an
 * operation changes them. Every change goes through `access` (JBD2's get_write_access +
 * mark_buffer_dirty), so it lands in the running transaction — and in the operation's undo log:
 * an operation that fails (ENOSPC halfway through a rename) leaves no trace. An access that
 * names the byte range it changes saves only those bytes; one that does not saves the whole
 * block, once per handle.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockSet } from './block-set.js';
import { le16, le32, setLe16, setLe32 } from './bytes.js';
import type { Errno } from './errno.js';
import { decodeGroupDesc, encodeGroupDesc, GD_BLOCK_BITMAP, GD_FREE_BLOCKS_COUNT, GD_INODE_BITMAP, GD_INODE_TABLE, type GroupDesc } from './group-desc.js';
import { decodeBlockMap, decodeInode, encodeBlockMapChanges, encodeInode, type Inode, type InodeBlockMap } from './inode.js';
import type { Geometry } from './geometry.js';
import { GROUP_DESC_SIZE, gdtFirstBlock, superblockBlock, superblockOffsetInBlock } from './geometry.js';
import type { Journal } from './journal.js';
import { decodeSuperblock, type Superblock } from './superblock.js';
import { UndoLog } from './undo.js';

export interface FsCoreInit {
  readonly geo: Geometry;
  readonly bufs: Map<number, Uint8Array>;
  readonly journal: Journal;
  readonly now: () => number;
  readonly readOnly: boolean;
  readonly errors: string[];
  /** Blocks no file may own: superblocks, descriptors, bitmaps, inode tables, the journal. */
  readonly reserved: Pick<BlockSet, 'has'>;
}

const SB_FREE_BLOCKS = 0x0c;
/** Pinned blocks FsCore keeps at hand (a power of two). */
const META_SLOTS = 16;
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
  readonly reserved: Pick<BlockSet, 'has'>;
  readonly sbBlock: number;
  readonly sbOff: number;
  /** Blocks freed by uncommitted transactions: not reusable until their commit is durable. */
  readonly pendingFree = new Map<number, number>();
  mounted = true;
  /** Inodes that got new data blocks since the last commit (ordered mode: write their data first). */
  readonly ordered = new Set<number>();
  /** Credits (blocks dirtied at most) of an operation that allocates, and of one that frees. */
  readonly credits: { readonly alloc: number; readonly free: number };
  /** Inside a handle: its undo log is live. */
  private inHandle = false;
  private readonly undo = new UndoLog();
  /** Blocks saved whole (or pinned fresh) in the running handle: nothing more of them need be saved. */
  private readonly saved = new Set<number>();
  private readonly mapScratch: InodeBlockMap = { block: [], blocks: 0 };

  /*
   * A few pinned blocks by block number, direct-mapped (block % META_SLOTS): an allocation
   * reads and writes the same descriptor, bitmap, superblock, inode and indirect blocks over
   * and over, and a Map of every pinned block is a cache miss away once page data streams
   * through. Only pin and unpin (and their undo) change what is pinned: they keep it current.
   */
  private readonly slotBlock = new Float64Array(META_SLOTS).fill(-1);
  private readonly slotBuf: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(META_SLOTS).fill(undefined);

  private readonly readBuf = (b: number): Uint8Array => this.meta(b) as Uint8Array;

  /** bufs.get(block), through the slots. */
  private meta(block: number): Uint8Array | undefined {
    const slot = block & (META_SLOTS - 1);
    if (this.slotBlock[slot] === block) return this.slotBuf[slot];
    const buf = this.bufs.get(block);
    if (buf !== undefined) {
      this.slotBlock[slot] = block;
      this.slotBuf[slot] = buf;
    }
    return buf;
  }

  /** bufs.set / bufs.delete, keeping the slots current. */
  private setMeta(block: number, buf: Uint8Array | undefined): void {
    if (buf === undefined) this.bufs.delete(block);
    else this.bufs.set(block, buf);
    const slot = block & (META_SLOTS - 1);
    if (this.slotBlock[slot] === block) {
      this.slotBlock[slot] = -1;
      this.slotBuf[slot] = undefined;
    }
  }

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
    return this.meta(block);
  }

  /**
   * Write access to a pinned block: saved for undo, dirtied in the running transaction. With
   * `len`, the caller changes only bytes [off, off + len) of it, and only those are saved.
   */
  access(block: number, off = 0, len = -1): Uint8Array {
    const buf = this.meta(block);
    if (!buf) throw new Error(`fs: write access to block ${block}, which is not pinned metadata`);
    if (this.inHandle && !this.saved.has(block)) {
      if (len < 0) {
        this.saved.add(block);
        this.undo.saveRange(buf, 0, buf.length);
      } else this.undo.saveRange(buf, off, len);
    }
    this.journal.dirty(block);
    return buf;
  }

  /** Pins a newly allocated metadata block, zeroed, and dirties it. */
  pin(block: number): Uint8Array {
    const buf = new Uint8Array(this.geo.blockSize);
    const prev = this.meta(block);
    this.setMeta(block, buf);
    if (this.inHandle) {
      this.saved.add(block);
      this.undo.saveFn(() => this.setMeta(block, prev));
    }
    this.journal.dirty(block);
    return buf;
  }

  /** Unpins a freed metadata block (its logged copies get revoked). */
  unpin(block: number): void {
    const prev = this.meta(block);
    if (!prev) return;
    this.setMeta(block, undefined);
    this.journal.forget(block);
    if (this.inHandle) this.undo.saveFn(() => this.setMeta(block, prev));
  }

  /** Records a freed block as not reusable until the running transaction is durable. */
  deferFree(block: number): void {
    const prev = this.pendingFree.get(block);
    this.pendingFree.set(block, this.journal.runningTid);
    if (this.inHandle) this.undo.saveFn(() => (prev === undefined ? this.pendingFree.delete(block) : this.pendingFree.set(block, prev)));
  }

  /** Notes an inode whose new data blocks must reach the disk before the running transaction commits. */
  orderedData(ino: number): void {
    this.ordered.add(ino);
  }

  // --- superblock and group descriptors ---

  superblock(): Superblock {
    return decodeSuperblock(this.meta(this.sbBlock) as Uint8Array, this.sbOff);
  }

  /** Adds to the superblock's free block and free inode counts. */
  adjustFree(blocks: number, inodes: number): void {
    const b = this.access(this.sbBlock, this.sbOff + SB_FREE_BLOCKS, 8);
    if (blocks !== 0) setLe32(b, this.sbOff + SB_FREE_BLOCKS, le32(b, this.sbOff + SB_FREE_BLOCKS) + blocks);
    if (inodes !== 0) setLe32(b, this.sbOff + SB_FREE_INODES, le32(b, this.sbOff + SB_FREE_INODES) + inodes);
  }

  private gdBlock(g: number): number {
    return gdtFirstBlock(this.geo.blockSize) + Math.floor((g * GROUP_DESC_SIZE) / this.geo.blockSize);
  }

  private gdOffset(g: number): number {
    return (g * GROUP_DESC_SIZE) % this.geo.blockSize;
  }

  gd(g: number): GroupDesc {
    return decodeGroupDesc(this.meta(this.gdBlock(g)) as Uint8Array, this.gdOffset(g));
  }

  putGd(g: number, d: GroupDesc): void {
    const off = this.gdOffset(g);
    encodeGroupDesc(d, this.access(this.gdBlock(g), off, GROUP_DESC_SIZE), off);
  }

  /** Group g's bg_inode_table (without decoding the whole descriptor). */
  private inodeTableOf(g: number): number {
    return le32(this.meta(this.gdBlock(g)) as Uint8Array, this.gdOffset(g) + GD_INODE_TABLE);
  }

  /** Group g's bg_block_bitmap and bg_free_blocks_count (without decoding the whole descriptor). */
  blockBitmapOf(g: number): number {
    return le32(this.meta(this.gdBlock(g)) as Uint8Array, this.gdOffset(g) + GD_BLOCK_BITMAP);
  }

  freeBlocksOf(g: number): number {
    return le16(this.meta(this.gdBlock(g)) as Uint8Array, this.gdOffset(g) + GD_FREE_BLOCKS_COUNT);
  }

  /** Sets group g's bg_free_blocks_count; only those two bytes of the descriptor change. */
  setFreeBlocksOf(g: number, n: number): void {
    const off = this.gdOffset(g) + GD_FREE_BLOCKS_COUNT;
    setLe16(this.access(this.gdBlock(g), off, 2), off, n);
  }

  /** Group g's bg_inode_bitmap (without decoding the whole descriptor). */
  inodeBitmapOf(g: number): number {
    return le32(this.meta(this.gdBlock(g)) as Uint8Array, this.gdOffset(g) + GD_INODE_BITMAP);
  }

  // --- inodes ---

  /** The block and byte offset of inode `ino` in its group's inode table. */
  inodeLoc(ino: number): [number, number] {
    return [this.inodeBlock(ino), this.inodeOffset(ino)];
  }

  private inodeBlock(ino: number): number {
    const g = Math.floor((ino - 1) / this.geo.inodesPerGroup);
    const idx = (ino - 1) % this.geo.inodesPerGroup;
    return this.inodeTableOf(g) + Math.floor(idx / this.geo.inodesPerBlock);
  }

  private inodeOffset(ino: number): number {
    return (((ino - 1) % this.geo.inodesPerGroup) % this.geo.inodesPerBlock) * this.geo.inodeSize;
  }

  validIno(ino: number): boolean {
    return Number.isInteger(ino) && ino >= 1 && ino <= this.geo.inodesCount;
  }

  inode(ino: number): Inode {
    return decodeInode(this.meta(this.inodeBlock(ino)) as Uint8Array, this.inodeOffset(ino), this.geo.inodeSize);
  }

  putInode(ino: number, i: Inode): void {
    const off = this.inodeOffset(ino);
    encodeInode(i, this.access(this.inodeBlock(ino), off, this.geo.inodeSize), off, this.geo.inodeSize);
  }

  /** The bytes of inode `ino` (read access) and its offset in them. */
  inodeBytes(ino: number): Uint8Array {
    return this.meta(this.inodeBlock(ino)) as Uint8Array;
  }

  inodeOffsetOf(ino: number): number {
    return this.inodeOffset(ino);
  }

  /**
   * The block pointers and i_blocks of inode `ino`, read into one object this core lends
   * out: valid until the next call, for an operation that maps blocks without the rest.
   */
  blockMap(ino: number): InodeBlockMap {
    return this.blockMapOf(this.inodeBytes(ino), this.inodeOffset(ino));
  }

  /** `blockMap` of the inode at `off` in `bytes` (from inodeBytes and inodeOffsetOf), read into `into` (default: the one lent out). */
  blockMapOf(bytes: Uint8Array, off: number, into: InodeBlockMap = this.mapScratch): InodeBlockMap {
    decodeBlockMap(bytes, off, into);
    return into;
  }

  /**
   * Writes back what `blockMap` lent, as putInode would: the inode's block is dirtied, and
   * only the fields that changed are written (and saved for undo).
   */
  putBlockMap(ino: number, m: InodeBlockMap): void {
    const block = this.inodeBlock(ino);
    const off = this.inodeOffset(ino);
    const written = encodeBlockMapChanges(m, this.meta(block) as Uint8Array, off, (at, len) => this.access(block, at, len));
    if (written === 0) this.access(block, off, 0);
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
    if (this.inHandle) throw new Error('fs: nested journal handle');
    this.journal.reserve(credits, this.readBuf);
    this.journal.beginHandle();
    this.inHandle = true;
    let r: E.Either<Errno, T> | undefined;
    try {
      r = op();
    } finally {
      this.inHandle = false;
      if (this.saved.size > 0) this.saved.clear(); // clear() makes a new table even when empty
      const failed = r === undefined || E.isLeft(r);
      if (failed) this.undo.rollback();
      else this.undo.clear();
      this.journal.endHandle(failed);
    }
    return r;
  }
}
