/**
 * The report of fio jobs on files, layer by layer, from the metrics (and syscall
 * latencies) of the measured window — nothing in it is counted anywhere but the trace:
 *
 * - the jobs as fio sees them: I/Os, bytes, syncs, completion latency (fio's clat);
 * - system calls by name: how many, errors, latency (mean from `Metrics`, p50/p99 from
 *   each call's enter/exit events);
 * - the page cache: hits, misses, pages read ahead, dirtied and written back (by why);
 * - the block layer: bios, splits, requests, merges (plug / scheduler, back / front),
 *   requests dispatched to the driver, plug flushes, flushes;
 * - the device: requests completed and their latency;
 * - VM exits by reason and handler, per system call and per request dispatched;
 *   notifications and interrupts per request.
 */
import { percentile, type MetricsSnapshot } from '../sim/metrics.js';
import type { ExitHandler, ExitReason } from '../sim/trace.js';
import type { FileJobResult } from '../workload/file-job.js';

export interface LatencySummary {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export interface FileRunReport {
  label: string;
  elapsedNs: number;
  jobs: { name: string; ios: number; reads: number; writes: number; bytes: number; syncs: number; error?: string; clatNs: LatencySummary }[];
  syscalls: {
    total: number;
    errors: number;
    byName: Record<string, { calls: number; errors: number; latencyNs: LatencySummary }>;
  };
  pagecache: MetricsSnapshot['pagecache'] & { hitRatio: number };
  block: MetricsSnapshot['block'];
  device: { requests: number; errors: number; bytes: number; latencyNs: LatencySummary };
  exits: {
    total: number;
    byReason: Partial<Record<ExitReason, number>>;
    byHandler: Record<ExitHandler, number>;
    perSyscall: number;
    perRequest: number;
  };
  notifications: number;
  interrupts: number;
  perRequest: { notifications: number; interrupts: number };
  utilization: Record<string, number>;
}

export function summarize(values: readonly number[], sum?: number): LatencySummary {
  if (values.length === 0) return { mean: 0, p50: 0, p99: 0, max: 0 };
  const total = sum ?? values.reduce((a, b) => a + b, 0);
  return { mean: total / values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
}

export function buildFileRunReport(
  label: string,
  m: MetricsSnapshot,
  jobs: readonly FileJobResult[],
  syscallLatencies: ReadonlyMap<string, readonly number[]> = new Map(),
): FileRunReport {
  const per = (n: number, d: number): number => (d === 0 ? 0 : n / d);
  const byName: FileRunReport['syscalls']['byName'] = {};
  for (const [name, c] of Object.entries(m.syscalls.byName).sort(([a], [b]) => a.localeCompare(b))) {
    const lat = syscallLatencies.get(name) ?? [];
    const s = summarize(lat);
    byName[name] = { calls: c.calls, errors: c.errors, latencyNs: { ...s, mean: per(c.timeNs, c.calls) } };
  }
  const byReason = Object.fromEntries(Object.entries(m.exits.byReason).filter(([, v]) => v > 0)) as Partial<Record<ExitReason, number>>;
  const pc = m.pagecache;
  return {
    label,
    elapsedNs: m.windowNs,
    jobs: jobs.map((j) => ({
      name: j.name,
      ios: j.ios,
      reads: j.reads,
      writes: j.writes,
      bytes: j.bytes,
      syncs: j.syncs,
      ...(j.error !== undefined ? { error: j.error } : {}),
      clatNs: summarize(j.latenciesNs),
    })),
    syscalls: { total: m.syscalls.calls, errors: m.syscalls.errors, byName },
    pagecache: { ...pc, written: { ...pc.written }, hitRatio: per(pc.hits, pc.hits + pc.misses) },
    block: m.block,
    device: { requests: m.ios, errors: m.ioErrors, bytes: m.bytes, latencyNs: summarize(m.latenciesNs) },
    exits: {
      total: m.exits.total,
      byReason,
      byHandler: m.exits.byHandler,
      perSyscall: per(m.exits.total, m.syscalls.calls),
      perRequest: per(m.exits.total, m.block.dispatched),
    },
    notifications: m.notifications,
    interrupts: m.interrupts,
    perRequest: { notifications: per(m.notifications, m.block.dispatched), interrupts: per(m.interrupts, m.block.dispatched) },
    utilization: Object.fromEntries(Object.entries(m.busyNs).map(([k, v]) => [k, per(v, m.windowNs)])),
  };
}
