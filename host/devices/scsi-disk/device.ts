/**
 * QEMU's scsi-hd and scsi-cd (hw/scsi/scsi-disk.c) as devices on a `ScsiBus`.
 *
 *   const disk = createScsiDisk({ kind: 'scsi-hd', sim, trace, backend, name: 'disk0', props });
 *   bus.attach(E.getOrElseW(...)(disk));     // the bus assigns scsi-id / lun and resets it
 *
 * Commands are dispatched as QEMU's scsi_disk_reqops_dispatch does: READ/WRITE(6/10/12/16)
 * and WRITE AND VERIFY go to the DMA path (dma.ts), everything else — known or not — to
 * the emulation (emulate.ts). Backend completions run on `context` when one is given (the
 * BlockBackend's AioContext: QEMU's main loop or the HBA's iothread).
 *
 * rerror/werror=stop: the request waits and `onStop` is told; the VM wiring pauses the
 * guest and calls `resume()` when it continues (QEMU's scsi_dma_restart_cb).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ExecutionContext } from '../../../sim/context.js';
import type { CostModel } from '../../../sim/costs.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { BlockBackendApi } from '../../storage/block-backend-api.js';
import * as op from '../scsi-bus/defs.js';
import { ScsiDeviceCommon, type ScsiDevice } from '../scsi-bus/device.js';
import type { ScsiReqHandler, ScsiRequest } from '../scsi-bus/request.js';
import { dmaHandler } from './dma.js';
import { emulateHandler } from './emulate.js';
import { setWriteCache } from './mode.js';
import { DEFAULT_SCSI_DISK_PROPS, realizeScsiDiskProps, scsiDiskPropErrorMessage, type ScsiDiskKind, type ScsiDiskPropError, type ScsiDiskProps } from './props.js';
import { nbSectors, type Continuation, type ScsiDiskState, type ScsiIoErrorStop } from './state.js';

export interface ScsiDiskOptions {
  readonly kind: ScsiDiskKind;
  readonly sim: Simulator;
  readonly trace: Trace;
  /** The emulation's costs (qemu.scsi.request, qemu.scsi.complete); none: free (unit tests). */
  readonly costs?: CostModel;
  /** Where backend completions run; default: straight from the backend's callback. */
  readonly context?: ExecutionContext;
  /** The `drive`; scsi-cd may have none (an empty tray). */
  readonly backend?: BlockBackendApi;
  /** The drive's id (QEMU's blk_name), the VPD 0x83 designator when there is no serial. */
  readonly driveId?: string;
  /** The `-device ...,id=`. */
  readonly name: string;
  /** Parsed property values (parseScsiDiskProps); absent ones take QEMU's defaults. */
  readonly props?: Partial<ScsiDiskProps>;
  readonly onStop?: (e: ScsiIoErrorStop) => void;
  /** The drive's largest request in bytes (blk_get_max_transfer); default INT_MAX rounded down to 512. */
  readonly maxTransfer?: number;
}

export type ScsiDiskError = ScsiDiskPropError | { readonly _tag: 'NoDrive'; readonly message: string };

export function scsiDiskErrorMessage(kind: ScsiDiskKind, e: ScsiDiskError): string {
  return e._tag === 'NoDrive' ? e.message : scsiDiskPropErrorMessage(kind, e);
}

export interface ScsiDisk extends ScsiDevice {
  readonly state: ScsiDiskState;
  /** The VM continues after an rerror/werror stop: retry the stopped requests. */
  resume(): void;
}

/** READ/WRITE and WRITE AND VERIFY: scsi_disk_dma_reqops (1 by opcode). */
const DMA_OPS = new Uint8Array(256);
for (const c of [
  op.READ_6, op.READ_10, op.READ_12, op.READ_16, op.WRITE_6, op.WRITE_10, op.WRITE_12, op.WRITE_16,
  op.WRITE_VERIFY_10, op.WRITE_VERIFY_12, op.WRITE_VERIFY_16,
]) DMA_OPS[c] = 1;

const DEFAULT_MAX_TRANSFER = 0x7fff_ffff - (0x7fff_ffff % 512);

