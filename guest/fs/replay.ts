/**
 * Journal recovery (fs/jbd2/recovery.c: jbd2_journal_recover, do_one_pass), as a pure function
 * of the journal's blocks. Three passes over the log from s_start, expecting s_sequence:
 *   SCAN    find the end of the log: the first block that is not a journal block of the expected
 *           transaction; a transaction counts only once its commit block is found, so an
 *           uncommitted tail is ignored;
 *   REVOKE  collect revoke records of committed transactions (block → latest revoking tid);
 *   REPLAY  the logged copies of committed transactions, in order, except those revoked by a
 *           transaction at least as new.
 * Afterwards the journal superblock is written empty with s_sequence = end + 1, so no stale block
 * of the ignored tail can ever match again.
 */
import type { BlockWrite } from './block-io.js';
import {
  decodeDescriptorTags,
  decodeHeader,
  decodeRevoke,
  JBD2_COMMIT_BLOCK,
  JBD2_DESCRIPTOR_BLOCK,
  JBD2_FLAG_ESCAPE,
  JBD2_MAGIC,
  JBD2_REVOKE_BLOCK,
  type JournalSuperblock,
  type JournalTag,
} from './journal-format.js';
import { setBe32 } from './bytes.js';

export interface ReplayPlan {
  /** Home-block writes, in replay order (a later write of the same block wins). */
  readonly writes: BlockWrite[];
  /** Committed transactions found. */
  readonly transactions: number;
  /** The first transaction id not committed (end of the log). */
  readonly endSequence: number;
  /** Oddities met (a home block outside the file system …). */
  readonly problems: string[];
}

interface Visitor {
  descriptor?(seq: number, tags: JournalTag[], dataPos: number[]): void;
  revoke?(seq: number, blocks: number[]): void;
}

/** Walks the log; returns the sequence after the last commit found. */
function walk(jsb: JournalSuperblock, read: (pos: number) => Uint8Array | undefined, v: Visitor): number {
  const next = (p: number): number => (p + 1 >= jsb.maxLen ? jsb.first : p + 1);
  let pos = jsb.start;
  let seq = jsb.sequence;
  let consumed = 0;
  while (consumed < jsb.maxLen) {
    const b = read(pos);
    if (!b) break;
    const h = decodeHeader(b);
    if (h.magic !== JBD2_MAGIC || h.sequence !== seq) break;
    if (h.blockType === JBD2_DESCRIPTOR_BLOCK) {
      const tags = decodeDescriptorTags(b);
      const dataPos: number[] = [];
      for (let i = 0; i < tags.length; i++) {
        pos = next(pos);
        consumed++;
        dataPos.push(pos);
      }
      v.descriptor?.(seq, tags, dataPos);
    } else if (h.blockType === JBD2_COMMIT_BLOCK) seq = (seq + 1) >>> 0;
    else if (h.blockType === JBD2_REVOKE_BLOCK) v.revoke?.(seq, decodeRevoke(b));
    else break;
    pos = next(pos);
    consumed++;
  }
  return seq;
}

/**
 * Plans recovery of a journal whose superblock says the log starts at `jsb.start` (≠ 0).
 * `read(pos)` gives journal block `pos`; `validBlock` says whether a home block may be written.
 */
export function planReplay(
  jsb: JournalSuperblock,
  read: (pos: number) => Uint8Array | undefined,
  validBlock: (block: number) => boolean,
): ReplayPlan {
  if (jsb.start === 0) return { writes: [], transactions: 0, endSequence: jsb.sequence, problems: [] };
  const end = walk(jsb, read, {});
  const committed = (seq: number): boolean => ((seq - jsb.sequence) >>> 0) < ((end - jsb.sequence) >>> 0);
  const revoked = new Map<number, number>();
  walk(jsb, read, {
    revoke(seq, blocks) {
      if (!committed(seq)) return;
      for (const b of blocks) revoked.set(b, Math.max(revoked.get(b) ?? seq, seq));
    },
  });
  const writes: BlockWrite[] = [];
  const problems: string[] = [];
  walk(jsb, read, {
    descriptor(seq, tags, dataPos) {
      if (!committed(seq)) return;
      tags.forEach((t, i) => {
        const r = revoked.get(t.blockNr);
        if (r !== undefined && r >= seq) return;
        if (!validBlock(t.blockNr)) {
          problems.push(`transaction ${seq} logs block ${t.blockNr}, outside the file system: skipped`);
          return;
        }
        const src = read(dataPos[i]);
        if (!src) return;
        const data = src.slice();
        if ((t.flags & JBD2_FLAG_ESCAPE) !== 0) setBe32(data, 0, JBD2_MAGIC);
        writes.push({ block: t.blockNr, data });
      });
    },
  });
  return { writes, transactions: (end - jsb.sequence) >>> 0, endSequence: end >>> 0, problems };
}

/** The last write of each block, in block order. */
export function lastWrites(writes: BlockWrite[]): BlockWrite[] {
  const m = new Map<number, Uint8Array>();
  for (const w of writes) m.set(w.block, w.data);
  return [...m].sort((a, b) => a[0] - b[0]).map(([block, data]) => ({ block, data }));
}
