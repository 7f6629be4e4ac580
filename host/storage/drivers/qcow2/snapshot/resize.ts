/**
 * Resizing an image that has internal snapshots, as snapshot goto needs when the
 * snapshot's disk size differs from the current one. QEMU 7.2 allows it for v3 images
 * (qcow2_co_truncate: "Can't resize a v2 image which has snapshots"); every snapshot
 * records its own disk size there, so nothing is lost. The truncation itself is the
 * driver's; only the refusal differs.
 */
import type { BlockIoError } from '../../../block-backend-api.js';
import type { IoAcct } from '../../../driver.js';
import { ioError } from '../../../errors.js';
import type { Qcow2State } from '../state.js';
import { qcow2Truncate } from '../truncate.js';

export function resizeForSnapshot(s: Qcow2State, size: number, acct: IoAcct): BlockIoError | null {
  if (s.version < 3) return ioError('ENOTSUP', "Can't resize a v2 image which has snapshots");
  const nb = s.nbSnapshots;
  // The driver's truncate refuses any image with snapshots; v3 images may be resized.
  s.nbSnapshots = 0;
  try {
    return qcow2Truncate(s, size, 'off', acct);
  } finally {
    s.nbSnapshots = nb;
  }
}
