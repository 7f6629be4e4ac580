/**
 * Building and submitting the bios a file system makes (fs/mpage.c, fs/direct-io.c in
 * spirit): pieces of memory bound for consecutive sectors share one bio of at most
 * BIO_MAX_VECS segments; a batch goes in under the task's plug, so the block layer
 * merges and dispatches it together, and its one status is the first failure or `ok`.
 */
import type { SgElem } from '../../hw/memory.js';
import { readBio, SECTOR_SIZE, writeBio, type Bio, type BioFlagsOpt } from '../blockdev/bio.js';
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import type { BlkStatus } from '../blockdev/request.js';
import type { Task } from '../kernel/task.js';

/** Most segments one bio carries (BIO_MAX_VECS). */
export const BIO_MAX_VECS = 256;

/** `len` bytes of guest memory at `addr`, to or from the disk at 512-byte sector `sector`. */
export interface IoPiece {
  readonly sector: number;
  readonly addr: number;
  readonly len: number;
}

/** Bios for `pieces` in ascending sector order: a piece that continues the previous one joins its bio. */
export function buildBios(op: 'read' | 'write', pieces: readonly IoPiece[], flags?: BioFlagsOpt): Bio[] {
  const out: Bio[] = [];
  let start = 0;
  let end = 0;
  let segs: SgElem[] = [];
  const flush = (): void => {
    if (segs.length === 0) return;
    out.push(op === 'read' ? readBio(start, segs, flags) : writeBio(start, segs, flags));
    segs = [];
  };
  for (const p of pieces) {
    if (segs.length === 0 || p.sector !== end || segs.length >= BIO_MAX_VECS) {
      flush();
      start = p.sector;
      end = p.sector;
    }
    segs.push({ addr: p.addr, len: p.len });
    end += p.len / SECTOR_SIZE;
  }
  flush();
  return out;
}

/**
 * submit_bio each of `bios` as `task` under one plug; `done` once, with `ok` or the first
 * failure, when every one has completed (at once for an empty list). Unless `wait` is
 * false the task then sleeps until they complete (submit_bio_wait).
 */
export function submitBios(task: Task, dev: GuestBlockDevice, bios: readonly Bio[], done: (s: BlkStatus) => void, wait = true): void {
  if (bios.length === 0) return done('ok');
  let left = bios.length;
  let status: BlkStatus = 'ok';
  const end = (s: BlkStatus): void => {
    if (s !== 'ok' && status === 'ok') status = s;
    if (--left === 0) done(status);
  };
  dev.startPlug(task);
  for (const b of bios) dev.submitBio(task, b).subscribe(end);
  dev.finishPlug(task);
  if (wait && left > 0) task.sleep();
}
