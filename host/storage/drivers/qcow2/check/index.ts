/**
 * The qcow2 checker (qemu-img check) and what builds on it: the repair of a dirty image
 * (lazy refcounts) when it is opened writable, which QEMU does with the same check and
 * BDRV_FIX_ERRORS | BDRV_FIX_LEAKS. Importing this module installs that repair.
 */
import type { IoAcct } from '../../../driver.js';
import type { BlockError } from '../../../errors.js';
import { setDirtyImageRepair } from '../lifecycle.js';
import type { Qcow2State } from '../state.js';
import { qcow2Check } from './check.js';

export { qcow2Check } from './check.js';
export { checkMetadataOverlap, preWriteOverlapCheck, OL_ALL, OL_CACHED } from './overlap.js';

/** qcow2_do_open's repair of a dirty image: check with every repair, or refuse to open. */
export function repairDirtyImage(s: Qcow2State, acct: IoAcct): BlockError | null {
  const r = qcow2Check(s, { leaks: true, errors: true }, acct);
  const failed = r._tag === 'Left' || r.right.checkErrors > 0;
  return failed ? { _tag: 'DriverError', driver: 'qcow2', message: 'Could not repair dirty image: Input/output error' } : null;
}

setDirtyImageRepair(repairDirtyImage);
