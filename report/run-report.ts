/**
 * The report of one run, computed from the metrics the trace produced: I/Os, modelled
 * IOPS and latency, exits per I/O by reason, by handler and by purpose, notifications
 * and interrupts per I/O, and how busy each execution context was.
 */
import { percentile, type MetricsSnapshot } from '../sim/metrics.js';
import type { ExitHandler, ExitPurpose, ExitReason } from '../sim/trace.js';

export interface RunReport {
  label: string;
  ios: number;
  errors: number;
  bytes: number;
  elapsedNs: number;
  iops: number;
  latencyNs: { mean: number; p50: number; p99: number; max: number };
  exits: {
    total: number;
    perIo: number;
    byReason: Record<ExitReason, number>;
    byHandler: Record<ExitHandler, number>;
    byPurpose: Partial<Record<ExitPurpose, number>>;
    timeNs: number;
  };
  notifications: number;
  kicksSuppressed: number;
  interrupts: number;
  interruptsSuppressed: number;
  irqByPath: MetricsSnapshot['irqByPath'];
  perIo: { exits: number; notifications: number; interrupts: number };
  /** Busy fraction of each context over the measured window, 0..1. */
  utilization: Record<string, number>;
}

export function buildRunReport(label: string, m: MetricsSnapshot): RunReport {
  const lat = m.latenciesNs;
  const ios = m.ios;
  const per = (n: number): number => (ios === 0 ? 0 : n / ios);
  const elapsed = m.windowNs;
  return {
    label,
    ios,
    errors: m.ioErrors,
    bytes: m.bytes,
    elapsedNs: elapsed,
    iops: elapsed > 0 ? (ios * 1e9) / elapsed : 0,
    latencyNs: {
      mean: lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : 0,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat.length ? Math.max(...lat) : 0,
    },
    exits: { ...m.exits, perIo: per(m.exits.total) },
    notifications: m.notifications,
    kicksSuppressed: m.kicksSuppressed,
    interrupts: m.interrupts,
    interruptsSuppressed: m.interruptsSuppressed,
    irqByPath: m.irqByPath,
    perIo: { exits: per(m.exits.total), notifications: per(m.notifications), interrupts: per(m.interrupts) },
    utilization: Object.fromEntries(Object.entries(m.busyNs).map(([k, v]) => [k, elapsed > 0 ? v / elapsed : 0])),
  };
}
