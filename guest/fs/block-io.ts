/**
 * The file system's view of its device: an abstract block store. guest/fs never touches a bio
 * or a page; the integration layer implements FsBlockIo over the bio layer (guest/blockdev) and
 * runs its Observables on the simulation's scheduler.
 *
 * Guarantees asked of an implementation:
 * - `read(block, count)` emits once: `count * blockSize` bytes from `block * blockSize`, or an
 *   errno (EIO) — never an Observable error for a device fault.
 * - `write(writes, barrier)` emits once when every write of the batch has completed:
 *   - `'none'`: completed writes may still sit in a volatile write cache;
 *   - `'flush'`: after the batch completes, the write cache is flushed, so the batch and every
 *     write completed before it are durable when it emits (writes + REQ_OP_FLUSH, or REQ_PREFLUSH
 *     on the next write);
 *   - `'fua'`: every write of the batch is durable when it emits (REQ_FUA; emulated with a
 *     post-flush when the device has no FUA).
 *   Writes within one batch are unordered with respect to each other.
 * - `setBlockSize` changes the unit of `block` (sb_set_blocksize): mount reads the superblock in
 *   1024-byte units, then switches to the file system's block size.
 */
import type { Either } from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import type { Errno } from './errno.js';

export type Barrier = 'none' | 'flush' | 'fua';

export interface BlockWrite {
  readonly block: number;
  readonly data: Uint8Array;
}

export interface FsBlockIo {
  /** Size of the device in bytes. */
  readonly sizeBytes: number;
  /** The current block size, in bytes (1024, 2048 or 4096). */
  readonly blockSize: number;
  setBlockSize(size: number): void;
  read(block: number, count: number): Observable<Either<Errno, Uint8Array>>;
  write(writes: BlockWrite[], barrier: Barrier): Observable<Either<Errno, void>>;
}

/** Why a step is in a write plan (for traces and teaching views). */
export type StepKind =
  | 'mkfs'
  | 'journal' // descriptor, revoke and logged blocks (and the journal superblock when the log was empty)
  | 'commit' // the commit block
  | 'checkpoint' // committed copies written to their home locations
  | 'journal-superblock' // the log tail moved
  | 'replay' // journal replay at mount
  | 'superblock'; // mount state (clean / dirty) written in place

/** One batch of a write plan: issue as `io.write(writes, barrier)`, after the previous step emitted. */
export interface WriteStep {
  readonly what: StepKind;
  readonly writes: BlockWrite[];
  readonly barrier: Barrier;
}

/** An ordered list of steps; each must complete before the next is issued. */
export interface WritePlan {
  readonly steps: WriteStep[];
}

/** Every write of a plan in issue order (for crash tests that cut the plan anywhere). */
export const planWrites = (plan: WritePlan): BlockWrite[] => plan.steps.flatMap((s) => s.writes);