/** scsi_hd_realize / scsi_cd_realize + scsi_realize. */
export function createScsiDisk(o: ScsiDiskOptions): E.Either<ScsiDiskError, ScsiDisk> {
  if (o.kind === 'scsi-hd' && o.backend === undefined) return E.left({ _tag: 'NoDrive', message: 'drive property not set' });
  const props: ScsiDiskProps = { ...DEFAULT_SCSI_DISK_PROPS, ...o.props };
  const r = realizeScsiDiskProps(o.kind, props, o.backend?.length() ?? 0);
  if (E.isLeft(r)) return r;
  const conf = r.right;
  const wc = conf['write-cache'];
  const common = new ScsiDeviceCommon({ channel: conf.channel, id: conf['scsi-id'], lun: conf.lun });
  const requestNs = o.costs?.ns('qemu.scsi.request') ?? 0;
  const completeNs = o.costs?.ns('qemu.scsi.complete') ?? 0;
  let pending: Continuation[] = [];
  // The list a drain hands over, swapped in for the next batch rather than a new one per drain.
  let spare: Continuation[] = [];
  let scheduled = false;
  const drain = (): void => {
    scheduled = false;
    const list = pending;
    pending = spare;
    for (let i = 0; i < list.length; i++) {
      o.sim.advance(completeNs);
      list[i].resume();
    }
    list.length = 0;
    spare = list;
  };
  const what = `${o.kind} complete`;
  const contextRun = o.context
    ? (c: Continuation): void => {
        pending.push(c);
        if (scheduled) return;
        scheduled = true;
        o.context!.run(what, drain);
      }
    : (c: Continuation): void => {
        o.sim.advance(completeNs);
        c.resume();
      };
  const s: ScsiDiskState = {
    name: o.name,
    sim: o.sim,
    trace: o.trace,
    context: o.context,
    backend: o.backend,
    conf,
    common,
    type: o.kind === 'scsi-hd' ? op.TYPE_DISK : op.TYPE_ROM,
    deviceId: conf.device_id ?? (conf.serial !== undefined ? conf.serial.slice(0, 20) : o.driveId || undefined),
    maxTransfer: o.maxTransfer ?? DEFAULT_MAX_TRANSFER,
    blocksize: conf.blocksize,
    maxLba: 0,
    wce: wc === 'auto' ? (o.backend?.writeCacheEnabled ?? true) : wc === 'on',
    trayOpen: false,
    trayLocked: false,
    mediaEvent: false,
    ejectRequest: false,
    errorSite: { sim: o.sim, trace: o.trace, dev: o.name, backend: o.backend, rerror: conf.rerror, werror: conf.werror, onStop: o.onStop },
    copyByteNs: o.costs?.bytes('copy.byte', 1) ?? 0,
    done: contextRun,
    dmaSpare: [],
  };
  if (wc !== 'auto') setWriteCache(s, wc === 'on');
  return E.right(new ScsiDiskDevice(s, requestNs));
}

/**
 * The device the bus sees. A class, not an object literal with a getter: V8 keeps such a
 * literal's properties in a dictionary, and the bus reads this object's on every command.
 */
class ScsiDiskDevice implements ScsiDisk {
  readonly name: string;
  readonly common: ScsiDeviceCommon;
  readonly type: number;

  constructor(
    readonly state: ScsiDiskState,
    /** qemu.scsi.request. */
    private readonly requestNs: number,
  ) {
    this.name = state.name;
    this.common = state.common;
    this.type = state.type;
  }

  get blocksize(): number {
    return this.state.blocksize;
  }

  newHandler(req: ScsiRequest): ScsiReqHandler {
    const s = this.state;
    s.sim.advance(this.requestNs);
    return DMA_OPS[req.cmd.buf[0]] === 1 ? dmaHandler(s, req) : emulateHandler(s, req);
  }

  /** scsi_disk_reset. */
  reset(): void {
    const s = this.state;
    this.common.purgeRequests(op.SENSE.RESET);
    const nb = Math.floor(nbSectors(s) / (s.blocksize / 512));
    s.maxLba = nb ? nb - 1 : 0;
    s.trayLocked = false;
    s.trayOpen = false;
  }

  resume(): void {
    // scsi_dma_restart_cb: a bottom half in the device's AioContext retries what stopped.
    const common = this.common;
    if (![...common.requests].some((r) => r.retry)) return;
    const restart = (): void => {
      for (const req of [...common.requests]) req.resumeRetry();
    };
    const context = this.state.context;
    if (context) context.run('scsi-disk dma restart', restart);
    else restart();
  }
}
