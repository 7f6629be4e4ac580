/**
 * What the parts of scsi-hd / scsi-cd share (QEMU's SCSIDiskState): the wiring, the
 * realized properties, and the mutable state commands touch (block size, last LBA, write
 * cache, tray).
 */
import type { ExecutionContext } from '../../../sim/context.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { BlockBackendApi } from '../../storage/block-backend-api.js';
import type { ErrorSite, IoErrorStop } from '../block-error.js';
import type { ScsiDeviceCommon } from '../scsi-bus/device.js';
import type { ScsiDiskConf } from './props.js';

/** A request stopped by rerror/werror=stop (or enospc on ENOSPC): the VM should stop until `resume()`. */
export type ScsiIoErrorStop = IoErrorStop;

export interface ScsiDiskState {
  readonly name: string;
  readonly sim: Simulator;
  readonly trace: Trace;
  /** Where backend completions run (the BlockBackend's AioContext); none: in the callback itself. */
  readonly context: ExecutionContext | undefined;
  /** The drive; undefined for a scsi-cd with no medium. */
  readonly backend: BlockBackendApi | undefined;
  readonly conf: ScsiDiskConf;
  readonly common: ScsiDeviceCommon;
  /** TYPE_DISK or TYPE_ROM. */
  readonly type: number;
  /** VPD 0x83 ASCII designator (device_id, else the serial cut to 20, else the drive id). */
  readonly deviceId: string | undefined;
  /** The drive's largest request (blk_get_max_transfer), bytes. */
  readonly maxTransfer: number;
  /** Logical block size in bytes; MODE SELECT's block descriptor may change it. */
  blocksize: number;
  /** Last LBA as of the last READ CAPACITY or reset (check_lba_range uses it). */
  maxLba: number;
  /** blk_enable_write_cache. */
  wce: boolean;
  trayOpen: boolean;
  trayLocked: boolean;
  /** GET EVENT STATUS NOTIFICATION media events. */
  mediaEvent: boolean;
  ejectRequest: boolean;
  /** Where failed requests are reported (rerror/werror, BLOCK_IO_ERROR, the VM's stop: block-error.ts). */
  readonly errorSite: ErrorSite;
  /** copy.byte: what moving one byte between guest memory and the drive costs (0 without a cost model). */
  readonly copyByteNs: number;
  /** Run backend-completion work on the device's context: `c.resume()` there. */
  done(c: Continuation): void;
  /** READ/WRITE handlers whose commands are over, kept for the next ones (dma.ts). */
  readonly dmaSpare: unknown[];
}

/** What runs on the device's context after a backend request came back (a request's next step). */
export interface Continuation {
  resume(): void;
}

/** blk_is_available: a medium is inserted and the tray is closed. */
export function available(s: ScsiDiskState): boolean {
  return s.backend !== undefined && !s.trayOpen;
}

/** blk_is_writable: a writable drive under a device that may write (scsi-cd never does). */
export function writable(s: ScsiDiskState): boolean {
  return s.backend !== undefined && !s.backend.readOnly && s.conf.kind === 'scsi-hd';
}

/** The drive's size in 512-byte sectors (blk_get_geometry); 0 without a medium. */
export function nbSectors(s: ScsiDiskState): number {
  return s.backend === undefined ? 0 : Math.floor(s.backend.length() / 512);
}

/** check_lba_range: [lba, lba+n) within the disk; a 0-block access just past the end is valid. */
export function lbaRangeOk(s: ScsiDiskState, lba: number, n: number): boolean {
  return lba >= 0 && lba + n <= s.maxLba + 1;
}

