/**
 * What a device-side virtqueue needs from around it: the ring features the driver
 * accepted, the transport it reports to (errors, interrupts), and the simulation it
 * charges time and writes trace events to. virtqueue.ts is the queue itself.
 */
import type { CostModel } from '../../../sim/costs.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { SplitVirtqueue } from './virtqueue.js';

/** QEMU's VIRTQUEUE_MAX_SIZE: the largest queue it accepts and the most buffers one element may have. */
export const QEMU_VIRTQUEUE_MAX_SIZE = 1024;

/** The ring features the driver accepted; the transport fills these in at FEATURES_OK. */
export interface RingFeatures {
  eventIdx: boolean;
  indirectDesc: boolean;
  /** VIRTIO_F_NOTIFY_ON_EMPTY (legacy only; never offered by a modern transport). */
  notifyOnEmpty: boolean;
}

/** What a queue needs of its transport. */
export interface VirtqueueHost {
  /** virtio_error: the guest broke a ring. Set DEVICE_NEEDS_RESET and stop every queue. */
  deviceError(vq: SplitVirtqueue, message: string): void;
  /** virtio_irq: raise this queue's interrupt (ISR bit 0, then its MSI-X vector or INTx). */
  queueInterrupt(vq: SplitVirtqueue): void;
}

export interface VirtqueueEnv {
  readonly sim: Simulator;
  readonly costs: CostModel;
  readonly trace: Trace;
  /** Device name for trace events. */
  readonly devName: string;
}
