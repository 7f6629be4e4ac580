/**
 * Where one device's time goes against another's on the same workload: the differences,
 * per I/O, between two rows of a comparison that differ only in the device (virtio-scsi
 * against virtio-blk). Time is split by where it was spent, from the `work` spans of the
 * trace: the guest's vCPUs (for virtio-scsi: sd, the SCSI midlayer and virtio_scsi on top
 * of the block layer) and QEMU's contexts (the SCSI bus, scsi-hd's emulation and DMA on
 * top of the block backend). The cost-model entries that only one path charges are named
 * beside the numbers, with their values, so the difference can be read back to its parts.
 */
import { DEFAULT_COSTS, type CostModel, type CostName } from '../sim/costs.js';
import { fmtNs } from './format.js';
import type { RunReport } from './run-report.js';

/** Named costs of the SCSI path that virtio-blk does not charge (by name prefix). */
const SCSI_ONLY = /^(guest\.scsi\.|guest\.virtio-scsi\.|qemu\.scsi\.|qemu\.virtio-scsi\.)/u;
/** Named costs of virtio-blk's path that the SCSI path does not charge ('qemu.blk.*' is QEMU's virtio-blk device). */
const BLK_ONLY = /^(guest\.virtio-blk\.|qemu\.blk\.)/u;

const signed = (ns: number): string => (ns >= 0 ? '+' : '-') + fmtNs(Math.abs(ns));
const signedN = (n: number): string => (n >= 0 ? '+' : '-') + Math.abs(n).toFixed(2);

function named(costs: CostModel, re: RegExp): string {
  const names = (Object.keys(DEFAULT_COSTS) as CostName[]).filter((n) => re.test(n));
  return names.length === 0 ? 'none' : names.map((n) => `${n} ${fmtNs(costs.ns(n))}`).join(', ');
}

/** One line per [name, a, b] (row labels): a's figures minus b's. Pairs with a missing row are left out. */
export function renderDeviceDelta(title: string, pairs: readonly (readonly [string, string, string])[], runs: readonly RunReport[], costs: CostModel): string {
  const byLabel = new Map(runs.map((r) => [r.label, r] as const));
  const lines = [title];
  for (const [name, aLabel, bLabel] of pairs) {
    const a = byLabel.get(aLabel);
    const b = byLabel.get(bLabel);
    if (a === undefined || b === undefined) continue;
    lines.push(
      `  ${name}  latency p50 ${signed(a.latencyNs.p50 - b.latencyNs.p50)}, ` +
        `guest vCPU ${signed(a.cpuPerIoNs.guest - b.cpuPerIoNs.guest)}/IO, QEMU ${signed(a.cpuPerIoNs.qemu - b.cpuPerIoNs.qemu)}/IO, ` +
        `exits ${signedN(a.perIo.exits - b.perIo.exits)}/IO, interrupts ${signedN(a.perIo.interrupts - b.perIo.interrupts)}/IO`,
    );
  }
  lines.push(`  named costs only the SCSI path charges: ${named(costs, SCSI_ONLY)}`);
  lines.push(`  named costs only virtio-blk charges: ${named(costs, BLK_ONLY)}`);
  return lines.join('\n');
}
