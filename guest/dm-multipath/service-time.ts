/**
 * The service-time path selector (drivers/md/dm-service-time.c), multipath-tools'
 * default: the path whose in-flight bytes plus this I/O, divided by its relative
 * throughput, would finish first. Every path here has relative throughput 1 (the
 * table's default), so that is the path with the fewest bytes in flight; among equals,
 * the one used longest ago (the chosen path goes to the end of the list).
 */
import { moveTail, takeOut, type PathSelector } from './path-selector.js';

/** st_compare_load for paths of equal relative throughput: the less loaded one. */
function lessLoaded<P>(inFlight: Map<P, number>, a: P, b: P): boolean {
  return (inFlight.get(a) ?? 0) < (inFlight.get(b) ?? 0);
}

export function serviceTime<P>(): PathSelector<P> {
  const valid: P[] = [];
  const invalid: P[] = [];
  /** in_flight_size per path: bytes started and not ended. */
  const inFlight = new Map<P, number>();
  return {
    name: 'service-time 0',
    valid,
    add: (p) => {
      if (valid.includes(p) || invalid.includes(p)) return;
      valid.push(p);
      inFlight.set(p, 0);
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
      inFlight.delete(p);
    },
    select: () => {
      let best: P | undefined;
      for (const p of valid) if (best === undefined || lessLoaded(inFlight, p, best)) best = p;
      if (best !== undefined) moveTail(valid, best);
      return best;
    },
    startIo: (p, bytes) => {
      if (inFlight.has(p)) inFlight.set(p, inFlight.get(p)! + bytes);
    },
    endIo: (p, bytes) => {
      if (inFlight.has(p)) inFlight.set(p, Math.max(0, inFlight.get(p)! - bytes));
    },
  };
}
