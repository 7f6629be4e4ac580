/**
 * The device side of virtio in QEMU's shape: a transport (virtio-pci) owns the queues
 * and the registers; a device model (virtio-blk, virtio-scsi) implements
 * `VirtioDeviceModel` and sees its queues only through `DeviceVirtqueue`
 * (QEMU's virtqueue_pop / virtqueue_push / virtio_notify). Guest memory is reached
 * through the queue, which validated every address of an element before handing it out.
 */
import type { SgElem } from '../../../hw/memory.js';
import type { GuestMemory } from '../../../hw/memory.js';
import type { Features } from '../../../hw/virtio/constants.js';
import type { ExecutionContext } from '../../../sim/context.js';

/** One popped descriptor chain (QEMU's VirtQueueElement). */
export interface VirtqElement {
  /** Head descriptor index: the id written to the used ring. */
  readonly head: number;
  /** Device-readable buffers, in chain order. */
  readonly out: SgElem[];
  /** Device-writable buffers, in chain order. */
  readonly in: SgElem[];
  /** Descriptors walked (indirect table entries included). */
  readonly ndescs: number;
}

/**
 * `empty`: nothing new in the avail ring. `elem`: a valid chain. `broken`: the guest made
 * a mess of the ring (a loop, an address outside RAM, a chain longer than the queue,
 * nested indirect tables, a readable descriptor after a writable one, an avail index
 * that ran ahead by more than the queue size...): the transport has set
 * DEVICE_NEEDS_RESET and the queue stops, as QEMU's virtio_error() does.
 */
export type PopResult = { kind: 'empty' } | { kind: 'elem'; elem: VirtqElement } | { kind: 'broken'; message: string };

export interface DeviceVirtqueue {
  readonly index: number;
  readonly size: number;
  readonly mem: GuestMemory;
  /** virtqueue_pop: take the next available chain. */
  pop(): PopResult;
  /** virtqueue_push: put `elem` in the used ring with `len` bytes written, and publish the used index. */
  push(elem: VirtqElement, len: number): void;
  /** virtio_notify: interrupt the driver unless it suppressed interrupts (flags or used_event). */
  notify(): void;
  /** virtio_queue_set_notification: ask the driver to (not) kick (used.flags / avail_event). */
  setNotification(enable: boolean): void;
  /** Is there anything in the avail ring not yet popped? */
  isEmpty(): boolean;
}

/** QEMU's VirtioDeviceClass, as iopath needs it. */
export interface VirtioDeviceModel {
  readonly name: string;
  /** The virtio device ID (VIRTIO_ID_BLOCK = 2). */
  readonly deviceId: number;
  /** Where the queue handlers run: QEMU's main loop or the device's iothread. */
  readonly context: ExecutionContext;
  /** Features offered (device-specific and transport bits the device supports). */
  hostFeatures(): Features;
  /** Number of virtqueues and the size each starts with (`queue-size`). */
  numQueues(): number;
  queueMaxSize(index: number): number;
  /** Device configuration space. Out-of-range reads return 0; writes to read-only fields are ignored. */
  readonly configSize: number;
  readConfig(offset: number, size: 1 | 2 | 4 | 8): number;
  writeConfig(offset: number, size: 1 | 2 | 4 | 8, value: number): void;
  /** The driver accepted these features (FEATURES_OK). */
  setFeatures(features: Features): void;
  /** The driver set DRIVER_OK: queues are live. `queues` are the transport's queue objects. */
  start(queues: DeviceVirtqueue[]): void;
  /** A queue was kicked; runs on `context` at the current local time. */
  handleOutput(vq: DeviceVirtqueue): void;
  /** Device reset (status written 0): drop in-flight state. In-flight backend I/O must not touch the rings afterwards. */
  reset(): void;
}
