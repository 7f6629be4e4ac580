import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fioErrorMessage } from './fio/errors.js';
import type { FioJob } from './fio/job.js';
import { parseFioJob } from './fio/parse.js';
import { fileIoStream, isFileJob, jobFiles } from './file-plan.js';
import { runFileJobs, type FileRunResult } from './run-file-jobs.js';
import { FAKE_LATENCY, FakeOs, fakeFileRunEnv } from './testing.js';
import { Rng } from '../sim/rng.js';

const jobsOf = (text: string): FioJob[] => {
  const r = parseFioJob(text);
  if (E.isLeft(r)) throw new Error(fioErrorMessage(r.left));
  return r.right;
};
const MOUNT = { device: '/dev/vda', dir: '/mnt', mkfs: true };

function run(text: string, cpus = 1, threads = false): { os: FakeOs; r: FileRunResult; calls: string[] } {
  const os = new FakeOs(cpus, { threads });
  const r = runFileJobs(fakeFileRunEnv(os), jobsOf(text), { mount: MOUNT });
  if (E.isLeft(r)) throw new Error(r.left);
  const start = os.log.indexOf('drop_caches 1');
  // The fd numbers depend on the layout's opens: leave them out.
  return { os, r: r.right, calls: os.log.slice(start + 1).map((c) => c.replace(/^(\w+) \d+/, '$1')) };
}

describe('file jobs: which jobs, which files', () => {
  it('a /dev path is a block job; a path or a directory is a file job', () => {
    const base = jobsOf('[j]\nsize=1m\n')[0];
    expect(isFileJob(base)).toBe(false);
    expect(isFileJob({ ...base, filename: '/dev/vdb' })).toBe(false);
    expect(isFileJob({ ...base, filename: '/mnt/f' })).toBe(true);
    expect(isFileJob({ ...base, directory: '/mnt' })).toBe(true);
  });
  it("fio's names <name>.<jobnum>.<filenum>, size shared among nrfiles", () => {
    const [a, b] = jobsOf('[w]\ndirectory=/mnt/d\nnrfiles=2\nsize=64k\nnumjobs=2\n');
    expect(jobFiles(b, '/')).toEqual(E.right([
      { path: '/mnt/d/w.1.0', offset: 0, size: 32768 },
      { path: '/mnt/d/w.1.1', offset: 0, size: 32768 },
    ]));
    expect(E.isRight(jobFiles(a, '/'))).toBe(true);
    const [c] = jobsOf('[x]\nfilename=f1:sub/f2\nfilesize=8k\n');
    expect(jobFiles(c, '/mnt')).toEqual(E.right([
      { path: '/mnt/f1', offset: 0, size: 8192 },
      { path: '/mnt/sub/f2', offset: 0, size: 8192 },
    ]));
  });
  it('refuses a file job without a size, and files smaller than bs', () => {
    const [j] = jobsOf('[x]\nfilename=/mnt/f\n');
    expect(jobFiles(j, '/')).toEqual(E.left("job 'x': a file job needs size= or filesize= (fio: you need to specify size=)"));
    const [k] = jobsOf('[x]\nfilename=/mnt/f\nsize=1k\n');
    expect(E.isLeft(jobFiles(k, '/'))).toBe(true);
  });
  it('I/O goes round robin over the files, number_ios caps the total', () => {
    const [j] = jobsOf('[w]\nrw=write\ndirectory=/mnt\nnrfiles=3\nsize=48k\nnumber_ios=7\n');
    const files = E.getOrElseW(() => [])(jobFiles(j, '/'));
    const ios = [...fileIoStream(j, files, new Rng(1))];
    expect(ios.map((x) => `${x.file}:${x.offset}`)).toEqual(['0:0', '1:0', '2:0', '0:4096', '1:4096', '2:4096', '0:8192']);
  });
});

