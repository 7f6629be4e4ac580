/**
 * errseq_t (lib/errseq.c): how a mapping's writeback error is reported once to every file
 * description that was open when it happened (or opened before anyone saw it).
 *
 * One 32-bit word: the last errno in the low 12 bits (MAX_ERRNO), a SEEN flag, and a
 * counter above them that moves only when a new error arrives after the previous one was
 * seen. A file description keeps a cursor (file->f_wb_err) sampled at open; fsync compares
 * it with the word and advances it, so each description hears of each error once.
 *
 * The vfs: at open, `cursor = { since: mapping.wbErr.sample() }`; in fsync, after the
 * data-integrity writeback, `mapping.wbErr.checkAndAdvance(cursor)`.
 */
import type { Errno } from './types.js';

const MAX_ERRNO = 0xfff;
const ERRSEQ_SEEN = 1 << 12;
const ERRSEQ_CTR_INC = 1 << 13;

/** Linux's errno numbers for the errors writeback can record. */
const ERRNO_NUMBER: Record<Errno, number> = { EIO: 5, ENOMEM: 12, EFAULT: 14, EBUSY: 16, EINVAL: 22, ENOSPC: 28 };
const ERRNO_NAME = new Map<number, Errno>(Object.entries(ERRNO_NUMBER).map(([k, v]) => [v, k as Errno]));

/** A file description's view of a mapping's errors (file->f_wb_err). */
export interface ErrSeqCursor {
  since: number;
}

export class ErrSeq {
  private value = 0;

  /** The raw word, for tests and traces. */
  get raw(): number {
    return this.value;
  }

  /** errseq_set: record `err`; bump the counter only if the previous error was seen. */
  set(err: Errno): void {
    const old = this.value;
    let next = (old & ~(MAX_ERRNO | ERRSEQ_SEEN)) | ERRNO_NUMBER[err];
    if (old & ERRSEQ_SEEN) next += ERRSEQ_CTR_INC;
    this.value = next >>> 0;
  }

  /** errseq_sample: the cursor for a new opener (0 if the current error was never seen, so it will be reported). */
  sample(): number {
    const old = this.value;
    return old & ERRSEQ_SEEN ? old : 0;
  }

  /** errseq_check: the error recorded since `since`, without advancing. */
  check(since: number): Errno | undefined {
    const cur = this.value;
    if (cur === since) return undefined;
    return ERRNO_NAME.get(cur & MAX_ERRNO);
  }

  /** errseq_check_and_advance: report an error recorded since the cursor once, mark it seen, advance the cursor. */
  checkAndAdvance(cursor: ErrSeqCursor): Errno | undefined {
    const old = this.value;
    if (old === cursor.since) return undefined;
    const next = (old | ERRSEQ_SEEN) >>> 0;
    this.value = next;
    cursor.since = next;
    return ERRNO_NAME.get(next & MAX_ERRNO);
  }
}
