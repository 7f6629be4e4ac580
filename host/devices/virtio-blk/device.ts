/**
 * QEMU's virtio-blk device model (hw/block/virtio-blk.c) as a `VirtioDeviceModel`.
 *
 * The life of a request:
 *  1. the guest kicks; the transport calls handleOutput(vq) on the device's context
 *     (main loop or iothread);
 *  2. virtio_blk_handle_vq(): notifications off, pop every available chain, notifications
 *     on, and again while the ring is not empty; each pop costs 'qemu.blk.request';
 *  3. parse (request.ts): header, status byte, payloads; a malformed chain is a
 *     virtio_error(): `onError(message)`, a `device-error` event, and the device is broken
 *     (no more pops or used entries) until reset;
 *  4. dispatch by type (handle.ts); reads and writes collect in the MultiReqBuffer and are
 *     merged and submitted (multireq.ts) when it must be flushed or the run ends;
 *  5. the backend calls back later; completion work runs on the device's context
 *     (complete.ts): data scattered into guest memory, status byte, used entry, notify.
 *
 * Write cache: `wce` starts as the backend's cache mode; a driver that negotiated
 * CONFIG_WCE may toggle it through the `writeback` config byte; at DRIVER_OK without
 * CONFIG_WCE it becomes "FLUSH negotiated" (virtio_blk_set_status); reset restores it.
 * The setting is the drive's (blk_set_enable_write_cache), which makes every write FUA
 * while it is off; the device itself never asks for FUA.
 */
import * as E from 'fp-ts/lib/Either.js';
import { VIRTIO_ID_BLOCK, type Features } from '../../../hw/virtio/constants.js';
import type { CostModel } from '../../../sim/costs.js';
import type { ExecutionContext } from '../../../sim/context.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { BlockBackendApi } from '../../storage/block-backend-api.js';
import type { DeviceVirtqueue, VirtioDeviceModel } from '../virtio/types.js';
import { Completer } from './complete.js';
import { encodeVirtioBlkConfig, readConfigBytes, virtioBlkConfigSize, writebackFromConfigWrite } from './config.js';
import { decodeNegotiated, virtioBlkHostFeatures, type NegotiatedBlk } from './features.js';
import type { IoErrorStop } from '../block-error.js';
import { handleRequest } from './handle.js';
import { DEFAULT_MAX_TRANSFER, IOV_MAX, newMultiReqBuffer, submitMultireq } from './multireq.js';
import { DEFAULT_VIRTIO_BLK_PROPS, realizeVirtioBlkProps, type VirtioBlkConf, type VirtioBlkPropError, type VirtioBlkProps } from './props.js';
import { parseBlkRequest } from './request.js';
import type { BlkState } from './state.js';

export interface VirtioBlkOptions {
  readonly sim: Simulator;
  readonly trace: Trace;
  readonly costs: CostModel;
  /** Where queue handlers and completions run: QEMU's main loop or the device's iothread. */
  readonly context: ExecutionContext;
  readonly backend: BlockBackendApi;
  /** Device name in traces (the `-device ...,id=`). */
  readonly devName: string;
  /** Property values (parsed: see parseVirtioBlkProps); absent ones take QEMU's defaults. */
  readonly props?: Partial<VirtioBlkProps>;
  /**
   * virtio_error(): the device found a request it cannot parse. The transport must set
   * VIRTIO_CONFIG_S_NEEDS_RESET (and notify a config change). The device has already
   * emitted the `device-error` trace event and stopped using its queues until reset().
   */
  readonly onError?: (message: string) => void;
  /** What num-queues=auto means (virtio-blk-pci: the vCPU count). Default 1. */
  readonly autoNumQueues?: number;
  /** Signal each queue once per handler run / completion batch. Default: on an iothread (QEMU's defer_call). */
  readonly batchNotify?: boolean;
  /** The backend's max transfer for merging, bytes. Default INT_MAX rounded to 512. */
  readonly maxTransfer?: number;
  /** The backend's max iov for merging. Default IOV_MAX (1024). */
  readonly maxIov?: number;
  /** rerror/werror stopped a request: the VM wiring stops the VM and calls resume() when it continues. */
  readonly onStop?: (e: IoErrorStop) => void;
}

export interface VirtioBlk extends VirtioDeviceModel {
  /** The realized properties. */
  readonly conf: VirtioBlkConf;
  /** virtio_error() happened and no reset since. */
  readonly broken: boolean;
  /** blk_enable_write_cache() as the device sees it now. */
  readonly writeCacheEnabled: boolean;
  /** Requests at the backend, not yet called back. */
  readonly inFlight: number;
  /** Requests an rerror/werror policy stopped, waiting for resume(). */
  readonly stoppedRequests: number;
  /** The VM continues (virtio_blk_dma_restart_cb): handle the stopped requests again. */
  resume(): void;
}

