/**
 * What the parts of the device share (QEMU's VirtIOSCSI and VirtIOSCSICommon): the wiring,
 * the realized properties, the SCSI bus it owns, and the little state a request's life
 * touches.
 */
import type { CostModel } from '../../../sim/costs.js';
import type { ExecutionContext } from '../../../sim/context.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { ScsiBus } from '../scsi-bus/bus.js';
import type { ScsiRequest } from '../scsi-bus/request.js';
import type { DeviceVirtqueue } from '../virtio/types.js';
import type { ScsiSizes } from './config.js';
import type { NegotiatedScsi } from './features.js';
import type { VirtioScsiConf } from './props.js';
import type { CmdSlot } from './cmd-req.js';

/**
 * The cost names charged per request popped (command, TMF, AN) and per response pushed:
 * virtio-scsi's own part; the SCSI emulation behind it (scsi-hd) charges qemu.scsi.*.
 */
export const SCSI_REQUEST_COST = 'qemu.virtio-scsi.request';
export const SCSI_COMPLETE_COST = 'qemu.virtio-scsi.complete';

/** A command the bus holds: its virtio request, with the bus's request for it in `sreq` (QEMU's hba_private). */
export type CmdReq = CmdSlot;

export interface HbaState {
  readonly sim: Simulator;
  readonly trace: Trace;
  readonly costs: CostModel;
  readonly context: ExecutionContext;
  readonly devName: string;
  readonly conf: VirtioScsiConf;
  /** sense_size / cdb_size: the driver may change them through the config space. */
  readonly sizes: ScsiSizes;
  readonly bus: ScsiBus;
  negotiated: NegotiatedScsi;
  /** DRIVER_OK seen since the last reset: events may be pushed. */
  driverOk: boolean;
  /** The transport's queues: 0 control, 1 event, 2.. requests (empty before DRIVER_OK). */
  queues: DeviceVirtqueue[];
  /** Bumped by reset(): anything popped before is never pushed. */
  gen: number;
  /** virtio_error() happened: no more pops or pushes until reset. */
  broken: boolean;
  /** s->resetting: cancellations inside a reset answer VIRTIO_SCSI_S_RESET. */
  resetting: number;
  /** s->events_dropped: an event found no buffer; the next one carries EVENTS_MISSED. */
  eventsDropped: boolean;
  /**
   * Commands handed to the bus and not yet answered. Each one's CmdReq rides on its
   * ScsiRequest (`hbaPrivate`, cmd.ts inflightCmd), as QEMU's hba_private does: no table of
   * them is kept (see scsi-bus/request-list.ts for why).
   */
  inflight: number;
  /** TMFs waiting for a canceled command to finish (QEMU's cancel notifiers). */
  readonly cancelWaiters: Map<ScsiRequest, (() => void)[]>;
  readonly requestNs: number;
  readonly completeNs: number;
  /** The command queues' header buffer for a header that cannot be read in place (cmd.ts cmdScratch). */
  cmdScratch?: Uint8Array;
  /** Command slots whose commands were answered, for the next ones (cmd.ts). */
  readonly cmdSpare: CmdSlot[];
  /** The commands one kick prepared, then submits (cmd.ts handleCmdVq), and whether a kick is using the list. */
  readonly cmdBatch: CmdSlot[];
  cmdBatchBusy: boolean;
  /** SCSIBusInfo.complete / .cancel for this HBA's commands (made on first use by cmd.ts). */
  busCallbacks?: { readonly onComplete: (r: ScsiRequest) => void; readonly onCancel: (r: ScsiRequest) => void };
  /** virtio_error(): stop, trace, tell the transport. */
  fail(vq: DeviceVirtqueue | undefined, message: string): void;
}
