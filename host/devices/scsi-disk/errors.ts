/**
 * What a failed backend request becomes (QEMU hw/scsi/scsi-disk.c scsi_handle_rw_error,
 * scsi/utils.c scsi_sense_from_errno); the rerror/werror policy is the shared one
 * (host/devices/block-error.ts).
 *
 * The errno picks the sense, as QEMU's scsi_sense_from_errno does (on a Linux host):
 *   ENODATA   → MEDIUM ERROR, UNRECOVERED READ ERROR    EREMOTEIO → HARDWARE ERROR, TARGET FAILURE
 *   ENOMEDIUM → NOT READY, MEDIUM NOT PRESENT          EINVAL → ILLEGAL REQUEST, INVALID FIELD IN CDB
 *   ENOSPC    → DATA PROTECT, SPACE ALLOCATION FAILED    anything else (EIO, EROFS, ENOTSUP) →
 *                                                        ABORTED COMMAND, I/O PROCESS TERMINATED
 * (WRITE PROTECTED comes earlier, from the device's own check of a read-only drive.)
 */
import { SAM_STAT_CHECK_CONDITION } from '../../../hw/scsi/status.js';
import type { BlockIoError } from '../../storage/block-backend-api.js';
import { blockErrorAction } from '../block-error.js';
import { SENSE, senseName, type SenseCode } from '../scsi-bus/defs.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import type { ScsiDiskState } from './state.js';

export { errorAction, type BlockErrorAction } from '../block-error.js';

/** scsi_sense_from_errno for the errnos a BlockBackend reports. */
export function senseFromErrno(errno: BlockIoError['errno']): SenseCode {
  switch (errno) {
    case 'ENODATA':
      return SENSE.READ_ERROR;
    case 'EREMOTEIO':
      return SENSE.TARGET_FAILURE;
    case 'ENOMEDIUM':
      return SENSE.NO_MEDIUM;
    case 'EINVAL':
      return SENSE.INVALID_FIELD;
    case 'ENOSPC':
      return SENSE.SPACE_ALLOC_FAILED;
    default:
      return SENSE.IO_ERROR;
  }
}

/**
 * scsi_handle_rw_error: true when the request is dealt with (completed with CHECK
 * CONDITION, or stopped for a retry), false when the error is ignored and the command
 * should carry on.
 */
export function handleRwError(s: ScsiDiskState, req: ScsiRequest, err: BlockIoError): boolean {
  const isRead = req.cmd.mode === 'from-dev';
  const action = blockErrorAction(s.errorSite, isRead, err);
  switch (action) {
    case 'report': {
      const sense = senseFromErrno(err.errno);
      req.buildSense(sense);
      req.complete(SAM_STAT_CHECK_CONDITION);
      if (s.trace.active) s.trace.emit({ kind: 'note', t: s.sim.now, where: s.name, text: `tag ${req.tag}: CHECK CONDITION ${senseName(sense)}` });
      return true;
    }
    case 'ignore':
      return false;
    case 'stop':
      req.retry = true;
      return true;
  }
}