/** Realize a virtio-blk device: the property checks of virtio_blk_device_realize(), then the model. */
export function createVirtioBlk(o: VirtioBlkOptions): E.Either<VirtioBlkPropError, VirtioBlk> {
  const given = Object.fromEntries(Object.entries(o.props ?? {}).filter(([, v]) => v !== undefined));
  const realized = realizeVirtioBlkProps({ ...DEFAULT_VIRTIO_BLK_PROPS, ...given }, o.backend.length(), o.autoNumQueues ?? 1);
  if (E.isLeft(realized)) return realized;
  const conf = realized.right;
  const originalWce = o.backend.writeCacheEnabled;
  const completer = new Completer(o.batchNotify ?? o.context.kind === 'iothread');
  const s: BlkState = {
    sim: o.sim,
    trace: o.trace,
    costs: o.costs,
    context: o.context,
    backend: o.backend,
    conf,
    devName: o.devName,
    serial: new TextEncoder().encode(conf.serial),
    maxTransfer: o.maxTransfer ?? DEFAULT_MAX_TRANSFER,
    maxIov: o.maxIov ?? IOV_MAX,
    completer,
    requestNs: o.costs.ns('qemu.blk.request'),
    completeNs: o.costs.ns('qemu.blk.complete'),
    copyByteNs: o.costs.ns('copy.byte'),
    gen: 0,
    broken: false,
    inFlight: 0,
    errorSite: { sim: o.sim, trace: o.trace, dev: o.devName, backend: o.backend, rerror: conf.rerror, werror: conf.werror, onStop: o.onStop },
    stopped: [],
  };
  completer.attach(s);
  const features = virtioBlkHostFeatures(conf, o.backend);
  const configSize = virtioBlkConfigSize(conf);
  const NONE: NegotiatedBlk = { configWce: false, flush: false };
  let negotiated = NONE;

  const fail = (vq: DeviceVirtqueue, message: string): void => {
    s.broken = true;
    if (s.trace.active) s.trace.emit({ kind: 'device-error', t: s.sim.now, dev: s.devName, vq: vq.index, message });
    o.onError?.(message);
  };

  /** virtio_blk_handle_vq(). */
  const handleOutput = (vq: DeviceVirtqueue): void => {
    if (s.broken) return;
    const mrb = newMultiReqBuffer();
    completer.begin();
    do {
      vq.setNotification(false);
      for (;;) {
        const r = vq.pop();
        if (r.kind === 'empty') break;
        if (r.kind === 'broken') {
          // The transport already set NEEDS_RESET (its virtio_error()).
          s.broken = true;
          break;
        }
        s.sim.advance(s.requestNs);
        const req = parseBlkRequest(vq, r.elem, s.gen);
        const err = typeof req === 'string' ? req : handleRequest(s, req, mrb);
        if (err !== null) {
          fail(vq, err);
          break;
        }
      }
      vq.setNotification(true);
    } while (!s.broken && !vq.isEmpty());
    if (mrb.reqs.length > 0) submitMultireq(s, mrb);
    completer.end();
  };

  /** virtio_blk_dma_restart_bh: each stopped request is handled again, newest first, as QEMU walks s->rq. */
  const restart = (): void => {
    const reqs = s.stopped;
    s.stopped = [];
    if (reqs.length === 0 || s.broken) return;
    const mrb = newMultiReqBuffer();
    completer.begin();
    for (const req of reqs) {
      if (req.gen !== s.gen) continue;
      const err = handleRequest(s, req, mrb);
      if (err !== null) {
        fail(req.vq, err);
        break;
      }
    }
    if (mrb.reqs.length > 0) submitMultireq(s, mrb);
    completer.end();
  };

  return E.right({
    name: o.devName,
    deviceId: VIRTIO_ID_BLOCK,
    context: o.context,
    conf,
    configSize,
    get broken() {
      return s.broken;
    },
    get writeCacheEnabled() {
      return s.backend.writeCacheEnabled;
    },
    get inFlight() {
      return s.inFlight;
    },
    get stoppedRequests() {
      return s.stopped.length;
    },
    resume: () => {
      if (s.stopped.length > 0) o.context.run('virtio-blk dma restart', restart);
    },
    hostFeatures: (): Features => features,
    numQueues: () => conf['num-queues'],
    queueMaxSize: () => conf['queue-size'],
    readConfig: (offset, size) => readConfigBytes(encodeVirtioBlkConfig(conf, s.backend.length(), s.backend.writeCacheEnabled), configSize, offset, size),
    writeConfig: (offset, size, value) => {
      // The spec lets a driver write `writeback` only when it negotiated CONFIG_WCE.
      if (!negotiated.configWce) return;
      const wce = writebackFromConfigWrite(configSize, offset, size, value);
      if (wce !== undefined) s.backend.setWriteCacheEnabled(wce);
    },
    setFeatures: (f: Features) => {
      negotiated = decodeNegotiated(f);
    },
    start: () => {
      // virtio_blk_set_status(DRIVER_OK): without CONFIG_WCE the cache follows FLUSH (legacy WCE).
      if (!negotiated.configWce) s.backend.setWriteCacheEnabled(negotiated.flush);
    },
    handleOutput,
    reset: () => {
      s.gen++;
      s.broken = false;
      s.inFlight = 0;
      s.backend.setWriteCacheEnabled(originalWce);
      negotiated = NONE;
      completer.reset();
    },
  });
}
