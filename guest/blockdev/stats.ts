/**
 * A block device's numbers, derived from the trace and nothing else: a sink that counts
 * one device's block-layer events (bios, splits, requests, merges by place and
 * direction, dispatches, plug flushes, flushes, timeouts), over the whole run rather
 * than a measured window (Metrics counts the window, for all devices). `blockStatsOf`
 * gives the same numbers from a recorded trace.
 */
import { countBlockEvent, emptyBlockLayerCounts, type BlockLayerCounts } from '../../sim/metrics.js';
import { sinkOf, type Trace, type TraceEvent } from '../../sim/trace.js';

export type BlockDeviceStats = BlockLayerCounts;

/** Counts `dev`'s events as they are emitted on `trace`. */
export class BlockStatsSink {
  readonly stats: BlockDeviceStats = emptyBlockLayerCounts();
  readonly detach: () => void;

  constructor(
    trace: Trace,
    readonly dev: string,
  ) {
    const count = (e: TraceEvent & { dev: string }): void => {
      if (e.dev === dev) countBlockEvent(this.stats, e);
    };
    // One handler per block-layer kind: the trace hands this sink nothing else.
    this.detach = trace.attach(
      sinkOf({ 'io-dispatch': count, bio: count, 'bio-split': count, 'rq-alloc': count, merge: count, 'plug-flush': count, flush: count, 'rq-timeout': count }),
    );
  }
}

/** `dev`'s numbers from a recorded trace. */
export function blockStatsOf(events: readonly TraceEvent[], dev: string): BlockDeviceStats {
  const c = emptyBlockLayerCounts();
  for (const e of events) if ('dev' in e && e.dev === dev) countBlockEvent(c, e);
  return c;
}
