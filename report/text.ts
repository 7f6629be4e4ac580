/** The terminal rendering of a run report and of a comparison of several runs. */
import { EXIT_REASONS } from '../sim/trace.js';
import { fmtNs, fmtNum, fmtRate, table } from './format.js';
import type { RunReport } from './run-report.js';

export function renderRun(r: RunReport): string {
  const lines: string[] = [];
  lines.push(r.devices.length > 0 ? `${r.label} on ${r.devices.join(', ')}` : r.label);
  lines.push(`  I/Os ${fmtNum(r.ios)} (${r.errors} errors) in ${fmtNs(r.elapsedNs)} of virtual time: ${fmtRate(r.iops)} IOPS, latency p50 ${fmtNs(r.latencyNs.p50)}, p99 ${fmtNs(r.latencyNs.p99)}`);
  lines.push(`  per I/O: ${r.perIo.exits.toFixed(2)} exits, ${r.perIo.notifications.toFixed(2)} notifications, ${r.perIo.interrupts.toFixed(2)} interrupts`);
  lines.push(`  CPU per I/O: guest vCPUs ${fmtNs(r.cpuPerIoNs.guest)}, QEMU ${fmtNs(r.cpuPerIoNs.qemu)}`);
  lines.push(`  kicks suppressed ${fmtNum(r.kicksSuppressed)}, interrupts suppressed ${fmtNum(r.interruptsSuppressed)}`);
  const reasons = EXIT_REASONS.filter((x) => r.exits.byReason[x] > 0);
  lines.push(
    table(
      ['  exit reason', 'count', 'per I/O'],
      reasons.map((x) => ['  ' + x, fmtNum(r.exits.byReason[x]), (r.exits.byReason[x] / Math.max(1, r.ios)).toFixed(2)]),
    ),
  );
  lines.push(`  handled in KVM ${fmtNum(r.exits.byHandler.kvm)}, in QEMU ${fmtNum(r.exits.byHandler.qemu)}; by purpose: ${Object.entries(r.exits.byPurpose).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`  busy: ${Object.entries(r.utilization).map(([k, v]) => `${k} ${(v * 100).toFixed(0)}%`).join(', ')}`);
  return lines.join('\n');
}

/** One row per run: the comparison `npm start` prints. */
export function renderComparison(title: string, runs: RunReport[]): string {
  const rows = runs.map((r) => [
    r.label,
    fmtRate(r.iops),
    fmtNs(r.latencyNs.p50),
    fmtNs(r.latencyNs.p99),
    r.perIo.exits.toFixed(2),
    (r.exits.byHandler.kvm / Math.max(1, r.ios)).toFixed(2),
    (r.exits.byHandler.qemu / Math.max(1, r.ios)).toFixed(2),
    r.perIo.notifications.toFixed(2),
    r.perIo.interrupts.toFixed(2),
    fmtNs(r.cpuPerIoNs.guest),
    fmtNs(r.cpuPerIoNs.qemu),
  ]);
  return `${title}\n` + table(['configuration', 'IOPS', 'p50', 'p99', 'exits/IO', 'KVM/IO', 'QEMU/IO', 'notify/IO', 'irq/IO', 'guest CPU/IO', 'QEMU CPU/IO'], rows);
}

/** The JSON shape of `iopath run --json`. */
export function runJson(r: RunReport): object {
  return {
    label: r.label,
    devices: r.devices,
    ios: r.ios,
    errors: r.errors,
    iops: r.iops,
    elapsedNs: r.elapsedNs,
    latencyNs: r.latencyNs,
    exits: { total: r.exits.total, perIo: r.exits.perIo, byReason: r.exits.byReason, byHandler: r.exits.byHandler, byPurpose: r.exits.byPurpose },
    notifications: r.notifications,
    interrupts: r.interrupts,
    kicksSuppressed: r.kicksSuppressed,
    interruptsSuppressed: r.interruptsSuppressed,
    irqByPath: r.irqByPath,
    perIo: r.perIo,
    utilization: r.utilization,
    cpuPerIoNs: r.cpuPerIoNs,
  };
}
