/**
 * multipathd's `tur` path checker (libmultipath/checkers/tur.c): TEST UNIT READY to the
 * path's SCSI device, through the midlayer like any SG_IO command (no retries of its
 * own), and what the answer says about the path:
 *
 *   GOOD                                  up
 *   UNIT ATTENTION                        asked again, up to 3 times in all (a reset or
 *                                         a LUN change is news, not a failure)
 *   NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE   ghost
 *   anything else (a transport failure, an offline or removed device)      down
 *
 * A device that does not answer within `timeoutNs` (checker_timeout) is down; its late
 * answer is ignored, and the path is not checked again while its command is out.
 */
import { TEST_UNIT_READY } from '../../hw/scsi/opcodes.js';
import { NOT_READY, UNIT_ATTENTION } from '../../hw/scsi/sense-codes.js';
import type { ScsiDevice } from '../scsi/device.js';
import { scsiExecute } from '../scsi/execute.js';

/** PATH_UP, PATH_DOWN, PATH_GHOST (libmultipath/checkers.h). */
export type CheckerState = 'up' | 'down' | 'ghost';

export interface CheckerResult {
  readonly state: CheckerState;
  /** The checker's message, as multipathd logs it. */
  readonly message: string;
}

/** tur.c retries a unit attention this many times in all. */
export const TUR_UA_TRIES = 3;

const TUR_CDB = (): Uint8Array => Uint8Array.of(TEST_UNIT_READY, 0, 0, 0, 0, 0);

/** One check of `sdev`; `done` runs once. */
export function turCheck(sdev: ScsiDevice, timeoutNs: number, done: (r: CheckerResult) => void): void {
  const clock = sdev.host.k.clock;
  let finished = false;
  const finish = (r: CheckerResult): void => {
    if (finished) return;
    finished = true;
    timer.cancel();
    done(r);
  };
  const timer = clock.after(timeoutNs, () => finish({ state: 'down', message: 'tur checker timed out' }));
  const attempt = (left: number): void => {
    scsiExecute(sdev, TUR_CDB(), { retries: 0, timeoutMs: Math.max(1, Math.ceil(timeoutNs / 1e6)) }, (r) => {
      if (r.ok) return finish({ state: 'up', message: 'tur checker reports path is up' });
      const key = r.sense?.key;
      if (key === UNIT_ATTENTION && left > 1) return attempt(left - 1);
      if (key === NOT_READY && r.sense?.asc === 0x04 && r.sense.ascq === 0x0b) return finish({ state: 'ghost', message: 'tur checker reports path is in standby state' });
      finish({ state: 'down', message: `tur checker reports path is down (host byte 0x${r.hostByte.toString(16)}, status 0x${r.status.toString(16)})` });
    });
  };
  attempt(TUR_UA_TRIES);
}
