/**
 * The multipath target (drivers/md/dm-mpath.c, bio-based: `queue_mode bio`): a block
 * device (/dev/dm-0, /dev/mapper/mpatha) over two or more paths to one logical unit, one
 * priority group whose path selector (selectors.ts) picks the path for each bio.
 *
 *   map      a bio is cloned onto the selected path's block device (same sectors, same
 *            pages, same flags; the path's own block layer splits and merges it). With
 *            no valid path: queued when queue_if_no_path is set, else BLK_STS_IOERR.
 *   end_io   a clone that comes back with a path error (blk_path_error, path.ts: an I/O
 *            error, a transport failure, a time-out) fails its path and the bio is
 *            requeued, to be mapped again from a worker (process_queued_bios) onto a
 *            path that works; what the logical unit itself answered (a medium or target
 *            error, a reservation conflict, no space, not supported) is the bio's, and no
 *            path is failed for it. A bio is completed to its submitter only once a path
 *            completed it well, or it cannot be retried: so a write acknowledged to the
 *            workload was acknowledged by the logical unit.
 *   paths    failPath (the kernel's fail_path, or multipathd's checker), reinstatePath
 *            (multipathd, when the checker finds the path up: queued bios go out again),
 *            addPath / removePath (a SCSI disk with this WWID appeared or went away).
 *
 * queue_if_no_path is the map's feature; multipathd's `no_path_retry` turns it off after
 * a number of checker intervals without a path (multipathd.ts), failing what was queued.
 */
import { Observable, type Subscriber } from 'rxjs';
import type { Bio } from '../blockdev/bio.js';
import { bioFlags, flagsText, REQ_PREFLUSH } from '../blockdev/bio.js';
import { checkBio } from '../blockdev/bio-check.js';
import type { EndIo } from '../blockdev/bio-ref.js';
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import type { SchedulerName } from '../blockdev/elevator.js';
import { resolveLimits, type QueueLimits } from '../blockdev/limits.js';
import { blkFinishPlug, blkStartPlug } from '../blockdev/plug.js';
import type { BlkStatus } from '../blockdev/request.js';
import { BlockStatsSink, type BlockDeviceStats } from '../blockdev/stats.js';
import type { GuestKernel } from '../kernel/kernel.js';
import { Task } from '../kernel/task.js';
import { blkPathError, type MpathPath } from './path.js';
import type { PathSelector } from './path-selector.js';
import { PATH_SELECTORS, type PathSelectorName } from './selectors.js';

export interface MultipathOptions {
  /** The dm device's kernel name (dm-0). */
  name: string;
  /** multipathd's alias (mpatha), the /dev/mapper name. */
  alias: string;
  wwid: string;
  /** Default service-time, as multipath-tools. */
  selector?: PathSelectorName;
  /** The queue_if_no_path feature (multipathd sets it from no_path_retry). */
  queueIfNoPath?: boolean;
}

/** A bio the map holds: its own data, and where it is now. */
interface MpathIo {
  readonly bio: Bio;
  readonly endIo: EndIo;
  readonly bytes: number;
  /** Paths it was tried on. */
  tries: number;
}

/** The queue limits of a map: blk_stack_limits over its paths (one LUN, so mostly equal). */
export function stackLimits(paths: readonly QueueLimits[]): QueueLimits {
  const lbs = Math.max(512, ...paths.map((l) => l.logicalBlockSize));
  const min = (f: (l: QueueLimits) => number): number => Math.min(...paths.map(f));
  return resolveLimits({
    logicalBlockSize: lbs,
    physicalBlockSize: Math.max(lbs, ...paths.map((l) => l.physicalBlockSize)),
    maxSectors: min((l) => l.maxSectors),
    maxHwSectors: min((l) => l.maxHwSectors),
    maxSegments: min((l) => l.maxSegments),
    maxSegmentSize: min((l) => l.maxSegmentSize),
    maxDiscardSectors: min((l) => l.maxDiscardSectors),
    maxDiscardSegments: min((l) => l.maxDiscardSegments),
    discardGranularity: Math.max(lbs, ...paths.map((l) => l.discardGranularity)),
    maxWriteZeroesSectors: min((l) => l.maxWriteZeroesSectors),
    // dm_table_supports_flush: the map has a write cache (and FUA) when any path does.
    writeCache: paths.some((l) => l.writeCache),
    fua: paths.some((l) => l.fua),
  });
}

