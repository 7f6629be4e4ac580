/**
 * A block device's numbers, derived from the trace and nothing else: a sink that counts
 * one device's block-layer events (bios, splits, requests, merges by place and
 * direction, dispatches, plug flushes, flushes, timeouts), over the whole run rather
 * than a measured window (Metrics counts the window, for all devices). `blockStatsOf`
 * gives the same numbers from a recorded trace.
 */
import { countBlockEvent, emptyBlockLayerCounts, type BlockLayerCounts } from '../../sim/metrics.js';
import type { Trace, TraceEvent, TraceSink } from '../../sim/trace.js';

export type BlockDeviceStats = BlockLayerCounts;

/** Counts `dev`'s events as they are emitted on `trace`. */
export class BlockStatsSink {
  readonly stats: BlockDeviceStats = emptyBlockLayerCounts();
  readonly detach: () => void;

  constructor(
    trace: Trace,
    readonly dev: string,
  ) {
    const sink: TraceSink = (e) => {
      // The one block-layer event every request has, first; most events are none of these.
      if (e.kind === 'io-dispatch') {
        if (e.dev === dev) countBlockEvent(this.stats, e);
        return;
      }
      switch (e.kind) {
        case 'bio':
        case 'bio-split':
        case 'rq-alloc':
        case 'merge':
        case 'plug-flush':
        case 'flush':
        case 'rq-timeout':
          if (e.dev === dev) countBlockEvent(this.stats, e);
          break;
        default:
          break;
      }
    };
    this.detach = trace.attach(sink);
  }
}

/** `dev`'s numbers from a recorded trace. */
export function blockStatsOf(events: readonly TraceEvent[], dev: string): BlockDeviceStats {
  const c = emptyBlockLayerCounts();
  for (const e of events) if ('dev' in e && e.dev === dev) countBlockEvent(c, e);
  return c;
}
