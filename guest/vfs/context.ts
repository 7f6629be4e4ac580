/**
 * What every part of the VFS shares: the guest kernel, its page cache, the block devices
 * by path (`/dev/vda`…), the process table, the mount table, and the clocks.
 */
import type { CostName } from '../../sim/costs.js';
import type { GuestBlockDevice } from '../blockdev/block-device.js';
import type { GuestKernel } from '../kernel/kernel.js';
import type { PageCache } from '../pagecache/pagecache.js';
import type { Namespace } from './namespace.js';
import type { ProcessTable } from './process.js';

/**
 * CLOCK_REALTIME at virtual time 0, in ns (late 2023): inode, superblock and journal
 * times are realtime-like, so e2fsck does not take a deletion time for an orphan link.
 */
export const REALTIME_BASE_NS = 1.7e18;

/** ext4's default commit interval (mount -o commit=5). */
export const DEFAULT_COMMIT_INTERVAL_MS = 5000;

export interface VfsOptions {
  /** The journal commit interval (mount -o commit=), ms. */
  readonly commitIntervalMs?: number;
}

export interface VfsContext {
  readonly kernel: GuestKernel;
  readonly cache: PageCache;
  /** Block devices by path (`/dev/vda`). */
  readonly devices: ReadonlyMap<string, GuestBlockDevice>;
  readonly processes: ProcessTable;
  readonly ns: Namespace;
  readonly commitIntervalMs: number;
}

/** CLOCK_REALTIME in ns. */
export function realtime(ctx: VfsContext): number {
  return REALTIME_BASE_NS + ctx.kernel.clock.now;
}

/** A kernel log line (printk) as a trace note. */
export function printk(ctx: VfsContext, where: string, text: string): void {
  const { trace, sim } = ctx.kernel;
  if (trace.active) trace.emit({ kind: 'note', t: sim.now, where, text });
}

/** Charge `n` of a named guest cost to the work running now. */
export function charge(ctx: VfsContext, name: CostName, n = 1): void {
  if (n > 0) ctx.kernel.sim.advance(ctx.kernel.costs.ns(name) * n);
}
