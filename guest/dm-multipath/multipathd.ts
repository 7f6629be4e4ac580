/**
 * multipathd (multipath-tools' daemon) as far as failover needs it:
 *
 *   discovery   every SCSI disk sd registers is a path candidate; its WWID (wwid.ts, from
 *               VPD page 0x83, as udev's scsi_id gives it) groups it with the others to the
 *               same logical unit. A WWID seen on two paths becomes a map (find_multipaths
 *               "yes"), named dm-N with the alias mpathX (user_friendly_names); a later
 *               path with that WWID joins it, a removed disk leaves it.
 *   checker     every `polling_interval` (5 s) the tur checker (checker.ts) tests each path
 *               of each map: a path found up while failed is reinstated, one found down
 *               while active is failed (the kernel fails paths on I/O errors by itself).
 *   recovery    `no_path_retry`: 'queue' keeps queue_if_no_path for good; a number N keeps
 *               it for N checker intervals after the last path went, then turns it off so
 *               that queued I/O fails (and turns it on again when a path comes back);
 *               'fail' never queues.
 *
 * The checker's timer runs on the simulation clock for as long as the daemon is started:
 * `stop()` it before running a simulation to its end.
 */
import type { Timer } from '../../sim/simulator.js';
import type { BlockDevice } from '../blockdev/block-device.js';
import { diskName } from '../blockdev/disk-name.js';
import type { GuestKernel } from '../kernel/kernel.js';
import { Task } from '../kernel/task.js';
import type { ScsiDevice } from '../scsi/device.js';
import type { SdDriver } from '../scsi/sd.js';
import { turCheck } from './checker.js';
import { MultipathDevice } from './multipath.js';
import { newPath, type MpathPath, type PathBlockDevice } from './path.js';
import type { PathSelectorName } from './selectors.js';
import { scsiWwid } from './wwid.js';

/** no_path_retry: queue forever, fail at once, or queue for this many checker intervals. */
export type NoPathRetry = 'queue' | 'fail' | number;

export interface MultipathdOptions {
  /** polling_interval: 5 s. */
  pollingIntervalNs?: number;
  /** checker_timeout: 30 s (the SCSI devices' timeout). */
  checkerTimeoutNs?: number;
  /** no_path_retry: 'fail' by default, as multipath-tools. */
  noPathRetry?: NoPathRetry;
  /** path_selector: service-time by default. */
  selector?: PathSelectorName;
  /** The CPU the daemon's thread runs on. */
  cpu?: number;
}

export const POLLING_INTERVAL_NS = 5e9;
export const CHECKER_TIMEOUT_NS = 30e9;

/** mpatha … mpathz, mpathaa … (user_friendly_names' alias_prefix "mpath"). */
export function mpathAlias(index: number): string {
  return diskName('mpath', index);
}

interface Candidate {
  readonly path: MpathPath;
  readonly wwid: string;
}

export class Multipathd {
  /** Maps by WWID. */
  readonly maps = new Map<string, MultipathDevice>();
  /** Every path by its disk's name, in a map or waiting for a second path. */
  private readonly paths = new Map<string, Candidate>();
  /** Checker intervals each map has spent with no valid path. */
  private readonly noPathTicks = new Map<MultipathDevice, number>();
  /** Paths with a check outstanding. */
  private readonly checking = new Set<MpathPath>();
  private readonly task: Task;
  private timer: Timer | undefined;
  private readonly opts: Required<MultipathdOptions>;
  /** Called when a map is created (the guest's /dev/mapper). */
  onMapAdded: ((m: MultipathDevice) => void) | undefined;

  constructor(
    private readonly k: GuestKernel,
    opts: MultipathdOptions = {},
  ) {
    this.opts = {
      pollingIntervalNs: Math.max(1e6, opts.pollingIntervalNs ?? POLLING_INTERVAL_NS),
      checkerTimeoutNs: Math.max(1e6, opts.checkerTimeoutNs ?? CHECKER_TIMEOUT_NS),
      noPathRetry: opts.noPathRetry ?? 'fail',
      selector: opts.selector ?? 'service-time',
      cpu: opts.cpu ?? 0,
    };
    this.task = new Task(0, 'multipathd', k.cpus[this.opts.cpu % k.cpus.length]);
  }

