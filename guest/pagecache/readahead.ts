/**
 * On-demand readahead (mm/readahead.c, ondemand_readahead as of Linux 4.19), the decision
 * part: given the file's readahead state and what the reader asked for, which window of
 * pages to read and where to put the asynchronous readahead marker. The cache does the
 * reading (read.ts).
 *
 *                        |<----- asyncSize ---------|
 *     |------------------- size ------------------->|
 *     |==================#==========================|
 *     ^start             ^page marked PG_readahead
 *
 * - A miss at the start of the file, right after the previous read (index - prev ≤ 1), or
 *   larger than the maximum starts an initial window: the request rounded up to a power of
 *   two, ×4 when small, ×2 when medium, else the maximum (get_init_ra_size).
 * - Reaching the marker (or the end of the window) pushes the window forward and ramps it
 *   up: ×4 while below max/16, else ×2, capped at the maximum (get_next_ra_size).
 * - A random miss reads only what was asked and leaves the state alone, so the next
 *   sequential miss starts again from the initial window.
 * - The maximum is read_ahead_kb (128 KiB = VM_READAHEAD_PAGES = 32 pages by default).
 *
 * Simplified away: bdi->io_pages (a request larger than the maximum is capped at it),
 * FMODE_RANDOM, congestion checks, large folios.
 */

/** struct file_ra_state. */
export interface FileRaState {
  /** First page of the current window. */
  start: number;
  /** Pages in the window. */
  size: number;
  /** Pages of the window left when the asynchronous readahead marker is reached. */
  asyncSize: number;
  /** Maximum window (ra_pages). */
  raPages: number;
  /** Byte position just after the previous read (-1 before the first). */
  prevPos: number;
}

export function newRaState(raPages: number): FileRaState {
  return { start: 0, size: 0, asyncSize: 0, raPages, prevPos: -1 };
}

/** A window to read: `nr` pages from `start`, the marker on page `start + nr - lookahead` (none when 0). */
export interface RaWindow {
  start: number;
  nr: number;
  lookahead: number;
}

function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function initRaSize(size: number, max: number): number {
  const n = roundupPow2(size);
  if (n <= max / 32) return n * 4;
  if (n <= max / 4) return n * 2;
  return max;
}

export function nextRaSize(cur: number, max: number): number {
  return Math.min(cur < max / 16 ? 4 * cur : 2 * cur, max);
}

/**
 * ondemand_readahead: update `ra` for a miss (hitMarker false) or a marker hit (true) at
 * page `index` of a read wanting `reqSize` pages from there. `cached(i)` says whether page
 * i is in the cache. Returns the window to read, or undefined for none.
 */
export function ondemandReadahead(ra: FileRaState, cached: (index: number) => boolean, hitMarker: boolean, index: number, reqSize: number): RaWindow | undefined {
  const max = ra.raPages;
  if (max === 0) return undefined; // no readahead: the reader reads the one page it needs
  const initial = (): void => {
    ra.start = index;
    ra.size = initRaSize(reqSize, max);
    ra.asyncSize = ra.size > reqSize ? ra.size - reqSize : ra.size;
  };
  if (index === 0) initial();
  else if (index === ra.start + ra.size - ra.asyncSize || index === ra.start + ra.size) {
    // The expected index: sequential. Push the window forward and ramp it up.
    ra.start += ra.size;
    ra.size = nextRaSize(ra.size, max);
    ra.asyncSize = ra.size;
  } else if (hitMarker) {
    // A marked page without matching state (interleaved streams): ask the cache where the window ends.
    let start = index + 1;
    while (start - index <= max && cached(start)) start++;
    if (start - index > max) return undefined;
    ra.start = start;
    ra.size = nextRaSize(start - index + reqSize, max);
    ra.asyncSize = ra.size;
  } else if (reqSize > max) initial();
  else {
    const prevIndex = Math.floor(ra.prevPos / 4096);
    const d = index - prevIndex;
    if (d >= 0 && d <= 1) initial();
    else {
      // try_context_readahead: a run of cached pages just behind looks like a stream.
      let history = 0;
      while (history < max && index - 1 - history >= 0 && cached(index - 1 - history)) history++;
      if (history > reqSize) {
        const size = history >= index ? history * 2 : history;
        ra.start = index;
        ra.size = Math.min(size + reqSize, max);
        ra.asyncSize = 1;
      } else {
        // A small random read: read it as is and leave the state alone.
        return { start: index, nr: reqSize, lookahead: 0 };
      }
    }
  }
  // Would this read hit the marker it is about to set? Then merge the next window now.
  if (index === ra.start && ra.size === ra.asyncSize) {
    const add = nextRaSize(ra.size, max);
    if (ra.size + add <= max) {
      ra.asyncSize = add;
      ra.size += add;
    } else {
      ra.size = max;
      ra.asyncSize = max >> 1;
    }
  }
  return { start: ra.start, nr: ra.size, lookahead: ra.asyncSize };
}