describe('file jobs on a fake OS', () => {
  it('psync buffered writes: pwrite one at a time, fsync every N writes, end_fsync, then close', () => {
    const { os, r, calls } = run('[w]\nrw=write\nfilename=/mnt/f\nsize=32k\nfsync=4\nend_fsync=1\n');
    expect(os.log.slice(0, 3)).toEqual(['mkfs /dev/vda', 'stat /mnt', 'mount /dev/vda /mnt']);
    expect(calls).toEqual([
      'open /mnt/f', 'pwrite 4096@0', 'pwrite 4096@4096', 'pwrite 4096@8192', 'pwrite 4096@12288', 'fsync',
      'pwrite 4096@16384', 'pwrite 4096@20480', 'pwrite 4096@24576', 'pwrite 4096@28672', 'fsync', 'fsync', 'close',
    ]);
    expect(r.jobs[0]).toMatchObject({ name: 'w', ios: 8, writes: 8, reads: 0, bytes: 32768, syncs: 3 });
    expect(os.files.get('/mnt/f')!.length).toBe(32768);
    expect(r.windowEnd).toBeGreaterThan(r.windowStart);
  });
  it('libaio with direct=1 keeps iodepth in flight and drains before fdatasync', () => {
    const { r, calls } = run('[a]\nrw=randwrite\nfilename=/mnt/f\nsize=64k\nioengine=libaio\niodepth=4\ndirect=1\nfdatasync=8\n');
    // The job's thread and each of the 4 slot threads open the file.
    expect(calls.filter((c) => c === 'open /mnt/f')).toHaveLength(5);
    const opened = calls.lastIndexOf('open /mnt/f');
    expect(calls.slice(opened + 1, opened + 5).every((c) => c.startsWith('pwrite'))).toBe(true);
    const sync = calls.indexOf('fdatasync');
    expect(calls.slice(opened + 1, sync).filter((c) => c.startsWith('pwrite'))).toHaveLength(8);
    expect(r.jobs[0].writes).toBe(16);
    // 16 writes, 4 at a time, two syncs: about 4 + 4 I/O latencies plus the syncs, not 16.
    const ioLat = FAKE_LATENCY.call + 4096 * FAKE_LATENCY.perByte;
    expect(r.windowEnd - r.windowStart).toBeLessThan(10 * ioLat + 2 * FAKE_LATENCY.fsync + 20_000);
  });
  it('libaio slots are threads of the job sharing its descriptors, when the OS can start threads', () => {
    const { r, calls } = run('[a]\nrw=randwrite\nfilename=/mnt/f\nsize=64k\nioengine=libaio\niodepth=4\ndirect=1\n', 1, true);
    expect(calls.filter((c) => c === 'open /mnt/f')).toHaveLength(1);
    expect(calls.filter((c) => c === 'close')).toHaveLength(1);
    expect(r.jobs[0].writes).toBe(16);
  });
  it('libaio with buffered I/O is synchronous: one I/O at a time', () => {
    const { r } = run('[a]\nrw=randwrite\nfilename=/mnt/f\nsize=64k\nioengine=libaio\niodepth=4\n');
    const ioLat = FAKE_LATENCY.call + 4096 * FAKE_LATENCY.perByte;
    expect(r.windowEnd - r.windowStart).toBeGreaterThanOrEqual(16 * ioLat);
  });
  it('a read job: the file is laid out (written, fsynced) before the window, then read', () => {
    const { os, r, calls } = run('[r]\nrw=randread\nfilename=/mnt/data/f\nsize=16k\n');
    expect(os.log).toContain('mkdir /mnt/data');
    expect(os.log).toContain('pwrite 3 16384@0');
    expect(calls.filter((c) => c.startsWith('pread'))).toHaveLength(4);
    expect(r.jobs[0]).toMatchObject({ reads: 4, bytes: 16384 });
  });
  it('create_on_open: no layout, the job opens with O_CREAT', () => {
    const { os } = run('[r]\nrw=read\nfilename=/mnt/g\nsize=8k\ncreate_on_open=1\n');
    expect(os.log.filter((c) => c.startsWith('pwrite'))).toEqual([]);
    expect(os.log).toContain('open /mnt/g');
  });
  it('the sync engine seeks only when the position is elsewhere', () => {
    const seq = run('[s]\nrw=write\nfilename=/mnt/f\nsize=16k\nioengine=sync\n').calls;
    expect(seq.filter((c) => c.startsWith('lseek'))).toEqual([]);
    expect(seq.filter((c) => c.startsWith('write'))).toHaveLength(4);
    const rnd = run('[s]\nrw=randwrite\nfilename=/mnt/f\nsize=64k\nioengine=sync\n').calls;
    expect(rnd.filter((c) => c.startsWith('lseek')).length).toBeGreaterThan(0);
  });
  it('numjobs clones run on their own tasks, round robin over CPUs', () => {
    const { r, os } = run('[w]\nrw=write\ndirectory=/mnt\nsize=8k\nnumjobs=3\n', 2);
    expect(r.jobs.map((j) => j.name)).toEqual(['w.0', 'w.1', 'w.2']);
    expect([...os.files.keys()].sort()).toEqual(['/mnt/w.0.0', '/mnt/w.1.0', '/mnt/w.2.0']);
  });
  it('runtime stops a time_based job', () => {
    const { r } = run('[t]\nrw=randwrite\nfilename=/mnt/f\nsize=64k\ntime_based=1\nruntime=1ms\n');
    expect(r.windowEnd - r.windowStart).toBeGreaterThanOrEqual(1e6);
    expect(r.windowEnd - r.windowStart).toBeLessThan(1.1e6);
  });
  it('a path outside the mount, a block job among file jobs: clear errors', () => {
    const os = new FakeOs();
    expect(runFileJobs(fakeFileRunEnv(os), jobsOf('[x]\nfilename=/data/f\nsize=8k\n'), { mount: MOUNT })).toEqual(
      E.left("job 'x': /data/f is not under /mnt, where /dev/vda is mounted"),
    );
    const r = runFileJobs(fakeFileRunEnv(os), jobsOf('[x]\nfilename=/dev/vda\nsize=8k\n'), { mount: MOUNT });
    expect(E.isLeft(r) && r.left).toMatch(/block device/);
  });
  it('the first failed call stops the job and is reported', () => {
    const os = new FakeOs();
    os.files.set('/mnt/f', new Uint8Array(0));
    const r = runFileJobs(fakeFileRunEnv(os), jobsOf('[x]\nrw=write\nfilename=/mnt/f/g\nsize=8k\ncreate_on_open=1\n'), { mount: MOUNT });
    expect(r).toEqual(E.left("job 'x': mkdir /mnt/f: ENOTDIR"));
  });
});
