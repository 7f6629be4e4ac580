/**
 * QEMU 7.2's virtio-scsi HBA (hw/scsi/virtio-scsi.c) as a `VirtioDeviceModel` that owns a
 * SCSI bus (../scsi-bus) for scsi-hd and scsi-cd devices.
 *
 * Queues: 0 control (ctrl.ts), 1 event (events.ts), 2.. num_queues request queues
 * (cmd.ts), every one `virtqueue_size` long. The transport (virtio-pci) calls
 * handleOutput(vq) on the device's context (main loop or iothread) when a queue is kicked;
 * completions reach the queues from the drives' callbacks on the same context, and the
 * queue decides whether each push interrupts (EVENT_IDX, flags), the transport how (MSI-X
 * by KVM_SIGNAL_MSI or irqfd, or INTx).
 *
 * A broken request (short headers), or a bad sense_size / cdb_size written to the config
 * space, is virtio_error(): `onError(message)`, a `device-error` trace event, and the device
 * stops until reset. A reset (status 0) resets the bus: every device's commands are canceled
 * and it gets the RESET unit attention; sense_size and cdb_size return to 96 and 32.
 *
 * Devices join the bus with `plug` (cold plug, before the guest runs: no event) or
 * `hotplug` (device_add: a TRANSPORT_RESET / RESCAN event and the bus unit attention REPORTED
 * LUNS DATA HAS CHANGED, when the driver negotiated VIRTIO_SCSI_F_HOTPLUG) and leave with
 * `hotunplug` (device_del: TRANSPORT_RESET / REMOVED and the same unit attention, then the
 * device's commands are canceled and it is gone). `reportChange` is the bus's change hook
 * (SCSIBusInfo.change): a PARAM_CHANGE event, when VIRTIO_SCSI_F_CHANGE was negotiated,
 * for a device that is not a CD-ROM.
 */
import * as E from 'fp-ts/lib/Either.js';
import { TYPE_ROM } from '../../../hw/scsi/inquiry.js';
import { SENSE_CODE, type SenseCode } from '../../../hw/scsi/sense-codes.js';
import { VIRTIO_ID_SCSI, type Features } from '../../../hw/virtio/constants.js';
import {
  VIRTIO_SCSI_CONFIG_SIZE,
  VIRTIO_SCSI_EVT_RESET_REMOVED,
  VIRTIO_SCSI_EVT_RESET_RESCAN,
  VIRTIO_SCSI_MAX_CHANNEL,
  VIRTIO_SCSI_MAX_LUN,
  VIRTIO_SCSI_MAX_TARGET,
  VIRTIO_SCSI_T_PARAM_CHANGE,
  VIRTIO_SCSI_T_TRANSPORT_RESET,
  VIRTIO_SCSI_VQ_BASE,
  VIRTIO_SCSI_VQ_CONTROL,
  VIRTIO_SCSI_VQ_EVENT,
} from '../../../hw/virtio/scsi.js';
import type { CostModel } from '../../../sim/costs.js';
import type { ExecutionContext } from '../../../sim/context.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import { ScsiBus, type ScsiBusError } from '../scsi-bus/bus.js';
import type { ScsiDevice } from '../scsi-bus/device.js';
import type { DeviceVirtqueue, VirtioDeviceModel } from '../virtio/types.js';
import { handleCmdVq } from './cmd.js';
import { ScsiConfigSpace, defaultSizes } from './config.js';
import { handleCtrlVq } from './ctrl.js';
import { handleEventVq, pushEvent } from './events.js';
import { NOTHING_NEGOTIATED, decodeNegotiatedScsi, virtioScsiHostFeatures } from './features.js';
import { DEFAULT_VIRTIO_SCSI_PROPS, VIRTIO_SCSI_VQ_NUM_FIXED, realizeVirtioScsiProps, type VirtioScsiConf, type VirtioScsiPropError, type VirtioScsiProps } from './props.js';
import { SCSI_COMPLETE_COST, SCSI_REQUEST_COST, type HbaState } from './state.js';

