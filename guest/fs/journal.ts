/**
 * The running journal (JBD2, data=ordered; fs/jbd2/transaction.c, commit.c, checkpoint.c).
 *
 * Metadata blocks are pinned in memory. An operation marks the blocks it changes dirty in the
 * running transaction (and revokes logged blocks it frees). The running transaction is closed —
 * its blocks copied as they are then (copy-on-log) — when the next operation might not fit, or
 * at commit. `commit()` turns the closed transactions into a write plan:
 *
 *   [revoke, descriptor + copies …] --flush-->  [commit block] --fua-->
 *
 * and, when the log is too full for the next transaction, a checkpoint first:
 *
 *   [committed copies to their home blocks] --flush-->  [journal superblock: new tail] --fua-->
 *
 * Ordered mode is the caller's half: file data allocated in a transaction must be written before
 * that transaction's plan is issued (`orderedInodes`).
 */
import type { BlockWrite, WriteStep } from './block-io.js';
import {
  encodeCommit,
  encodeDescriptor,
  encodeJournalSuperblock,
  encodeRevoke,
  JBD2_FLAG_ESCAPE,
  JBD2_MAGIC,
  revokesPerBlock,
  tagsPerDescriptor,
  transactionLogBlocks,
  type JournalSuperblock,
  type JournalTag,
} from './journal-format.js';
import { be32 } from './bytes.js';

/** Revoke blocks a transaction may overrun its reservation by. */
const REVOKE_OVERFLOW = 2;

export interface JournalConfig {
  readonly blockSize: number;
  /** Disk block of each journal block; index 0 is the journal superblock. */
  readonly map: readonly number[];
  /** The journal superblock as on disk after mount (empty: start 0). */
  readonly jsb: JournalSuperblock;
  /** Credits (blocks) the largest single operation may dirty. */
  readonly maxCredits: number;
  readonly now: () => number;
}

interface ClosedTx {
  readonly tid: number;
  readonly blocks: Map<number, Uint8Array>;
  readonly revokes: number[];
}

export interface RunningTx {
  readonly dirty: Set<number>;
  readonly revokes: Set<number>;
}

/** Changes to the running transaction a handle made, as the step that reverts each. */
const UNDO_DIRTY_ADD = 0;
const UNDO_DIRTY_DELETE = 1;
const UNDO_REVOKE_ADD = 2;
const UNDO_REVOKE_DELETE = 3;

export class Journal {
  private readonly bs: number;
  private readonly first: number;
  private readonly maxLen: number;
  private readonly usable: number;
  /** A running transaction is closed before it could grow past this many log blocks. */
  readonly txLimit: number;
  private head: number;
  private used = 0;
  private diskStart = 0;
  private nextTid: number;
  private lastCommitted: number;
  private jsb: JournalSuperblock;
  /** The running transaction: dirty metadata blocks and revoked blocks. */
  private running: RunningTx = { dirty: new Set(), revokes: new Set() };
  /** While a handle runs (`logging`): [revert step, block] pairs for what it changed in `running`. */
  private readonly handleLog: number[] = [];
  private logging = false;
  private closed: ClosedTx[] = [];
  /** Latest committed copy of each block not yet written home. */
  private readonly checkpointList = new Map<number, Uint8Array>();

  constructor(private readonly cfg: JournalConfig) {
    this.bs = cfg.blockSize;
    this.jsb = { ...cfg.jsb, start: 0 };
    this.first = cfg.jsb.first;
    this.maxLen = cfg.jsb.maxLen;
    this.usable = this.maxLen - this.first;
    this.head = this.first;
    this.nextTid = cfg.jsb.sequence;
    this.lastCommitted = cfg.jsb.sequence - 1;
    const need = Journal.minLogBlocks(cfg.maxCredits, this.bs);
    if (need > this.usable) throw new Error(`journal of ${this.maxLen} blocks is too small for one operation (${need})`);
    this.txLimit = Math.max(need, Math.floor(this.usable / 4)) - REVOKE_OVERFLOW;
  }

  /**
   * Log blocks one transaction of `credits` blocks takes at most: as many revokes, plus
   * REVOKE_OVERFLOW revoke blocks for an operation that frees many logged blocks (a truncate
   * freeing hundreds of indirect blocks).
   */
  static minLogBlocks(credits: number, blockSize: number): number {
    return transactionLogBlocks(credits, credits, blockSize) + REVOKE_OVERFLOW;
  }

  get runningTid(): number {
    return this.nextTid;
  }

  /** The newest transaction a plan made so far commits (older ones are committed too). */
  get committedTid(): number {
    return this.lastCommitted;
  }

  isEmpty(): boolean {
    return this.running.dirty.size === 0 && this.running.revokes.size === 0 && this.closed.length === 0;
  }

  /** Marks a metadata block dirty in the running transaction (cancels a revoke of it). */
  dirty(block: number): void {
    const r = this.running;
    if (!r.dirty.has(block)) {
      r.dirty.add(block);
      this.log(UNDO_DIRTY_DELETE, block);
    }
    if (r.revokes.delete(block)) this.log(UNDO_REVOKE_ADD, block);
  }

  /** A metadata block was freed: drop it from the running transaction, revoke older logged copies. */
  forget(block: number): void {
    const r = this.running;
    if (r.dirty.delete(block)) this.log(UNDO_DIRTY_ADD, block);
    if (!r.revokes.has(block) && (this.checkpointList.has(block) || this.closed.some((t) => t.blocks.has(block)))) {
      r.revokes.add(block);
      this.log(UNDO_REVOKE_DELETE, block);
    }
  }

  /** A handle starts: its changes to the running transaction are logged until `endHandle`. */
  beginHandle(): void {
    this.handleLog.length = 0;
    this.logging = true;
  }

