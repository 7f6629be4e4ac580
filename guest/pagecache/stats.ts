/**
 * Page-cache statistics, derived from the trace and nothing else: hits, misses, pages read
 * ahead, pages dirtied, pages written by reason (periodic flusher, background, sync,
 * vmscan), writer throttles, pages reclaimed. `sim/metrics.ts` keeps the same counts for
 * the measured window of a run; this one counts everything it sees, optionally for one
 * mapping.
 */
import { countPageCacheEvent, emptyPageCacheCounts, type PageCacheCounts } from '../../sim/metrics.js';
import type { Trace, TraceEvent } from '../../sim/trace.js';

export type { PageCacheCounts } from '../../sim/metrics.js';

export class PageCacheStats {
  readonly counts: PageCacheCounts = emptyPageCacheCounts();

  /** Count events of `mapping` only (by name) when given. */
  constructor(private readonly mapping?: string) {}

  readonly sink = (e: TraceEvent): void => {
    if (e.kind === 'pagecache' && (this.mapping === undefined || e.mapping === this.mapping)) countPageCacheEvent(this.counts, e);
  };

  /** Attach to a trace; returns the detach function. */
  attach(trace: Trace): () => void {
    return trace.attach(this.sink);
  }

  /** Counts from a recorded list of events. */
  static from(events: readonly TraceEvent[], mapping?: string): PageCacheCounts {
    const s = new PageCacheStats(mapping);
    for (const e of events) s.sink(e);
    return s.counts;
  }
}