export interface VirtioScsiOptions {
  readonly sim: Simulator;
  readonly trace: Trace;
  readonly costs: CostModel;
  /** Where queue handlers and completions run: QEMU's main loop or the device's iothread. */
  readonly context: ExecutionContext;
  /** Device name in traces (the `-device ...,id=`). */
  readonly devName: string;
  /** Property values (see parseVirtioScsiProps); absent ones take QEMU's defaults. */
  readonly props?: Partial<VirtioScsiProps>;
  /** What num_queues=auto means: the vCPU count for virtio-scsi-pci. Default 1 (a bare virtio-scsi-device). */
  readonly cpus?: number;
  /** virtio_error(): the transport must set DEVICE_NEEDS_RESET. The device already stopped and traced it. */
  readonly onError?: (message: string) => void;
}

export interface VirtioScsi extends VirtioDeviceModel {
  readonly conf: VirtioScsiConf;
  /** The HBA's SCSI bus (SCSIBusInfo: TCQ, channel 0, targets 0..255, LUNs 0..16383). */
  readonly bus: ScsiBus;
  /** virtio_error() happened and no reset since. */
  readonly broken: boolean;
  /** Commands at the bus, not yet answered. */
  readonly inFlight: number;
  /** The driver's current sense_size and cdb_size. */
  readonly sizes: { readonly senseSize: number; readonly cdbSize: number };
  /** An event was dropped for want of a buffer and not yet reported. */
  readonly eventsDropped: boolean;
  /** Cold plug: attach to the bus, no event. */
  plug(dev: ScsiDevice): E.Either<ScsiBusError, ScsiDevice>;
  /** Hot plug (virtio_scsi_hotplug): attach, then the RESCAN event and unit attention. */
  hotplug(dev: ScsiDevice): E.Either<ScsiBusError, ScsiDevice>;
  /** Hot unplug (virtio_scsi_hotunplug): the REMOVED event and unit attention, then detach. False if not on this bus. */
  hotunplug(dev: ScsiDevice): boolean;
  /** SCSIBusInfo.change: a device's parameters changed (e.g. CAPACITY DATA HAS CHANGED). */
  reportChange(dev: ScsiDevice, sense: SenseCode): void;
}

