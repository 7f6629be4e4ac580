/** Small text-formatting helpers for terminal reports. */

export function fmtNs(ns: number): string {
  if (ns >= 1e9) return (ns / 1e9).toFixed(2) + ' s';
  if (ns >= 1e6) return (ns / 1e6).toFixed(2) + ' ms';
  if (ns >= 1e3) return (ns / 1e3).toFixed(1) + ' µs';
  return Math.round(ns) + ' ns';
}

export function fmtNum(n: number, digits = 2): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n.toFixed(digits);
}

export function fmtRate(perSec: number): string {
  if (perSec >= 1e6) return (perSec / 1e6).toFixed(2) + 'M';
  if (perSec >= 1e3) return (perSec / 1e3).toFixed(1) + 'k';
  return perSec.toFixed(0);
}

/** A plain left/right aligned table: first column left, the rest right. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