  /** Take sd's disks as paths, now and as they come and go (sd's onChange, chained). */
  attachSd(sd: SdDriver): void {
    for (const [name, h] of sd.disks) this.addPath(name, h.bdev, h.disk.sdev);
    const before = sd.onChange;
    sd.onChange = (name, bdev) => {
      before?.(name, bdev);
      const h = sd.disks.get(name);
      if (bdev !== undefined && h !== undefined) this.addPath(name, bdev, h.disk.sdev);
      else this.removePath(name);
    };
  }

  /** A path candidate (uevent add): grouped by WWID; a disk without one is not multipathed. */
  addPath(name: string, bdev: PathBlockDevice | BlockDevice, sdev: ScsiDevice | undefined, wwid = sdev && scsiWwid(sdev)): MultipathDevice | undefined {
    if (wwid === undefined || this.paths.has(name)) return this.maps.get(wwid ?? '');
    const path = newPath(name, bdev, sdev);
    this.paths.set(name, { path, wwid });
    const map = this.maps.get(wwid);
    if (map !== undefined) {
      map.addPath(path);
      this.note(`${name}: path added to ${map.alias}`);
      return map;
    }
    const same = [...this.paths.values()].filter((c) => c.wwid === wwid).map((c) => c.path);
    if (same.length < 2) return undefined;
    const m = new MultipathDevice(this.k, same, {
      name: `dm-${this.maps.size}`,
      alias: mpathAlias(this.maps.size),
      wwid,
      selector: this.opts.selector,
      queueIfNoPath: this.opts.noPathRetry !== 'fail',
    });
    this.maps.set(wwid, m);
    this.note(`${m.alias}: load table [0 ${m.capacitySectors} multipath ${m.selectorName} ${same.map((p) => p.name).join(' ')}] (${wwid})`);
    this.onMapAdded?.(m);
    return m;
  }

  /** A path's disk went away (uevent remove). */
  removePath(name: string): void {
    const c = this.paths.get(name);
    if (c === undefined) return;
    this.paths.delete(name);
    this.checking.delete(c.path);
    this.maps.get(c.wwid)?.removePath(c.path);
  }

  /** The map a disk is a path of. */
  mapOf(name: string): MultipathDevice | undefined {
    const c = this.paths.get(name);
    return c && this.maps.get(c.wwid);
  }

  /** Start the checker loop (a first round after one polling interval). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = this.k.clock.after(this.opts.pollingIntervalNs, () => this.tick());
  }

  /** Stop the checker loop: nothing of the daemon stays on the clock but checks already out. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** One checker round (checkerloop → check_path for every path), then the next one. */
  private tick(): void {
    this.timer = this.k.clock.after(this.opts.pollingIntervalNs, () => this.tick());
    this.task.run('checkerloop', () => {
      for (const m of this.maps.values()) {
        this.retryTick(m);
        for (const p of m.paths) this.check(m, p);
      }
    });
  }

  private check(m: MultipathDevice, p: MpathPath): void {
    if (p.sdev === undefined || this.checking.has(p)) return;
    this.checking.add(p);
    // The tur checker's SG_IO is a system call on the daemon's CPU.
    this.k.sim.advance(this.k.costs.ns('guest.syscall'));
    turCheck(p.sdev, this.opts.checkerTimeoutNs, (r) => {
      if (!this.checking.delete(p)) return;
      if (r.state === 'down' && p.state === 'active' && m.failPath(p, r.message)) this.note(`checker failed path ${p.name} in map ${m.alias}`);
      else if (r.state !== 'down' && p.state === 'failed' && m.paths.includes(p)) {
        m.reinstatePath(p);
        this.note(`${p.name}: reinstated (${r.message})`);
        this.recovered(m);
      }
    });
  }

  /** no_path_retry's count-down (retry_count_tick), once per checker interval. */
  private retryTick(m: MultipathDevice): void {
    const n = this.opts.noPathRetry;
    if (typeof n !== 'number') return;
    if (m.validPaths > 0) return this.recovered(m);
    const ticks = (this.noPathTicks.get(m) ?? 0) + 1;
    this.noPathTicks.set(m, ticks);
    if (ticks > n && m.queueIfNoPath) {
      this.note(`${m.alias}: Disable queueing`);
      m.setQueueIfNoPath(false);
    }
  }

  /** A path came back: leave recovery mode, queue again if no_path_retry says so. */
  private recovered(m: MultipathDevice): void {
    this.noPathTicks.delete(m);
    if (this.opts.noPathRetry !== 'fail') m.setQueueIfNoPath(true);
  }

  private note(text: string): void {
    const { trace, sim } = this.k;
    if (trace.active) trace.emit({ kind: 'note', t: sim.now, where: 'multipathd', text });
  }
}
