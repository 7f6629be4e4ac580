/**
 * The round-robin path selector (drivers/md/dm-round-robin.c): valid paths in a ring;
 * each takes `repeatCount` I/Os (rr_min_io_rq, 1 by default for request-based maps and
 * what multipath.conf gives) before the next one's turn. A failed path leaves the ring;
 * reinstated, it joins at the end.
 */
import { moveTail, takeOut, type PathSelector } from './path-selector.js';

/** rr_min_io_rq's default in multipath-tools. */
export const RR_MIN_IO_RQ = 1;

export function roundRobin<P>(repeatCount = RR_MIN_IO_RQ): PathSelector<P> {
  const valid: P[] = [];
  const invalid: P[] = [];
  const repeat = Math.max(1, Math.trunc(repeatCount));
  let used = 0;
  return {
    name: 'round-robin 0',
    valid,
    add: (p) => {
      if (!valid.includes(p) && !invalid.includes(p)) valid.push(p);
    },
    fail: (p) => {
      if (takeOut(valid, p)) invalid.push(p);
    },
    reinstate: (p) => {
      if (takeOut(invalid, p)) valid.push(p);
    },
    remove: (p) => {
      takeOut(valid, p);
      takeOut(invalid, p);
    },
    select: () => {
      const p = valid[0];
      if (p === undefined) return undefined;
      // rr_select_path: the head serves `repeat` I/Os, then goes to the back of the ring.
      if (++used >= repeat) {
        used = 0;
        moveTail(valid, p);
      }
      return p;
    },
    startIo: () => undefined,
    endIo: () => undefined,
  };
}