export class MultipathDevice implements GuestBlockDevice {
  /** Nothing stacks on a map here (no LVM over multipath). */
  holder: string | undefined = undefined;
  readonly name: string;
  readonly alias: string;
  readonly wwid: string;
  readonly paths: MpathPath[] = [];
  capacitySectors: number;
  limits: QueueLimits;
  queueIfNoPath: boolean;
  private readonly selector: PathSelector<MpathPath>;
  /** Bios waiting for a path (m->queued_bios). */
  private readonly queued: MpathIo[] = [];
  /** kmpath's worker on each CPU: requeued bios are mapped again from there. */
  private readonly workers: Task[];
  private workPending = false;
  private bioSeq = 0;
  private readonly statsSink: BlockStatsSink;
  /** Called when the map has no valid path left, and when it has one again. */
  onPathsChanged: ((valid: number) => void) | undefined;

  constructor(
    private readonly k: GuestKernel,
    first: readonly MpathPath[],
    opts: MultipathOptions,
  ) {
    if (first.length === 0) throw new Error(`multipath ${opts.alias}: a map needs a path`);
    this.name = opts.name;
    this.alias = opts.alias;
    this.wwid = opts.wwid;
    this.queueIfNoPath = opts.queueIfNoPath ?? false;
    this.selector = PATH_SELECTORS[opts.selector ?? 'service-time']<MpathPath>();
    this.workers = k.cpus.map((c) => new Task(0, `kworker/${c.index}:kmpath`, c));
    this.capacitySectors = Math.min(...first.map((p) => p.bdev.capacitySectors));
    this.limits = stackLimits(first.map((p) => p.bdev.limits));
    this.statsSink = new BlockStatsSink(k.trace, opts.name);
    for (const p of first) this.addPath(p);
  }

  /** Paths the selector may choose. */
  get validPaths(): number {
    return this.paths.filter((p) => p.state === 'active').length;
  }

  /** Bios waiting for a path. */
  get queuedBios(): number {
    return this.queued.length;
  }

  get selectorName(): string {
    return this.selector.name;
  }

  get stats(): BlockDeviceStats {
    return this.statsSink.stats;
  }

  // ---- paths ----

  /** A path to this LUN joins the map (multipathd's ev_add_path). */
  addPath(p: MpathPath): void {
    if (this.paths.includes(p)) return;
    this.paths.push(p);
    p.bdev.holder = this.name;
    this.selector.add(p);
    if (p.state === 'failed') this.selector.fail(p);
    else this.pathUp();
  }

  /** A path's disk is gone (multipathd's ev_remove_path); its bios in flight fail over when they come back. */
  removePath(p: MpathPath): void {
    const i = this.paths.indexOf(p);
    if (i < 0) return;
    this.paths.splice(i, 1);
    if (p.bdev.holder === this.name) p.bdev.holder = undefined;
    this.selector.remove(p);
    this.note(`${p.name}: path removed`);
    this.pathsChanged();
  }

  /** fail_path: the selector stops choosing it. False when it was failed already. */
  failPath(p: MpathPath, why: string): boolean {
    if (p.state === 'failed' || !this.paths.includes(p)) return false;
    p.state = 'failed';
    p.failCount++;
    this.selector.fail(p);
    this.note(`Failing path ${p.name} (${why}); ${this.validPaths} valid`);
    this.pathsChanged();
    return true;
  }

  /** reinstate_path: usable again; whatever waited for a path goes out. */
  reinstatePath(p: MpathPath): boolean {
    if (p.state === 'active' || !this.paths.includes(p)) return false;
    p.state = 'active';
    this.selector.reinstate(p);
    this.note(`Reinstating path ${p.name}; ${this.validPaths} valid`);
    this.pathUp();
    return true;
  }

  /** queue_if_no_path on or off (multipathd's no_path_retry); off fails what is queued. */
  setQueueIfNoPath(on: boolean): void {
    if (this.queueIfNoPath === on) return;
    this.queueIfNoPath = on;
    this.note(`queue_if_no_path ${on ? 'enabled' : 'disabled'}`);
    if (!on && this.validPaths === 0) for (const io of this.queued.splice(0)) io.endIo('ioerr');
  }

