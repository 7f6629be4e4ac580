import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fioErrorMessage } from './errors.js';
import { DEFAULT_JOB, type FioJob } from './job.js';
import { FIO_DEFAULTS, FIO_OPTIONS, fioOptionsHelp } from './options.js';
import { parseFioJob } from './parse.js';

const jobsOf = (text: string): FioJob[] => {
  const r = parseFioJob(text);
  if (E.isLeft(r)) throw new Error(fioErrorMessage(r.left));
  return r.right;
};
const messageOf = (text: string): string => {
  const r = parseFioJob(text);
  if (E.isRight(r)) throw new Error('expected an error');
  return fioErrorMessage(r.left);
};

// axboe/fio examples/fio-rand-write.fio
const RAND_WRITE = `; fio-rand-write.job for fiotest

[global]
name=fio-rand-write
filename=fio-rand-write
rw=randwrite
bs=4K
direct=0
numjobs=4
time_based
runtime=900

[file1]
size=10G
ioengine=libaio
iodepth=16
`;

// axboe/fio examples/aio-read.fio
const AIO_READ = `; Read 4 files with aio at different depths
[global]
ioengine=libaio
buffered=0
rw=randread
bs=128k
size=512m
directory=/data1

[file1]
iodepth=4

[file2]
iodepth=32

[file3]
iodepth=8

[file4]
iodepth=16
`;

describe('parseFioJob on real job files', () => {
  it('fio-rand-write.fio: global options inherited, numjobs expanded', () => {
    const jobs = jobsOf(RAND_WRITE);
    expect(jobs).toHaveLength(4);
    expect(jobs.map((j) => j.index)).toEqual([0, 1, 2, 3]);
    expect(jobs[0]).toEqual({
      ...FIO_DEFAULTS,
      name: 'file1',
      index: 0,
      filename: 'fio-rand-write',
      rw: 'randwrite',
      bs: 4096,
      direct: false,
      numjobs: 4,
      timeBased: true,
      runtimeNs: 900e9,
      size: 10 * 2 ** 30,
      ioengine: 'libaio',
      iodepth: 16,
    });
  });

  it('aio-read.fio: four jobs, one per section, with buffered=0', () => {
    const jobs = jobsOf(AIO_READ);
    expect(jobs.map((j) => [j.name, j.iodepth])).toEqual([
      ['file1', 4],
      ['file2', 32],
      ['file3', 8],
      ['file4', 16],
    ]);
    for (const j of jobs) expect(j).toMatchObject({ direct: true, rw: 'randread', bs: 128 * 1024, size: 512 * 2 ** 20, directory: '/data1' });
  });

  it('rwmixread/rwmixwrite and readwrite', () => {
    const [j] = jobsOf('[mix]\nreadwrite=readwrite\nrwmixwrite=30\n');
    expect(j).toMatchObject({ rw: 'rw', rwmixread: 70 });
    const [k] = jobsOf('[mix]\nrw=randrw\nrwmixread=60\nrwmixwrite=40\n');
    expect(k.rwmixread).toBe(60);
  });

  it('a later [global] changes only later jobs; name= renames inside a job', () => {
    const jobs = jobsOf('[global]\nbs=8k\n[a]\n[global]\nbs=16k\n[b]\nname=renamed\n');
    expect(jobs.map((j) => [j.name, j.bs])).toEqual([
      ['a', 8192],
      ['renamed', 16384],
    ]);
  });

  it('takes every option in the table, aliases too', () => {
    const [j] = jobsOf(
      [
        '[all]', 'description=everything', 'rw=write', 'blocksize=64k', 'iodepth=8', 'size=1g', 'io_limit=2g', 'number_ios=100',
        'numjobs=1', 'direct=1', 'rwmixread=10', 'filename=/dev/vdb', 'ioengine=io_uring', 'timeout=1m', 'time_based=0',
        'offset=1m', 'rand_repeatable=0', 'norandommap', 'wait_for_previous', 'thread', 'group_reporting', '  # indented comment',
        'directory=/mnt', 'nr_files=3', 'filesize=1m', 'fsync=8', 'fdatasync=4', 'end_fsync=1', 'create_on_open=1', 'invalidate=0',
      ].join('\n'),
    );
    expect(j).toMatchObject({
      description: 'everything', rw: 'write', bs: 65536, iodepth: 8, size: 2 ** 30, ioSize: 2 ** 31, numberIos: 100, direct: true,
      rwmixread: 10, filename: '/dev/vdb', ioengine: 'io_uring', runtimeNs: 60e9, timeBased: false, offset: 2 ** 20,
      randrepeat: false, norandommap: true, stonewall: true, thread: true,
      directory: '/mnt', nrfiles: 3, filesize: 2 ** 20, fsync: 8, fdatasync: 4, endFsync: true, createOnOpen: true, invalidate: false,
    });
  });

  it("fio's defaults, from the table", () => {
    expect(FIO_DEFAULTS).toEqual({
      name: '', index: 0, rw: 'read', bs: 4096, iodepth: 1, numjobs: 1, direct: false, rwmixread: 50, ioengine: 'psync',
      timeBased: false, offset: 0, randrepeat: true, norandommap: false, stonewall: false, thread: false,
      nrfiles: 1, fsync: 0, fdatasync: 0, endFsync: false, createOnOpen: false, invalidate: true,
    });
    const names = FIO_OPTIONS.flatMap((o) => [o.name, ...o.aliases]);
    expect(new Set(names).size).toBe(names.length);
    expect(fioOptionsHelp().split('\n')).toHaveLength(FIO_OPTIONS.length);
  });

  it('DEFAULT_JOB: 20,000 random 4k direct writes at depth 32 over 64 MiB', () => {
    expect(DEFAULT_JOB).toMatchObject({
      name: 'default', rw: 'randwrite', bs: 4096, iodepth: 32, size: 64 * 2 ** 20, numberIos: 20_000, direct: true, ioengine: 'libaio',
    });
    expect(DEFAULT_JOB.ioSize).toBe(20_000 * 4096);
  });
});