/** Realize a virtio-scsi device: virtio_scsi_common_realize()'s checks, then the model and its bus. */
export function createVirtioScsi(o: VirtioScsiOptions): E.Either<VirtioScsiPropError, VirtioScsi> {
  const given = Object.fromEntries(Object.entries(o.props ?? {}).filter(([, v]) => v !== undefined));
  const realized = realizeVirtioScsiProps({ ...DEFAULT_VIRTIO_SCSI_PROPS, ...given }, o.cpus ?? 1);
  if (E.isLeft(realized)) return realized;
  const conf = realized.right;
  const bus = new ScsiBus({ tcq: true, maxChannel: VIRTIO_SCSI_MAX_CHANNEL, maxTarget: VIRTIO_SCSI_MAX_TARGET, maxLun: VIRTIO_SCSI_MAX_LUN });
  const sizes = defaultSizes();
  const s: HbaState = {
    sim: o.sim,
    trace: o.trace,
    costs: o.costs,
    context: o.context,
    devName: o.devName,
    conf,
    sizes,
    bus,
    negotiated: NOTHING_NEGOTIATED,
    driverOk: false,
    queues: [],
    gen: 0,
    broken: false,
    resetting: 0,
    eventsDropped: false,
    inflight: 0,
    cancelWaiters: new Map(),
    cmdScratch: undefined,
    cmdSpare: [],
    cmdBatch: [],
    cmdBatchBusy: false,
    busCallbacks: undefined,
    requestNs: o.costs.ns(SCSI_REQUEST_COST),
    completeNs: o.costs.ns(SCSI_COMPLETE_COST),
    fail(vq: DeviceVirtqueue | undefined, message: string) {
      s.broken = true;
      if (s.trace.active) s.trace.emit({ kind: 'device-error', t: s.sim.now, dev: s.devName, vq: vq?.index ?? -1, message });
      o.onError?.(message);
    },
  };
  const config = new ScsiConfigSpace(conf, sizes);
  const features = virtioScsiHostFeatures(conf);

  const attach = (dev: ScsiDevice): E.Either<ScsiBusError, ScsiDevice> => bus.attach(dev);

  const model: Omit<VirtioScsi, 'broken' | 'inFlight' | 'sizes' | 'eventsDropped'> = {
    name: o.devName,
    deviceId: VIRTIO_ID_SCSI,
    context: o.context,
    conf,
    bus,
    configSize: VIRTIO_SCSI_CONFIG_SIZE,
    hostFeatures: (): Features => features,
    numQueues: () => conf.num_queues + VIRTIO_SCSI_VQ_NUM_FIXED,
    queueMaxSize: () => conf.virtqueue_size,
    readConfig: (offset, size) => config.read(offset, size),
    writeConfig: (offset, size, value) => {
      const err = config.write(offset, size, value);
      if (err !== undefined) s.fail(undefined, err);
    },
    setFeatures: (f: Features) => {
      s.negotiated = decodeNegotiatedScsi(f);
    },
    start: (queues: DeviceVirtqueue[]) => {
      s.queues = queues;
      s.driverOk = true;
    },
    handleOutput: (vq: DeviceVirtqueue) => {
      if (s.broken) return;
      if (vq.index === VIRTIO_SCSI_VQ_CONTROL) handleCtrlVq(s, vq);
      else if (vq.index === VIRTIO_SCSI_VQ_EVENT) handleEventVq(s, vq);
      else if (vq.index >= VIRTIO_SCSI_VQ_BASE) handleCmdVq(s, vq);
    },
    reset: () => {
      // Everything popped before is stale: its answers (the cancellations below included) never reach a queue.
      s.gen++;
      // Every command popped before is forgotten (cmd.ts inflightCmd sees the old generation).
      s.inflight = 0;
      s.cancelWaiters.clear();
      s.resetting++;
      bus.reset();
      s.resetting--;
      config.reset();
      s.broken = false;
      s.driverOk = false;
      s.queues = [];
      s.negotiated = NOTHING_NEGOTIATED;
      s.eventsDropped = false;
    },
    plug: attach,
    hotplug: (dev) => {
      const r = attach(dev);
      if (E.isLeft(r)) return r;
      if (s.negotiated.hotplug) {
        pushEvent(s, VIRTIO_SCSI_T_TRANSPORT_RESET, VIRTIO_SCSI_EVT_RESET_RESCAN, { id: dev.common.id, lun: dev.common.lun });
        bus.setUnitAttention(SENSE_CODE.REPORTED_LUNS_CHANGED);
      }
      return r;
    },
    hotunplug: (dev) => {
      if (!bus.devices.includes(dev)) return false;
      if (s.negotiated.hotplug) {
        pushEvent(s, VIRTIO_SCSI_T_TRANSPORT_RESET, VIRTIO_SCSI_EVT_RESET_REMOVED, { id: dev.common.id, lun: dev.common.lun });
        bus.setUnitAttention(SENSE_CODE.REPORTED_LUNS_CHANGED);
      }
      return bus.detach(dev);
    },
    reportChange: (dev, sense) => {
      if (!s.negotiated.change || dev.type === TYPE_ROM) return;
      pushEvent(s, VIRTIO_SCSI_T_PARAM_CHANGE, (sense.asc & 0xff) | ((sense.ascq & 0xff) << 8), { id: dev.common.id, lun: dev.common.lun });
    },
  };
  // The live state as getters added afterwards: V8 keeps an object literal that has getters in
  // dictionary mode, and the transport reads this object on every kick.
  return E.right(
    Object.defineProperties(model, {
      broken: { get: () => s.broken, enumerable: true },
      inFlight: { get: () => s.inflight, enumerable: true },
      sizes: { get: () => ({ senseSize: sizes.senseSize, cdbSize: sizes.cdbSize }), enumerable: true },
      eventsDropped: { get: () => s.eventsDropped, enumerable: true },
    }) as VirtioScsi,
  );
}