  private pathUp(): void {
    this.pathsChanged();
    if (this.queued.length > 0) this.kickQueued();
  }

  private pathsChanged(): void {
    this.onPathsChanged?.(this.validPaths);
  }

  private note(text: string): void {
    const { trace, sim } = this.k;
    if (trace.active) trace.emit({ kind: 'note', t: sim.now, where: `device-mapper: multipath ${this.alias}`, text });
  }

  // ---- bios ----

  submitBio(task: Task, bio: Bio): Observable<BlkStatus> {
    let result: BlkStatus | undefined;
    const waiting: Subscriber<BlkStatus>[] = [];
    this.submitBioCb(task, bio, (status) => {
      result = status;
      for (const s of waiting.splice(0)) {
        s.next(status);
        s.complete();
      }
    });
    return new Observable<BlkStatus>((s) => {
      if (result !== undefined) {
        s.next(result);
        s.complete();
        return undefined;
      }
      waiting.push(s);
      return () => {
        const i = waiting.indexOf(s);
        if (i >= 0) waiting.splice(i, 1);
      };
    });
  }

  /** dm_submit_bio for this map: checks, then map. `endIo` runs once. */
  submitBioCb(task: Task, bio: Bio, endIo: EndIo): void {
    const { sim, costs, trace } = this.k;
    sim.advance(costs.ns('guest.blk.bio'));
    const flags = bioFlags(bio);
    if (trace.active) trace.emit({ kind: 'bio', t: sim.now, dev: this.name, bio: this.bioSeq++, task: task.pid, op: bio.op, sector: bio.sector, sectors: bio.sectors, flags: flagsText(flags) });
    const refused = checkBio(this.name, bio, this.capacitySectors, this.limits);
    if (refused !== undefined) return endIo(refused);
    if (bio.sectors === 0 && (!(flags & REQ_PREFLUSH) || !this.limits.writeCache)) return endIo('ok');
    this.map(task, { bio, endIo, bytes: bio.sectors * 512, tries: 0 });
  }

  /** multipath_map_bio. */
  private map(task: Task, io: MpathIo): void {
    const p = this.selector.select(io.bytes);
    if (p === undefined) {
      if (this.queueIfNoPath) this.queued.push(io);
      else io.endIo('ioerr');
      return;
    }
    io.tries++;
    p.inFlight++;
    this.selector.startIo(p, io.bytes);
    p.bdev.submitBioCb(task, { ...io.bio }, (status) => this.cloneDone(io, p, status));
  }

  /** multipath_end_io_bio. */
  private cloneDone(io: MpathIo, p: MpathPath, status: BlkStatus): void {
    p.inFlight--;
    p.completed++;
    this.selector.endIo(p, io.bytes);
    if (!blkPathError(status)) return io.endIo(status);
    this.failPath(p, `${status} on ${io.bio.op} at sector ${io.bio.sector}`);
    if (this.validPaths === 0 && !this.queueIfNoPath) return io.endIo(status);
    this.queued.push(io);
    this.kickQueued();
  }

  /** process_queued_bios, from the current CPU's worker: map every queued bio again while a path is valid. */
  private kickQueued(): void {
    if (this.workPending || this.validPaths === 0) return;
    this.workPending = true;
    const worker = this.workers[this.k.current.index % this.workers.length];
    worker.run('process_queued_bios', () => {
      this.workPending = false;
      blkStartPlug(worker);
      while (this.queued.length > 0 && this.validPaths > 0) this.map(worker, this.queued.shift()!);
      blkFinishPlug(worker);
    });
  }

  // ---- the rest of the block device ----

  startPlug(task: Task): void {
    blkStartPlug(task);
  }

  finishPlug(task: Task): void {
    blkFinishPlug(task);
  }

  /** A bio-based map has no I/O scheduler of its own (its paths do). */
  setScheduler(_name: SchedulerName): void {}

  /** The map is removed (dmsetup remove): stop counting. */
  detach(): void {
    this.statsSink.detach();
  }
}