describe('parseFioJob errors name the job, the line and the option', () => {
  it('an unknown option', () => {
    expect(messageOf('[global]\nbs=4k\n\n[x]\nrw=read\n; c\nfoo=1\n')).toBe("fio: job 'x', line 7: unknown option 'foo'");
  });

  it('bad values', () => {
    expect(messageOf('[x]\nbs=x\n')).toBe("fio: job 'x', line 2: bs: invalid value 'x'");
    expect(messageOf('[global]\nrw=trim\n[x]\n')).toBe(
      "fio: job 'global', line 2: rw: invalid value 'trim' (expected read, write, randread, randwrite, randrw, rw, readwrite)",
    );
    expect(messageOf('[x]\nrwmixread=101\n')).toBe("fio: job 'x', line 2: rwmixread: invalid value '101'");
    expect(messageOf('[x]\niodepth=0\n')).toBe("fio: job 'x', line 2: iodepth: invalid value '0'");
    expect(messageOf('[x]\ndirect=2\n')).toBe("fio: job 'x', line 2: direct: invalid value '2'");
    expect(messageOf('[x]\nioengine=posixaio\n')).toMatch(/^fio: job 'x', line 2: ioengine: invalid value 'posixaio'/);
    expect(messageOf('[x]\nruntime=soon\n')).toBe("fio: job 'x', line 2: runtime: invalid value 'soon'");
  });

  it('a value missing, an option outside a section, a broken header, no jobs', () => {
    expect(messageOf('[x]\nbs\n')).toBe("fio: job 'x', line 2: option 'bs' requires a value");
    expect(messageOf('bs=4k\n[x]\n')).toBe("fio: line 1: option 'bs=4k' outside of [] job section");
    expect(messageOf('[x\n')).toBe("fio: line 1: invalid section header '[x'");
    expect(messageOf('[global]\nbs=4k\n')).toBe('fio: no jobs defined in the job file');
  });
});
