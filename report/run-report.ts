/**
 * The report of one run, computed from the metrics the trace produced: I/Os, modelled
 * IOPS and latency, exits per I/O by reason, by handler and by purpose, notifications
 * and interrupts per I/O, and how busy each execution context was.
 */
import { percentile, type MetricsSnapshot } from '../sim/metrics.js';
import type { ExitHandler, ExitPurpose, ExitReason } from '../sim/trace.js';

export interface RunReport {
  label: string;
  /** The guest block devices the jobs ran on (`/dev/vda`, `/dev/sda`). */
  devices: string[];
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
  /**
   * CPU time per I/O from the `work` spans: on the guest's vCPUs (the guest kernel's path:
   * block layer, driver, interrupt handler, and the vCPU's share of exits) and on QEMU's
   * contexts (main loop, iothreads: device emulation and completion).
   */
  cpuPerIoNs: { guest: number; qemu: number };
}

/** Busy time of the guest's vCPUs and of QEMU's contexts, from the per-context work spans. */
export function busySplit(busyNs: Record<string, number>): { guest: number; qemu: number } {
  let guest = 0;
  let qemu = 0;
  for (const [ctx, ns] of Object.entries(busyNs)) {
    if (ctx.startsWith('vcpu')) guest += ns;
    else qemu += ns;
  }
  return { guest, qemu };
}

export function buildRunReport(label: string, m: MetricsSnapshot, devices: readonly string[] = []): RunReport {
  const lat = m.latenciesNs;
  const ios = m.ios;
  const per = (n: number): number => (ios === 0 ? 0 : n / ios);
  const elapsed = m.windowNs;
  const busy = busySplit(m.busyNs);
  return {
    label,
    devices: [...devices],
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
    cpuPerIoNs: { guest: per(busy.guest), qemu: per(busy.qemu) },
  };
}
