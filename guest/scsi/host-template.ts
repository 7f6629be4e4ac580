/**
 * What a low-level SCSI driver gives the midlayer (struct scsi_host_template and the
 * Scsi_Host fields it sets at probe, include/scsi/scsi_host.h). The midlayer guarantees:
 *
 * - `queuecommand` gets a command whose CDB fits `maxCmdLen` and whose data buffer has at
 *   most `sgTablesize` segments and `maxSectors` × 512 bytes; the driver either takes it
 *   (and later calls `ScsiHost.scsiDone` exactly once, unless the command is aborted
 *   with success) or answers `host-busy` (SCSI_MLQUEUE_HOST_BUSY) and keeps nothing.
 * - `commitRqs` is called when a batch ended on a command that was not marked `last`.
 * - The error-handling callbacks run one at a time, from the error handler, each with a
 *   command of the device (or target, bus, host) to act on; they answer by calling
 *   `done` once, 'success' or 'failed'. A missing callback is a step the error handler
 *   skips, as Linux does.
 * - `ehTimedOut` is asked first when a command times out: 'reset-timer' gives the
 *   command another timeout (virtio-scsi always says so), 'not-handled' lets the
 *   midlayer abort it and escalate.
 */
import type { ScsiCmnd } from './cmnd.js';
import type { ScsiDevice } from './device.js';

export type EhResult = 'success' | 'failed';
export type EhDone = (r: EhResult) => void;

export interface ScsiHostTemplate {
  /** "Virtio SCSI HBA". */
  readonly name: string;
  queuecommand(cmd: ScsiCmnd): 'ok' | 'host-busy';
  commitRqs?(hwq: number): void;
  ehAbortHandler?(cmd: ScsiCmnd, done: EhDone): void;
  ehDeviceResetHandler?(cmd: ScsiCmnd, done: EhDone): void;
  ehTargetResetHandler?(cmd: ScsiCmnd, done: EhDone): void;
  ehBusResetHandler?(cmd: ScsiCmnd, done: EhDone): void;
  ehHostResetHandler?(cmd: ScsiCmnd, done: EhDone): void;
  ehTimedOut?(cmd: ScsiCmnd): 'reset-timer' | 'not-handled';
  /** slave_alloc / sdev_init: a device was allocated by the scan. */
  sdevInit?(sdev: ScsiDevice): void;
}

/** The Scsi_Host fields a driver sets before scsi_add_host. */
export interface ScsiHostLimits {
  /** Commands per hardware queue (the tag set's depth). */
  canQueue: number;
  /** Default queue depth of each device. */
  cmdPerLun: number;
  /** 512-byte sectors per command (max_hw_sectors). */
  maxSectors: number;
  /** Data segments per command. */
  sgTablesize: number;
  /** Targets are 0..maxId-1, LUNs 0..maxLun-1, channels 0..maxChannel. */
  maxId: number;
  maxLun: number;
  maxChannel: number;
  /** Longest CDB the driver takes. */
  maxCmdLen: number;
  nrHwQueues: number;
}
