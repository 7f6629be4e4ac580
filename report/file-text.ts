/** The terminal rendering of a file-job report (report/file-report.ts), one layer per block. */
import { EXIT_REASONS } from '../sim/trace.js';
import { fmtNs, fmtNum, table } from './format.js';
import type { FileRunReport } from './file-report.js';

const KiB = 1024;

function fmtBytes(n: number): string {
  if (n >= KiB * KiB * KiB) return (n / (KiB * KiB * KiB)).toFixed(2) + ' GiB';
  if (n >= KiB * KiB) return (n / (KiB * KiB)).toFixed(2) + ' MiB';
  if (n >= KiB) return (n / KiB).toFixed(1) + ' KiB';
  return `${n} B`;
}

const ratio = (x: number): string => x.toFixed(2);

export function renderFileRun(r: FileRunReport): string {
  const out: string[] = [];
  out.push(`${r.label}: ${r.jobs.length} job${r.jobs.length === 1 ? '' : 's'} on files, ${fmtNs(r.elapsedNs)} of virtual time`);
  out.push(
    table(
      ['  job', 'I/Os', 'reads', 'writes', 'bytes', 'syncs', 'clat p50', 'clat p99'],
      r.jobs.map((j) => ['  ' + j.name, fmtNum(j.ios), fmtNum(j.reads), fmtNum(j.writes), fmtBytes(j.bytes), fmtNum(j.syncs), fmtNs(j.clatNs.p50), fmtNs(j.clatNs.p99)]),
    ),
  );
  for (const j of r.jobs) if (j.error) out.push(`  ${j.name} stopped: ${j.error}`);
  out.push('');
  out.push(`system calls: ${fmtNum(r.syscalls.total)} (${r.syscalls.errors} errors)`);
  out.push(
    table(
      ['  call', 'count', 'errors', 'mean', 'p50', 'p99'],
      Object.entries(r.syscalls.byName).map(([name, s]) => ['  ' + name, fmtNum(s.calls), fmtNum(s.errors), fmtNs(s.latencyNs.mean), fmtNs(s.latencyNs.p50), fmtNs(s.latencyNs.p99)]),
    ),
  );
  const pc = r.pagecache;
  const w = pc.written;
  out.push('');
  out.push(`page cache: ${fmtNum(pc.hits)} hits, ${fmtNum(pc.misses)} misses (hit ratio ${ratio(pc.hitRatio)}), ${fmtNum(pc.readaheadPages)} pages read ahead`);
  out.push(
    `  ${fmtNum(pc.dirtied)} pages dirtied; written back ${fmtNum(w.periodic + w.background + w.sync + w.vmscan)} ` +
      `(sync ${fmtNum(w.sync)}, periodic ${fmtNum(w.periodic)}, background ${fmtNum(w.background)}, vmscan ${fmtNum(w.vmscan)}); ` +
      `${fmtNum(pc.throttles)} writer throttles, ${fmtNum(pc.reclaimed)} pages reclaimed`,
  );
  const b = r.block;
  out.push(`block layer: ${fmtNum(b.bios)} bios (${fmtNum(b.splits)} split), ${fmtNum(b.requests)} requests, ${fmtNum(b.dispatched)} dispatched to the driver`);
  out.push(
    `  merges: plug ${fmtNum(b.merges.plug.back)} back / ${fmtNum(b.merges.plug.front)} front, scheduler ${fmtNum(b.merges.sched.back)} back / ${fmtNum(b.merges.sched.front)} front; ` +
      `${fmtNum(b.plugFlushes)} plug flushes, ${fmtNum(b.flushes)} flushes`,
  );
  const d = r.device;
  out.push(`device: ${fmtNum(d.requests)} requests completed (${d.errors} errors), ${fmtBytes(d.bytes)}, latency p50 ${fmtNs(d.latencyNs.p50)}, p99 ${fmtNs(d.latencyNs.p99)}`);
  out.push('');
  const x = r.exits;
  out.push(`exits: ${fmtNum(x.total)} — ${ratio(x.perSyscall)} per system call, ${ratio(x.perRequest)} per request; handled in KVM ${fmtNum(x.byHandler.kvm)}, in QEMU ${fmtNum(x.byHandler.qemu)}`);
  const reasons = EXIT_REASONS.filter((k) => (x.byReason[k] ?? 0) > 0);
  if (reasons.length > 0) out.push('  ' + reasons.map((k) => `${k} ${fmtNum(x.byReason[k]!)}`).join(', '));
  out.push(
    `notifications ${fmtNum(r.notifications)} (${ratio(r.perRequest.notifications)} per request), interrupts ${fmtNum(r.interrupts)} (${ratio(r.perRequest.interrupts)} per request)`,
  );
  out.push(`busy: ${Object.entries(r.utilization).map(([k, v]) => `${k} ${(v * 100).toFixed(0)}%`).join(', ')}`);
  return out.join('\n');
}
