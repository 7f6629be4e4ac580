import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../sim/metrics.js';
import { parseFioJob } from '../workload/fio/parse.js';
import { runFileJobs } from '../workload/run-file-jobs.js';
import { FAKE_LATENCY, FakeOs, fakeFileRunEnv } from '../workload/testing.js';
import { buildFileRunReport } from './file-report.js';
import { renderFileRun } from './file-text.js';
import { SyscallLatencies } from './syscall-latency.js';

describe('the file-job report', () => {
  it('counts system calls by name, with latencies, inside the measured window only', () => {
    const os = new FakeOs();
    const metrics = new Metrics();
    const lat = new SyscallLatencies();
    os.tk.trace.attach(metrics.sink);
    os.tk.trace.attach(lat.sink);
    const jobs = parseFioJob('[w]\nrw=write\nfilename=/mnt/f\nsize=32k\nfsync=4\n');
    if (E.isLeft(jobs)) throw new Error('job');
    const r = runFileJobs(fakeFileRunEnv(os), jobs.right, { mount: { device: '/dev/vda', dir: '/mnt', mkfs: true } });
    if (E.isLeft(r)) throw new Error(r.left);
    const report = buildFileRunReport('w', metrics.snapshot(), r.right.jobs, lat.byName);
    // mkfs, mount and the layout are before the window.
    expect(Object.keys(report.syscalls.byName)).toEqual(['close', 'fsync', 'open', 'pwrite64']);
    expect(report.syscalls.byName.pwrite64.calls).toBe(8);
    expect(report.syscalls.byName.fsync).toMatchObject({ calls: 2, errors: 0 });
    expect(report.syscalls.byName.fsync.latencyNs).toMatchObject({ mean: FAKE_LATENCY.fsync, p50: FAKE_LATENCY.fsync, p99: FAKE_LATENCY.fsync });
    expect(report.syscalls.total).toBe(12);
    expect(report.jobs[0]).toMatchObject({ name: 'w', ios: 8, writes: 8, syncs: 2 });
    expect(report.elapsedNs).toBe(r.right.windowEnd - r.right.windowStart);
    const text = renderFileRun(report);
    expect(text).toContain('system calls: 12 (0 errors)');
    expect(text).toMatch(/pwrite64\s+8\s+0/);
    expect(text).toContain('page cache: 0 hits, 0 misses');
    expect(text).toContain('exits: 0');
  });
});
