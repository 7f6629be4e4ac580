/**
 * The bio: one block I/O as the kernel's upper layers (page cache, file system, direct
 * I/O) hand it to the block layer — Linux's `struct bio` (include/linux/blk_types.h)
 * reduced to what the storage path needs: an operation on a range of 512-byte sectors,
 * its data as guest-physical scatter-gather elements (the bio_vec array), and the REQ_*
 * flags that change how it travels.
 *
 * `flush` is the empty REQ_PREFLUSH write that blkdev_issue_flush sends; the block layer
 * treats `{ op: 'flush' }` and `{ op: 'write', sectors: 0, preflush: true }` alike.
 */
import type { SgElem } from '../../hw/memory.js';

export const SECTOR_SHIFT = 9;
export const SECTOR_SIZE = 1 << SECTOR_SHIFT;

export type BioOp = 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes';

export interface Bio {
  op: BioOp;
  /** First 512-byte sector. */
  sector: number;
  /** Length in 512-byte sectors (0 for a flush). */
  sectors: number;
  /** Guest-physical pages (page-cache pages or user buffers); empty for flush, discard, write-zeroes. */
  segments: SgElem[];
  /** REQ_PREFLUSH: flush the device's volatile cache before this bio's data. */
  preflush?: boolean;
  /** REQ_FUA: this bio's data is on stable storage when it completes. */
  fua?: boolean;
  /** REQ_SYNC: someone waits for it. */
  sync?: boolean;
  /** REQ_META: file-system metadata. */
  meta?: boolean;
  /** REQ_NOUNMAP: write-zeroes must not deallocate. */
  noUnmap?: boolean;
}

/** REQ_* flag bits as the block layer carries them internally (one number, cheap to test). */
export const REQ_PREFLUSH = 1;
export const REQ_FUA = 2;
export const REQ_SYNC = 4;
export const REQ_META = 8;
export const REQ_NOUNMAP = 16;
/** REQ_NOMERGE_FLAGS (include/linux/blk_types.h): a bio or request with these never merges. */
export const REQ_NOMERGE_FLAGS = REQ_PREFLUSH | REQ_FUA;

/** The flag bits of a bio (a flush is an empty PREFLUSH write). */
export function bioFlags(bio: Bio): number {
  let f = 0;
  if (bio.preflush || bio.op === 'flush') f |= REQ_PREFLUSH;
  if (bio.fua) f |= REQ_FUA;
  if (bio.sync) f |= REQ_SYNC;
  if (bio.meta) f |= REQ_META;
  if (bio.noUnmap) f |= REQ_NOUNMAP;
  return f;
}

const FLAG_NAMES: readonly [number, string][] = [
  [REQ_PREFLUSH, 'PREFLUSH'],
  [REQ_FUA, 'FUA'],
  [REQ_SYNC, 'SYNC'],
  [REQ_META, 'META'],
  [REQ_NOUNMAP, 'NOUNMAP'],
];
const FLAG_TEXT: readonly string[] = Array.from({ length: 32 }, (_, f) =>
  FLAG_NAMES.filter(([bit]) => f & bit)
    .map(([, name]) => name)
    .join('|'),
);

/** The flags as text, for traces: "PREFLUSH|FUA". */
export function flagsText(flags: number): string {
  return FLAG_TEXT[flags & 31];
}

/** Bytes covered by scatter-gather elements. */
export function sgBytes(sg: readonly SgElem[]): number {
  let n = 0;
  for (let i = 0; i < sg.length; i++) n += sg[i].len;
  return n;
}

/** op_is_write: writes, discards and write-zeroes go the WRITE direction (mq-deadline's two queues). */
export function isWriteOp(op: BioOp): boolean {
  return op !== 'read';
}

/** Extra flags a builder may set. */
export interface BioFlagsOpt {
  preflush?: boolean;
  fua?: boolean;
  sync?: boolean;
  meta?: boolean;
}

function withFlags(bio: Bio, f: BioFlagsOpt | undefined): Bio {
  if (f?.preflush) bio.preflush = true;
  if (f?.fua) bio.fua = true;
  if (f?.sync) bio.sync = true;
  if (f?.meta) bio.meta = true;
  return bio;
}

function dataSectors(segments: readonly SgElem[]): number {
  const bytes = sgBytes(segments);
  if (bytes % SECTOR_SIZE !== 0) throw new Error(`bio: data of ${bytes} bytes is not a whole number of sectors`);
  return bytes >> SECTOR_SHIFT;
}

/** A read of `segments` (their total length) starting at `sector`. */
export function readBio(sector: number, segments: SgElem[], flags?: BioFlagsOpt): Bio {
  return withFlags({ op: 'read', sector, sectors: dataSectors(segments), segments }, flags);
}

/** A write of `segments` starting at `sector`. */
export function writeBio(sector: number, segments: SgElem[], flags?: BioFlagsOpt): Bio {
  return withFlags({ op: 'write', sector, sectors: dataSectors(segments), segments }, flags);
}

/** blkdev_issue_flush: an empty REQ_PREFLUSH write. */
export function flushBio(): Bio {
  return { op: 'flush', sector: 0, sectors: 0, segments: [], preflush: true, sync: true };
}

/** A discard (REQ_OP_DISCARD) of a sector range. */
export function discardBio(sector: number, sectors: number): Bio {
  return { op: 'discard', sector, sectors, segments: [] };
}

/** A write-zeroes (REQ_OP_WRITE_ZEROES); `noUnmap` forbids deallocation (REQ_NOUNMAP). */
export function writeZeroesBio(sector: number, sectors: number, opts: { noUnmap?: boolean } = {}): Bio {
  return { op: 'write-zeroes', sector, sectors, segments: [], noUnmap: opts.noUnmap };
}
