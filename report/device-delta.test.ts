import { describe, expect, it } from 'vitest';
import { CostModel } from '../sim/costs.js';
import { renderDeviceDelta } from './device-delta.js';
import type { RunReport } from './run-report.js';

function report(label: string, p50: number, guest: number, qemu: number, exits: number): RunReport {
  return {
    label,
    devices: [],
    ios: 10,
    errors: 0,
    bytes: 0,
    elapsedNs: 1,
    iops: 1,
    latencyNs: { mean: p50, p50, p99: p50, max: p50 },
    exits: { total: 0, perIo: exits, byReason: {} as RunReport['exits']['byReason'], byHandler: { kvm: 0, qemu: 0 }, byPurpose: {}, timeNs: 0 },
    notifications: 0,
    kicksSuppressed: 0,
    interrupts: 0,
    interruptsSuppressed: 0,
    irqByPath: {},
    perIo: { exits, notifications: 0, interrupts: 1 },
    utilization: {},
    cpuPerIoNs: { guest, qemu },
  };
}

describe('device delta', () => {
  it('prints a minus b for each pair present, and the named costs of each path', () => {
    const text = renderDeviceDelta('t', [['qd1', 'scsi', 'blk'], ['qd9', 'gone', 'blk']], [report('scsi', 9000, 5000, 1000, 2), report('blk', 8000, 4400, 1500, 2)], new CostModel());
    const lines = text.split('\n');
    expect(lines[1]).toBe('  qd1  latency p50 +1.0 µs, guest vCPU +600 ns/IO, QEMU -500 ns/IO, exits +0.00/IO, interrupts +0.00/IO');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('guest.scsi.queue_rq');
    expect(lines[3]).toContain('guest.virtio-blk.queue_rq');
  });
});
