/**
 * What a failed backend request becomes (QEMU hw/scsi/scsi-disk.c scsi_handle_rw_error,
 * scsi/utils.c scsi_sense_from_errno, block/block-backend.c blk_get_error_action).
 *
 * The errno picks the sense, as QEMU's scsi_sense_from_errno does:
 *   ENOMEDIUM → NOT READY, MEDIUM NOT PRESENT          EINVAL → ILLEGAL REQUEST, INVALID FIELD IN CDB
 *   ENOSPC    → DATA PROTECT, SPACE ALLOCATION FAILED    anything else (EIO, EROFS, ENOTSUP) →
 *                                                        ABORTED COMMAND, I/O PROCESS TERMINATED
 * (WRITE PROTECTED comes earlier, from the device's own check of a read-only drive.)
 *
 * The rerror/werror policy then decides (`auto`: the drive's defaults, rerror=report,
 * werror=enospc): report → CHECK CONDITION; ignore → the command goes on as if it had
 * worked; stop → the request waits (QEMU stops the VM with RUN_STATE_IO_ERROR) and is
 * retried when the VM resumes; enospc → stop on ENOSPC, report otherwise. A read is a
 * command whose data comes from the device; everything else (writes, flushes, UNMAP)
 * follows werror.
 */
import { SAM_STAT_CHECK_CONDITION } from '../../../hw/scsi/status.js';
import type { BlockIoError } from '../../storage/block-backend-api.js';
import { SENSE, senseName, type SenseCode } from '../scsi-bus/defs.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import type { OnError } from './props.js';
import type { ScsiDiskState } from './state.js';

export type BlockErrorAction = 'report' | 'ignore' | 'stop';

/** scsi_sense_from_errno for the errnos a BlockBackend reports. */
export function senseFromErrno(errno: BlockIoError['errno']): SenseCode {
  switch (errno) {
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

/** blk_get_error_action, with 'auto' resolved to the drive's defaults. */
export function errorAction(policy: OnError, isRead: boolean, errno: BlockIoError['errno']): BlockErrorAction {
  const p = policy === 'auto' ? (isRead ? 'report' : 'enospc') : policy;
  switch (p) {
    case 'enospc':
      return errno === 'ENOSPC' ? 'stop' : 'report';
    case 'stop':
      return 'stop';
    case 'ignore':
      return 'ignore';
    default:
      return 'report';
  }
}

/**
 * scsi_handle_rw_error: true when the request is dealt with (completed with CHECK
 * CONDITION, or stopped for a retry), false when the error is ignored and the command
 * should carry on.
 */
export function handleRwError(s: ScsiDiskState, req: ScsiRequest, err: BlockIoError): boolean {
  const isRead = req.cmd.mode === 'from-dev';
  const action = errorAction(isRead ? s.conf.rerror : s.conf.werror, isRead, err.errno);
  if (s.trace.active) {
    s.trace.emit({ kind: 'note', t: s.sim.now, where: s.name, text: `${isRead ? 'read' : 'write'} error ${err.errno} (${err.message}): ${action}` });
  }
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
      s.onStop?.({ dev: s.name, isRead, error: err });
      return true;
  }
}
