/**
 * sd, the SCSI disk driver (drivers/scsi/sd.c sd_probe, sd_rescan, sd_remove): it binds
 * to every direct-access device the scan adds, names it (sda … sdz, sdaa …, the lowest
 * free index, as sd_index_ida hands them out), revalidates it, and registers a block
 * device with guest/blockdev exactly as virtio-blk does — so the page cache and ext3 sit
 * on /dev/sda unchanged.
 *
 * Each disk gets its own blk-mq core (one hardware queue per host queue, depth the
 * device's queue depth) whose queue operations are the midlayer's (lib.ts) with sd's
 * commands (sd-cmd.ts). A rescan (PARAM CHANGE event) revalidates and updates the
 * capacity and limits in place; a removal stops the disk (every new request fails).
 */
import { BlkMq } from '../blockdev/blk-mq.js';
import { BlockDevice } from '../blockdev/block-device.js';
import { diskName } from '../blockdev/disk-name.js';
import type { SchedulerName } from '../blockdev/elevator.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { ScsiDevice } from './device.js';
import type { ScsiHost } from './host.js';
import { ScsiQueue } from './lib.js';
import { SdCommands } from './sd-cmd.js';
import { capacitySectors, newScsiDisk, sdLimits, type ScsiDisk } from './sd-disk.js';
import { sdRevalidate } from './sd-revalidate.js';

/** Peripheral types sd binds (TYPE_DISK, TYPE_MOD, TYPE_RBC); zoned disks are not modelled. */
export const SD_TYPES: readonly number[] = [0x00, 0x07, 0x0e];

/** sd_format_disk_name("sd", index): sda … sdz, sdaa … sdzz, sdaaa. */
export function sdName(index: number): string {
  return diskName('sd', index);
}

export interface SdDiskHandle {
  readonly disk: ScsiDisk;
  readonly bdev: BlockDevice;
  readonly queue: ScsiQueue;
}

export interface SdOptions {
  scheduler?: SchedulerName;
  timeoutMs?: number;
}

/** sd's state for one guest: the disk index allocator and the disks it registered. */
export class SdDriver {
  private readonly used = new Set<number>();
  /** Registered disks by name (/dev/<name>). */
  readonly disks = new Map<string, SdDiskHandle>();
  /** Called when a disk is registered or goes away (the guest's /dev). */
  onChange: ((name: string, bdev: BlockDevice | undefined) => void) | undefined;

  constructor(
    private readonly k: GuestKernel,
    private readonly opts: SdOptions = {},
  ) {}

  /** Bind to a host: its scan's new devices come to sd_probe. */
  attach(host: ScsiHost): void {
    host.onDeviceAdded = (sdev, done) => this.probe(sdev, done);
  }

  private allocIndex(): number {
    let i = 0;
    while (this.used.has(i)) i++;
    this.used.add(i);
    return i;
  }

  /** sd_probe. */
  probe(sdev: ScsiDevice, done: () => void): void {
    if (!SD_TYPES.includes(sdev.type)) return done();
    const index = this.allocIndex();
    const d = newScsiDisk(sdName(index), sdev);
    sdRevalidate(d, () => {
      if (!sdev.online) {
        this.used.delete(index);
        return done();
      }
      const h = this.register(d);
      sdev.rescan = () => this.rescan(h);
      sdev.removed = () => this.remove(h, index);
      done();
    });
  }

  private register(d: ScsiDisk): SdDiskHandle {
    const { k } = this;
    const host = d.sdev.host;
    const blk = new BlkMq(k.sim, k.trace, k.costs, { name: d.name, nrHwQueues: host.nrHwQueues, queueDepth: d.sdev.queueDepth, cpuToHwq: (cpu) => cpu % host.nrHwQueues, clock: k.clock });
    let bdev: BlockDevice | undefined;
    const cmds = new SdCommands(k, d, () => {
      if (bdev) Object.assign(bdev.limits, sdLimits(d));
    });
    const queue = new ScsiQueue(d.sdev, cmds);
    queue.blk = blk;
    blk.setOps(queue);
    host.queues.add(blk);
    bdev = new BlockDevice(k, { name: d.name, capacitySectors: capacitySectors(d), limits: sdLimits(d), blk, ops: queue, scheduler: this.opts.scheduler, timeoutMs: this.opts.timeoutMs });
    const h: SdDiskHandle = { disk: d, bdev, queue };
    this.disks.set(d.name, h);
    host.note(`[${d.name}] Attached SCSI disk ${d.sdev.hctl}`);
    this.onChange?.(d.name, bdev);
    return h;
  }

  /** sd_rescan: revalidate; the capacity and limits change in place (set_capacity_and_notify). */
  private rescan(h: SdDiskHandle): void {
    const before = h.disk.capacity;
    sdRevalidate(h.disk, () => {
      // RequestQueue keeps the capacity it was built with; set_capacity is this assignment.
      (h.bdev.queue as { capacitySectors: number }).capacitySectors = capacitySectors(h.disk);
      Object.assign(h.bdev.limits, sdLimits(h.disk));
      if (before !== h.disk.capacity) h.disk.sdev.host.note(`[${h.disk.name}] detected capacity change from ${before} to ${h.disk.capacity}`);
    });
  }

  /** sd_remove: the disk goes; new requests fail (the device is offline), its name is free again. */
  private remove(h: SdDiskHandle, index: number): void {
    this.disks.delete(h.disk.name);
    this.used.delete(index);
    h.disk.sdev.host.queues.delete(h.queue.blk!);
    h.bdev.detach();
    this.onChange?.(h.disk.name, undefined);
  }
}
