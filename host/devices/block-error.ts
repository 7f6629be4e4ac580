/**
 * What a disk front end does with a failed backend request (QEMU block/block-backend.c
 * blk_get_error_action and blk_error_action), shared by virtio-blk and scsi-hd.
 *
 * The device's `rerror`/`werror` property (`auto`: the drive's own, -drive's defaults being
 * rerror=report, werror=enospc) decides:
 *   report → the guest is told (VIRTIO_BLK_S_IOERR, CHECK CONDITION);
 *   ignore → the request completes as if it had worked;
 *   stop   → the request is kept, the VM stops (run state io-error) and the request is
 *            retried when the VM continues;
 *   enospc → stop on ENOSPC, report otherwise.
 * A read is a request whose data comes from the device; everything else (writes,
 * flushes, discards, write-zeroes) follows werror. Every report and stop is QMP's
 * BLOCK_IO_ERROR event (`block-io-error` in the trace); an ignored error raises none.
 */
import type { Simulator } from '../../sim/simulator.js';
import type { Trace } from '../../sim/trace.js';
import { DRIVE_ON_ERROR_DEFAULT, type BlockdevOnError, type BlockBackendApi, type BlockIoError } from '../storage/block-backend-api.js';

/** BlockdevOnError as a device property: `auto` keeps the drive's setting. */
export type OnError = 'auto' | BlockdevOnError;

export type BlockErrorAction = 'report' | 'ignore' | 'stop';

export const ON_ERROR_VALUES: readonly OnError[] = ['auto', 'report', 'ignore', 'stop', 'enospc'];

export function isOnError(v: unknown): v is OnError {
  return typeof v === 'string' && (ON_ERROR_VALUES as readonly string[]).includes(v);
}

/** A request an rerror/werror policy stopped: the VM should stop until the device's `resume()`. */
export interface IoErrorStop {
  readonly dev: string;
  readonly isRead: boolean;
  readonly error: BlockIoError;
}

/** The policy in force: the device's property, or the drive's when it is `auto`. */
export function effectiveOnError(policy: OnError, isRead: boolean, backend: BlockBackendApi | undefined): BlockdevOnError {
  if (policy !== 'auto') return policy;
  return backend?.onError?.(isRead) ?? (isRead ? DRIVE_ON_ERROR_DEFAULT.read : DRIVE_ON_ERROR_DEFAULT.write);
}

/** blk_get_error_action. */
export function errorAction(policy: BlockdevOnError, errno: BlockIoError['errno']): BlockErrorAction {
  switch (policy) {
    case 'enospc':
      return errno === 'ENOSPC' ? 'stop' : 'report';
    case 'stop':
      return 'stop';
    case 'ignore':
      return 'ignore';
    case 'report':
      return 'report';
  }
}

/** Where a device reports a failed request. */
export interface ErrorSite {
  readonly sim: Simulator;
  readonly trace: Trace;
  /** The device's name (its -device id). */
  readonly dev: string;
  readonly backend: BlockBackendApi | undefined;
  /** The device's rerror and werror properties. */
  readonly rerror: OnError;
  readonly werror: OnError;
  /** Told of each stop (the VM wiring stops the VM). */
  readonly onStop: ((e: IoErrorStop) => void) | undefined;
}

/**
 * blk_get_error_action + blk_error_action: decide what a failed request becomes, raise
 * BLOCK_IO_ERROR for a report or a stop, and ask for the VM to stop on a stop. The caller
 * then completes the request (report), completes it as done (ignore), or keeps it for a
 * retry (stop).
 */
export function blockErrorAction(site: ErrorSite, isRead: boolean, err: BlockIoError): BlockErrorAction {
  const action = errorAction(effectiveOnError(isRead ? site.rerror : site.werror, isRead, site.backend), err.errno);
  if (action !== 'ignore' && site.trace.active) {
    site.trace.emit({
      kind: 'block-io-error',
      t: site.sim.now,
      dev: site.dev,
      node: site.backend?.name ?? '',
      operation: isRead ? 'read' : 'write',
      action,
      nospace: err.errno === 'ENOSPC',
      reason: err.errno,
    });
  }
  if (action === 'stop') site.onStop?.({ dev: site.dev, isRead, error: err });
  return action;
}
