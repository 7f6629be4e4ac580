/**
 * The CLI on files: `iopath trace` (golden: one buffered write and its fsync, layer by
 * layer) and `iopath run` with a job file on files. Regenerate the golden files with
 * IOPATH_UPDATE_GOLDEN=1 after a deliberate change.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runRun } from './run.js';
import { runTrace } from './trace.js';
import { capture, golden } from './test-support.js';


const tmp = mkdtempSync(join(tmpdir(), 'iopath-cli-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const VM = ['-m', '256M', '-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=64M', '-device', 'virtio-blk-pci,drive=d0,id=vblk0'];

describe('iopath trace', () => {
  it('follows one buffered write and its fsync layer by layer (golden)', () => {
    const r = capture(() => runTrace(VM, { op: 'write /mnt/f 4096@0; fsync /mnt/f', seed: '1' }));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    golden('trace-write-fsync.out', r.out);
    for (const layer of ['guest syscall', 'guest pagecache', 'guest block', 'guest blk-mq', 'guest virtio', 'EXIT', 'QEMU device', 'block layer', 'KVM            inject'])
      expect(r.out).toContain(layer);
  });
  it('the same seed gives the same trace', () => {
    const a = capture(() => runTrace(VM, { op: 'write /mnt/f 8k@0; sync; read /mnt/f 4k@0', seed: '5' }));
    const b = capture(() => runTrace(VM, { op: 'write /mnt/f 8k@0; sync; read /mnt/f 4k@0', seed: '5' }));
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
  });
  it('names the bad op, and refuses a missing --op', () => {
    const r = capture(() => runTrace(VM, { op: 'write /mnt/f 4096@0; fsnyc /mnt/f', seed: '1' }));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^iopath: --op: op 2 'fsnyc \/mnt\/f': unknown operation 'fsnyc'/);
    expect(capture(() => runTrace(VM, { seed: '1' })).err).toMatch(/--op is required/);
  });
  it('an op that fails shows its errno and the list goes on', () => {
    const r = capture(() => runTrace(VM, { op: 'unlink /mnt/nope; mkdir /mnt/d', seed: '1' }));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/unlink \/mnt\/nope\s+→ ENOENT/);
    expect(r.out).toMatch(/mkdir \/mnt\/d\s+→ ok/);
  });
});

describe('iopath run on files', () => {
  it('mkfs, mount, and a report of system calls, page cache, block layer, device and exits', () => {
    const job = join(tmp, 'files.fio');
    writeFileSync(job, '[w]\nrw=randwrite\nbs=4k\ndirectory=/mnt/data\nnrfiles=2\nsize=256k\nfsync=16\n[r]\nrw=read\nfilename=/mnt/ro\nsize=128k\n');
    const r = capture(() => runRun(VM, { job, seed: '2' }));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^w\+r: 2 jobs on files/);
    expect(r.out).toMatch(/pwrite64\s+64\s+0/);
    expect(r.out).toMatch(/pread64\s+32\s+0/);
    expect(r.out).toMatch(/fsync\s+4\s+0/);
    expect(r.out).toMatch(/page cache: \d+ hits, \d+ misses/);
    expect(r.out).toMatch(/exits: [\d,]+ — [\d.]+ per system call, [\d.]+ per request/);
    const j = JSON.parse(capture(() => runRun(VM, { job, seed: '2', json: true })).out);
    expect(j.jobs.map((x: { name: string; ios: number }) => [x.name, x.ios])).toEqual([['w', 64], ['r', 32]]);
    expect(j.syscalls.byName.pwrite64.calls).toBe(64);
    expect(j.block.dispatched).toBeGreaterThan(0);
    expect(j.pagecache.misses).toBeGreaterThan(0);
  });
  it('refuses scripted events for jobs on files, rather than ignoring them', () => {
    const job = join(tmp, 'ev.fio');
    writeFileSync(job, '[w]\nrw=write\nbs=4k\nfilename=/mnt/f\nsize=64k\n');
    const r = capture(() => runRun(VM, { job, seed: '2', event: ['5ms stop'] }));
    expect(r.code).toBe(1);
    expect(r.err).toContain('--event: scripted QMP commands are modelled for jobs on block devices only');
  });
  it('refuses file jobs mixed with block jobs, and a path outside the mount', () => {
    const mixed = join(tmp, 'mixed.fio');
    writeFileSync(mixed, '[a]\nfilename=/dev/vda\ndirect=1\n[b]\nfilename=/mnt/f\nsize=64k\n');
    expect(capture(() => runRun(VM, { job: mixed, seed: '1' })).err).toMatch(/cannot run together/);
    const outside = join(tmp, 'outside.fio');
    writeFileSync(outside, '[b]\nfilename=/data/f\nsize=64k\n');
    expect(capture(() => runRun(VM, { job: outside, seed: '1' })).err).toContain("/data/f is not under /mnt, where /dev/vda is mounted");
  });
});
