/** The pieces of one page cache that its paths (read, write, writeback, invalidate) share. */
import type { DirtyThrottle } from './balance-dirty.js';
import type { PageCacheCore } from './core.js';
import type { Flusher } from './flusher.js';
import type { Reclaimer } from './reclaim.js';

export interface PageCacheParts {
  readonly core: PageCacheCore;
  readonly flusher: Flusher;
  readonly reclaim: Reclaimer;
  readonly throttle: DirtyThrottle;
}
