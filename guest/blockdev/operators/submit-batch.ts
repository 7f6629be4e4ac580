/**
 * `submitBatch(dev, task)`: each incoming batch of bios is submitted under one plug
 * (blk_start_plug … blk_finish_plug, as writeback and readahead do), and the batch's
 * status — the first failure, else ok — is emitted when all of its bios have completed.
 * Batches are independent: a later one may complete first.
 */
import { forkJoin, map, mergeMap, of, type OperatorFunction } from 'rxjs';
import type { Task } from '../../kernel/task.js';
import type { Bio } from '../bio.js';
import type { GuestBlockDevice } from '../block-device.js';
import type { BlkStatus } from '../request.js';

export function submitBatch(dev: GuestBlockDevice, task: Task): OperatorFunction<readonly Bio[], BlkStatus> {
  return mergeMap((bios) => {
    if (bios.length === 0) return of<BlkStatus>('ok');
    dev.startPlug(task);
    const each = bios.map((b) => dev.submitBio(task, b));
    dev.finishPlug(task);
    return forkJoin(each).pipe(map((sts) => sts.find((s) => s !== 'ok') ?? 'ok'));
  });
}