  private log(revert: number, block: number): void {
    if (this.logging) this.handleLog.push(revert, block);
  }

  /** The handle ended; if it failed, the running transaction is put back as it was at `beginHandle`. */
  endHandle(failed: boolean): void {
    const log = this.handleLog;
    this.logging = false;
    if (failed) this.revert(log);
    log.length = 0;
  }

  private revert(log: readonly number[]): void {
    const r = this.running;
    for (let i = log.length - 2; i >= 0; i -= 2) {
      const b = log[i + 1];
      switch (log[i]) {
        case UNDO_DIRTY_ADD: r.dirty.add(b); break;
        case UNDO_DIRTY_DELETE: r.dirty.delete(b); break;
        case UNDO_REVOKE_ADD: r.revokes.add(b); break;
        case UNDO_REVOKE_DELETE: r.revokes.delete(b); break;
      }
    }
  }

  /** Before an operation of `credits` blocks: close the running transaction if it might not fit. */
  reserve(credits: number, read: (b: number) => Uint8Array): void {
    const r = this.running;
    if (transactionLogBlocks(r.dirty.size + credits, r.revokes.size + credits, this.bs) > this.txLimit) this.close(read);
  }

  /** Closes the running transaction: its blocks are copied now (copy-on-log). */
  close(read: (b: number) => Uint8Array): void {
    const r = this.running;
    if (r.dirty.size === 0 && r.revokes.size === 0) return;
    const blocks = new Map<number, Uint8Array>();
    for (const b of [...r.dirty].sort((x, y) => x - y)) blocks.set(b, read(b).slice());
    this.closed.push({ tid: this.nextTid, blocks, revokes: [...r.revokes].sort((x, y) => x - y) });
    this.nextTid++;
    this.running = { dirty: new Set(), revokes: new Set() };
  }

  /** The write plan committing every closed transaction and the running one; `lastTid` is the last committed. */
  commit(read: (b: number) => Uint8Array): { steps: WriteStep[]; lastTid: number } {
    this.close(read);
    const steps: WriteStep[] = [];
    while (this.closed.length > 0) {
      this.emit(this.closed[0], steps);
      this.closed.shift();
    }
    return { steps, lastTid: this.lastCommitted };
  }

  /** The write plan writing every committed block home and emptying the log. */
  checkpoint(): WriteStep[] {
    const steps: WriteStep[] = [];
    if (this.used === 0 && this.checkpointList.size === 0) return steps;
    const writes = [...this.checkpointList].sort((a, b) => a[0] - b[0]).map(([block, data]) => ({ block, data }));
    if (writes.length > 0) steps.push({ what: 'checkpoint', writes, barrier: 'flush' });
    this.checkpointList.clear();
    this.used = 0;
    this.head = this.first;
    this.diskStart = 0;
    const seq = this.closed.length > 0 ? this.closed[0].tid : this.nextTid;
    steps.push({ what: 'journal-superblock', writes: [this.superblockWrite(0, seq)], barrier: 'fua' });
    return steps;
  }

  private superblockWrite(start: number, sequence: number): BlockWrite {
    this.jsb = { ...this.jsb, start, sequence };
    const data = new Uint8Array(this.bs);
    encodeJournalSuperblock(this.jsb, data);
    return { block: this.cfg.map[0], data };
  }

  private next(pos: number): number {
    return pos + 1 >= this.maxLen ? this.first : pos + 1;
  }

  private emit(tx: ClosedTx, steps: WriteStep[]): void {
    const n = tx.blocks.size;
    const len = transactionLogBlocks(n, tx.revokes.length, this.bs);
    if (len > this.usable) throw new Error(`transaction ${tx.tid} needs ${len} log blocks; the journal has ${this.usable}`);
    if (this.used + len > this.usable) steps.push(...this.checkpoint());
    const writes: BlockWrite[] = [];
    if (this.diskStart === 0) {
      this.diskStart = this.head;
      writes.push(this.superblockWrite(this.head, tx.tid));
    }
    let pos = this.head;
    const put = (data: Uint8Array): void => {
      writes.push({ block: this.cfg.map[pos], data });
      pos = this.next(pos);
    };
    const rpb = revokesPerBlock(this.bs);
    for (let i = 0; i < tx.revokes.length; i += rpb) put(encodeRevoke(tx.tid, tx.revokes.slice(i, i + rpb), this.bs));
    const entries = [...tx.blocks];
    const tpd = tagsPerDescriptor(this.bs);
    for (let i = 0; i < entries.length; i += tpd) {
      const chunk = entries.slice(i, i + tpd);
      const tags: JournalTag[] = chunk.map(([blockNr, data]) => ({
        blockNr,
        flags: be32(data, 0) === JBD2_MAGIC ? JBD2_FLAG_ESCAPE : 0,
      }));
      put(encodeDescriptor(tx.tid, tags, this.cfg.jsb.uuid, this.bs));
      for (const [, data] of chunk) {
        if (be32(data, 0) === JBD2_MAGIC) {
          const esc = data.slice();
          esc.fill(0, 0, 4);
          put(esc);
        } else put(data);
      }
    }
    steps.push({ what: 'journal', writes, barrier: 'flush' });
    const commitBlock = this.cfg.map[pos];
    pos = this.next(pos);
    steps.push({ what: 'commit', writes: [{ block: commitBlock, data: encodeCommit(tx.tid, this.cfg.now(), this.bs) }], barrier: 'fua' });
    this.head = pos;
    this.used += len;
    this.lastCommitted = tx.tid;
    for (const [b, data] of tx.blocks) this.checkpointList.set(b, data);
    for (const b of tx.revokes) this.checkpointList.delete(b);
  }
}
