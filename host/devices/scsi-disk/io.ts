/**
 * Backend calls made for one request, and what every completion does first (QEMU's
 * scsi_disk_req_check_error): move onto the device's context, finish a cancel that was
 * waiting for the I/O, and run the rerror/werror policy on an error.
 */
import { SAM_STAT_GOOD } from '../../../hw/scsi/status.js';
import type { BlockIoError } from '../../storage/block-backend-api.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import { handleRwError } from './errors.js';
import type { ScsiDiskState } from './state.js';

export class ReqIo {
  /** A backend request is outstanding (a cancel must wait for it). */
  inFlight = false;

  constructor(
    private readonly s: ScsiDiskState,
    private readonly req: ScsiRequest,
  ) {}

  /**
   * Wrap `next` as a backend callback. `next(ignored)` runs only when the request should go
   * on: no error, or an error the policy ignores (`ignored` true). Reported and stopped
   * errors end here.
   */
  cb<T>(next: (ignored: boolean, value: T | undefined) => void): (err: BlockIoError | null, value?: T) => void {
    this.inFlight = true;
    return (err, value) => {
      const resume = (): void => {
        this.inFlight = false;
        if (this.req.ioCanceled) {
          this.req.cancelComplete();
          return;
        }
        if (err !== null) {
          if (handleRwError(this.s, this.req, err)) return;
          next(true, undefined);
          return;
        }
        next(false, value);
      };
      this.s.done({ resume });
    };
  }

  /** blk_aio_flush, then GOOD (scsi_aio_complete). */
  flushThenGood(): void {
    this.s.backend!.flush(this.cb(() => this.req.complete(SAM_STAT_GOOD)));
  }
}
