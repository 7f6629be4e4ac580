/**
 * Commands the midlayer and sd send on their own (scsi_execute_cmd, drivers/scsi/scsi_lib.c):
 * INQUIRY, REPORT LUNS, READ CAPACITY, MODE SENSE, TEST UNIT READY. The data-in buffer is
 * kernel DMA memory of the size the caller asks for — always a bound the caller chose,
 * never a length a device reported — freed when the command finishes.
 *
 * The command goes through the host's dispatch and completion like any other (retries
 * counted by scsi_decide_disposition, a timer, the error handler on a timeout); what the
 * caller gets is the final result. Unit attentions are the caller's to retry, as in Linux.
 */
import { SD_TIMEOUT_MS, newCmnd, type DmaDirection, type ScsiCmnd } from './cmnd.js';
import type { ScsiDevice } from './device.js';
import { cmdGood, normalizeSense, type SenseHdr } from './disposition.js';

export interface ExecResult {
  /** Host byte, midlayer byte and status all good. */
  readonly ok: boolean;
  readonly hostByte: number;
  readonly status: number;
  /** The sense, normalized; undefined when there was none or it was not sense data. */
  readonly sense: SenseHdr | undefined;
  /** The bytes the device transferred (buffer length minus the residual). */
  readonly data: Uint8Array;
}

export interface ExecOptions {
  /** Data-in buffer size (0: no data). */
  readonly dataIn?: number;
  /** Data-out bytes. */
  readonly dataOut?: Uint8Array;
  readonly retries?: number;
  readonly timeoutMs?: number;
}

/** The most a midlayer command reads at once (a REPORT LUNS of 16384 LUNs, a VPD page). */
export const SCSI_EXEC_MAX_BUFFER = 8 + 8 * 16384;

/** scsi_execute_cmd: send `cdb` to `sdev`; `done` gets the outcome once. */
export function scsiExecute(sdev: ScsiDevice, cdb: Uint8Array, opts: ExecOptions, done: (r: ExecResult) => void): void {
  const host = sdev.host;
  const { mem, alloc, sim } = host.k;
  const inLen = Math.min(Math.max(0, Math.trunc(opts.dataIn ?? 0)), SCSI_EXEC_MAX_BUFFER);
  const out = opts.dataOut?.subarray(0, SCSI_EXEC_MAX_BUFFER);
  const len = out !== undefined ? out.length : inLen;
  const direction: DmaDirection = out !== undefined && out.length > 0 ? 'to-device' : inLen > 0 ? 'from-device' : 'none';
  const buf = len > 0 ? alloc.alloc(len, 8) : 0;
  if (len > 0) {
    if (out !== undefined) mem.write(buf, out);
    else mem.fill(buf, len);
  }
  const finish = (c: ScsiCmnd): void => {
    host.disarmTimer(c);
    sdev.busy = Math.max(0, sdev.busy - 1);
    const got = direction === 'from-device' ? Math.max(0, Math.min(len, len - c.resid)) : 0;
    const data = got > 0 ? mem.read(buf, got) : new Uint8Array(0);
    if (len > 0) alloc.free(buf, len, 8);
    done({ ok: cmdGood(c), hostByte: c.hostByte, status: c.status, sense: normalizeSense(c.sense), data });
  };
  const cmd = newCmnd({
    id: host.newCmndId(),
    device: sdev,
    cdb,
    direction,
    sg: len > 0 ? [{ addr: buf, len }] : [],
    hwq: host.cpuFor(host.k.current.index) % host.nrHwQueues,
    now: sim.now,
    allowed: opts.retries ?? 3,
    timeoutMs: opts.timeoutMs ?? SD_TIMEOUT_MS,
    finish,
  });
  sdev.busy++;
  host.armTimer(cmd);
  host.dispatchOrWait(cmd);
}

/** Run `op` up to `tries` times while it answers with a unit attention (the scan's and sd's loops). */
export function executeRetryingUa(sdev: ScsiDevice, cdb: Uint8Array, opts: ExecOptions, tries: number, done: (r: ExecResult) => void): void {
  scsiExecute(sdev, cdb, opts, (r) => {
    if (!r.ok && r.sense?.key === 0x6 && tries > 1) return executeRetryingUa(sdev, cdb, opts, tries - 1, done);
    done(r);
  });
}
