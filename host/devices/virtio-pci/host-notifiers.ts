/**
 * Host notifiers: one ioeventfd per virtqueue doorbell (QEMU's virtio_bus_start_ioeventfd
 * and virtio_pci_ioeventfd_assign, device property `ioeventfd=on`).
 *
 * When the driver sets DRIVER_OK, every queue's doorbell, BAR 4 + 0x3000 + 4·n, becomes
 * a zero-length MMIO ioeventfd: KVM matches it on the fast-MMIO bus straight from
 * EPT_MISCONFIG and signals the eventfd without leaving the kernel (a lightweight exit).
 * The eventfd is registered at the BAR's guest-physical address, so it exists only while
 * BAR 4 is mapped and moves with it (KVM's memory listener in QEMU). Stopping
 * (DRIVER_OK cleared, reset) deassigns them.
 *
 * The eventfd's reader is the device model's context: the main loop or its iothread.
 * A signal while the handler is already scheduled coalesces (an eventfd is a counter
 * that one read clears), so several kicks can yield one `notify`. A thread that is idle
 * in ppoll pays 'qemu.eventfd.wakeup' before it starts; that latency delays the start
 * (sim.after) rather than occupying the context. A thread that is busy will see the
 * eventfd when it next polls, with no wakeup.
 */
import { QEMU_VIRTIO_PCI_NOTIFY_OFFSET, QEMU_VIRTIO_PCI_QUEUE_MEM_MULT } from '../../../hw/virtio/pci-layout.js';
import { PCI_BAR_UNMAPPED } from '../../../hw/pci/config-space.js';
import type { IoEventFd, IoEventFdTable } from '../../kvm-exits/ioeventfd.js';
import type { CostModel } from '../../../sim/costs.js';
import type { Simulator } from '../../../sim/simulator.js';
import type { Trace } from '../../../sim/trace.js';
import type { SplitVirtqueue } from '../virtio/virtqueue.js';
import type { VirtioDeviceModel } from '../virtio/types.js';

export interface HostNotifierEnv {
  readonly sim: Simulator;
  readonly costs: CostModel;
  readonly trace: Trace;
  readonly devName: string;
  readonly ioeventfds: IoEventFdTable;
  readonly model: VirtioDeviceModel;
  readonly queues: readonly SplitVirtqueue[];
  /** May the model handle a kick now (DRIVER_OK set, device not broken)? */
  accepting(): boolean;
}

export class HostNotifiers {
  /** Notifiers are on (DRIVER_OK with ioeventfd=on). */
  started = false;
  private barBase = PCI_BAR_UNMAPPED;
  private readonly fds: (IoEventFd | undefined)[];
  private readonly pending: boolean[];
  private readonly wake: (() => void)[];
  private readonly handle: (() => void)[];
  private readonly signal: (() => void)[];
  private readonly wakeupNs: number;

  constructor(private readonly env: HostNotifierEnv) {
    const n = env.queues.length;
    this.wakeupNs = env.costs.ns('qemu.eventfd.wakeup');
    this.fds = new Array<IoEventFd | undefined>(n).fill(undefined);
    this.pending = new Array<boolean>(n).fill(false);
    // One closure of each kind per queue, made once: nothing is allocated per kick.
    this.handle = env.queues.map((_, q) => () => this.run(q));
    this.wake = env.queues.map((_, q) => () => env.model.context.run('virtio notify', this.handle[q]));
    this.signal = env.queues.map((_, q) => () => this.kick(q));
  }

  /**
   * virtio_bus_start_ioeventfd. Like QEMU (virtio_device_start_ioeventfd_impl, and
   * virtio-blk's dataplane start), every queue's notifier is then set once, "to begin
   * processing requests already in vring": each handler runs once after DRIVER_OK.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.assignAll();
    for (let q = 0; q < this.fds.length; q++) this.kick(q);
  }

  /** virtio_bus_stop_ioeventfd. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.deassignAll();
  }

  /** BAR 4 now decodes at `base` (or is unmapped): move the eventfds with it. */
  barMoved(base: number): void {
    this.barBase = base;
    if (!this.started) return;
    this.deassignAll();
    this.assignAll();
  }

  /** Is queue `q`'s doorbell an eventfd now (QEMU's host_notifier_enabled)? */
  active(_q: number): boolean {
    return this.started;
  }

  /** The eventfd of queue `q` was signalled (by KVM, or by QEMU's own notify write handler). */
  kick(q: number): void {
    if (this.pending[q]) return;
    this.pending[q] = true;
    const { sim, model } = this.env;
    if (model.context.freeAt > sim.now) this.wake[q]();
    else sim.postAfter(this.wakeupNs, this.wake[q]);
  }

  /** The handler on the model's context (virtio_queue_host_notifier_read → handle_output). */
  private run(q: number): void {
    this.pending[q] = false;
    const { env } = this;
    const vq = env.queues[q];
    if (!vq.ready || !env.accepting()) return;
    if (env.trace.active) env.trace.emitNotify(env.sim.now, env.devName, q, 'ioeventfd');
    env.model.handleOutput(vq);
  }

  private assignAll(): void {
    if (this.barBase === PCI_BAR_UNMAPPED) return;
    for (let q = 0; q < this.fds.length; q++) {
      const fd: IoEventFd = {
        addr: this.barBase + QEMU_VIRTIO_PCI_NOTIFY_OFFSET + QEMU_VIRTIO_PCI_QUEUE_MEM_MULT * q,
        len: 0,
        pio: false,
        signal: this.signal[q],
      };
      this.env.ioeventfds.assign(fd);
      this.fds[q] = fd;
    }
  }

  private deassignAll(): void {
    for (let q = 0; q < this.fds.length; q++) {
      const fd = this.fds[q];
      if (fd) this.env.ioeventfds.deassign(fd);
      this.fds[q] = undefined;
    }
  }
}
