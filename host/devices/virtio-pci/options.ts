/**
 * How a virtio-pci device is asked for (QEMU's `-device virtio-blk-pci,vectors=N,ioeventfd=on|off`)
 * and how it is created: `createVirtioPci` validates the configuration, builds the
 * transport and plugs it into the bus. A bad configuration comes back as a tagged value
 * with its message, never as a throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { GuestMemory } from '../../../hw/memory.js';
import { MSIX_MAX_VECTORS } from '../../../hw/pci/msix.js';
import type { CostModel } from '../../../sim/costs.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { KvmVm } from '../../kvm-exits/kvm.js';
import { pciBusErrorMessage, type PciBus, type PciBusError } from '../pci/pci-bus.js';
import type { VirtioDeviceModel } from '../virtio/types.js';
import { QEMU_VIRTQUEUE_MAX_SIZE } from '../virtio/virtqueue.js';
import { VirtioPciTransport } from './virtio-pci.js';

/** QEMU's -device properties of the transport. */
export interface VirtioPciProps {
  /** `vectors`: MSI-X table size; 0 = no MSI-X capability, INTx only. QEMU's virtio-blk default is num-queues + 1. */
  vectors: number;
  /** `ioeventfd`: doorbells as KVM ioeventfds (lightweight exits) instead of QEMU MMIO (default on). */
  ioeventfd: boolean;
}

export interface VirtioPciOptions {
  kvm: KvmVm;
  sim: Simulator;
  trace: Trace;
  costs: CostModel;
  mem: GuestMemory;
  model: VirtioDeviceModel;
  props: VirtioPciProps;
  /** Device name for traces (the -device id). */
  devName: string;
  bus: PciBus;
  slot: number;
  fn?: number;
  /** QEMU's `class` property; default by device type (virtio-blk, virtio-scsi: 0x0100). */
  classCode?: number;
}

export type VirtioPciError =
  | { _tag: 'BadVectors'; dev: string; vectors: number }
  | { _tag: 'BadQueueCount'; dev: string; count: number }
  | { _tag: 'BadQueueSize'; dev: string; queue: number; size: number }
  | { _tag: 'IothreadNeedsIoeventfd'; dev: string }
  | { _tag: 'PciBus'; dev: string; error: PciBusError };

export function virtioPciErrorMessage(e: VirtioPciError): string {
  switch (e._tag) {
    case 'BadVectors':
      return `${e.dev}: vectors=${e.vectors} is not in 0..${MSIX_MAX_VECTORS}`;
    case 'BadQueueCount':
      return `${e.dev}: ${e.count} virtqueues is not in 1..${QEMU_VIRTQUEUE_MAX_SIZE}`;
    case 'BadQueueSize':
      return `${e.dev}: queue ${e.queue} size ${e.size} is not a power of two in 1..${QEMU_VIRTQUEUE_MAX_SIZE}`;
    case 'IothreadNeedsIoeventfd':
      return `${e.dev}: ioeventfd is required for iothread`;
    case 'PciBus':
      return `${e.dev}: ${pciBusErrorMessage(e.error)}`;
  }
}

function validate(o: VirtioPciOptions): E.Either<VirtioPciError, VirtioPciOptions> {
  const dev = o.devName;
  const v = o.props.vectors;
  if (!Number.isInteger(v) || v < 0 || v > MSIX_MAX_VECTORS) return E.left({ _tag: 'BadVectors', dev, vectors: v });
  const n = o.model.numQueues();
  if (!Number.isInteger(n) || n < 1 || n > QEMU_VIRTQUEUE_MAX_SIZE) return E.left({ _tag: 'BadQueueCount', dev, count: n });
  for (let q = 0; q < n; q++) {
    const s = o.model.queueMaxSize(q);
    if (!Number.isInteger(s) || s < 1 || s > QEMU_VIRTQUEUE_MAX_SIZE || (s & (s - 1)) !== 0) return E.left({ _tag: 'BadQueueSize', dev, queue: q, size: s });
  }
  if (o.model.context.kind === 'iothread' && !o.props.ioeventfd) return E.left({ _tag: 'IothreadNeedsIoeventfd', dev });
  return E.right(o);
}

/** Validate, build the transport, and plug it at `slot`.`fn` of `bus`. */
export function createVirtioPci(o: VirtioPciOptions): E.Either<VirtioPciError, VirtioPciTransport> {
  return pipe(
    validate(o),
    E.map((opts) => new VirtioPciTransport(opts)),
    E.chain((t) =>
      pipe(
        o.bus.attach(t.pci, o.slot, o.fn ?? 0),
        E.bimap((error): VirtioPciError => ({ _tag: 'PciBus', dev: o.devName, error }), () => t),
      ),
    ),
  );
}
