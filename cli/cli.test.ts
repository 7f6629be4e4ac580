/**
 * The CLI, as a user meets it: golden outputs (QEMU iotests' `.out` idea) for a short
 * deterministic run and for the cost table, and QEMU-like errors with a non-zero exit.
 * Regenerate the golden files with IOPATH_UPDATE_GOLDEN=1 after a deliberate change.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCosts } from './costs.js';
import { runRun } from './run.js';
import { capture, golden } from './test-support.js';


const tmp = mkdtempSync(join(tmpdir(), 'iopath-cli-'));
afterEach(() => vi.restoreAllMocks());

const VM = ['-m', '256M', '-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=64M', '-device', 'virtio-blk-pci,drive=d0'];

describe('iopath run', () => {
  it('prints the same report for the same seed (golden)', () => {
    const job = join(tmp, 'qd4.fio');
    writeFileSync(job, '[qd4]\nrw=randwrite\nbs=4k\niodepth=4\nsize=16m\nnumber_ios=500\nio_size=2m\ndirect=1\nioengine=libaio\n');
    const a = capture(() => runRun(VM, { job, seed: '3' }));
    expect(a.code).toBe(0);
    golden('run-qd4.out', a.out);
    const b = capture(() => runRun(VM, { job, seed: '3', json: true }));
    const j = JSON.parse(b.out);
    expect(j.ios).toBe(500);
    expect(Object.keys(j.exits.byReason)).toContain('EPT_MISCONFIG');
    expect(j.exits.byHandler.kvm + j.exits.byHandler.qemu).toBe(j.exits.total);
    expect(j.latencyNs.p50).toBeLessThanOrEqual(j.latencyNs.p99);
    expect(typeof j.notifications).toBe('number');
    expect(typeof j.interrupts).toBe('number');
  });

  it('reports a job on a virtio-scsi disk as /dev/sda, with the same per-I/O columns (golden)', () => {
    const job = join(tmp, 'scsi-qd4.fio');
    writeFileSync(job, '[qd4]\nrw=randwrite\nbs=4k\niodepth=4\nsize=16m\nnumber_ios=500\nio_size=2m\ndirect=1\nioengine=libaio\n');
    const scsi = ['-m', '256M', '-blockdev', 'driver=raw,node-name=d0,file.driver=memory,file.size=64M', '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'scsi-hd,bus=scsi0.0,drive=d0'];
    const a = capture(() => runRun(scsi, { job, seed: '3' }));
    expect(a.code).toBe(0);
    expect(a.out.split('\n')[0]).toBe('qd4 on /dev/sda');
    golden('run-scsi-qd4.out', a.out);
    const j = JSON.parse(capture(() => runRun(scsi, { job, seed: '3', json: true })).out);
    expect(j.devices).toEqual(['/dev/sda']);
    expect(j.ios).toBe(500);
    expect(j.perIo.interrupts).toBeGreaterThan(0);
  });

  it('runs scripted device_add / device_del at their times and reports QMP\'s answers', () => {
    const job = join(tmp, 'scsi-qd1.fio');
    writeFileSync(job, '[qd1]\nrw=randwrite\nbs=4k\niodepth=1\nsize=16m\nnumber_ios=400\ndirect=1\nioengine=libaio\n');
    const mem = (id: string) => ['-blockdev', `driver=raw,node-name=${id},file.driver=memory,file.size=64M`];
    const vm = ['-m', '256M', ...mem('d0'), ...mem('d1'), '-device', 'virtio-scsi-pci,id=scsi0', '-device', 'scsi-hd,bus=scsi0.0,drive=d0'];
    const event = ['500us device_add scsi-hd,bus=scsi0.0,scsi-id=1,drive=d1,id=hot1', '1ms device_del hot1', '1ms device_del hot1'];
    const r = capture(() => runRun(vm, { job, seed: '1', event }));
    expect(r.code).toBe(0);
    expect(r.out.split('\n').slice(0, 3)).toEqual([
      'at 500.0 µs: device_add scsi-hd,bus=scsi0.0,scsi-id=1,drive=d1,id=hot1: ok',
      'at 1.00 ms: device_del hot1: ok',
      "at 1.00 ms: device_del hot1: error: Device 'hot1' not found",
    ]);
    const bad = capture(() => runRun(vm, { job, seed: '1', event: ['later device_del hot1'] }));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("--event 'later device_del hot1'");
  });

  it('werror=stop stops the VM on a failed write; a scripted cont retries it and the job finishes', () => {
    const job = join(tmp, 'blk-qd1.fio');
    writeFileSync(job, '[qd1]\nrw=randwrite\nbs=4k\niodepth=1\nsize=16m\nnumber_ios=200\ndirect=1\nioengine=libaio\n');
    const dbg = 'driver=raw,node-name=d0,file.driver=blkdebug,file.image.driver=memory,file.image.size=64M,file.inject-error.0.event=write_aio,file.inject-error.0.errno=28,file.inject-error.0.once=on';
    const vm = ['-m', '256M', '-blockdev', dbg, '-device', 'virtio-blk-pci,drive=d0,werror=stop'];
    const stuck = capture(() => runRun(vm, { job, seed: '1' }));
    expect(stuck.code).toBe(1);
    expect(stuck.err).toContain('the VM is stopped (io-error)');
    const r = capture(() => runRun(vm, { job, seed: '1', event: ['50ms cont'] }));
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('at 50.00 ms: cont: ok');
    expect(JSON.parse(capture(() => runRun(vm, { job, seed: '1', event: ['50ms cont'], json: true })).out).ios).toBe(200);
  });

  it('refuses a bad command line with QEMU\'s message and exit 1', () => {
    const r = capture(() => runRun(['-device', 'virtio-blk-pci,foo=1'], { seed: '1' }));
    expect(r.code).toBe(1);
    expect(r.err).toContain("Property 'virtio-blk-pci.foo' not found");
    const r2 = capture(() => runRun(['-device', 'virtio-blk-pci,drive=nope'], { seed: '1' }));
    expect(r2.code).toBe(1);
    expect(r2.err).toContain('nope');
  });

  it('refuses a bad job file, naming the line', () => {
    const job = join(tmp, 'bad.fio');
    writeFileSync(job, '[x]\nrw=randwrite\nfrobnicate=3\n');
    const r = capture(() => runRun(VM, { job, seed: '1' }));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/frobnicate/);
    expect(r.err).toMatch(/line 3/);
  });

  it('refuses a bad seed and a bad cost file', () => {
    expect(capture(() => runRun(VM, { seed: 'x' })).code).toBe(1);
    const costs = join(tmp, 'c.json');
    writeFileSync(costs, '{"kvm.exit.nonsense": 3}');
    const r = capture(() => runRun(VM, { seed: '1', costs }));
    expect(r.code).toBe(1);
    expect(r.err).toContain("unknown cost 'kvm.exit.nonsense'");
  });

  it('a cost override changes the modelled latency and nothing else', () => {
    const costs = join(tmp, 'slow.json');
    writeFileSync(costs, '{"backend.memory.latency": 100000}');
    const job = join(tmp, 'qd1.fio');
    writeFileSync(job, '[qd1]\nrw=randread\nbs=4k\niodepth=1\nsize=16m\nnumber_ios=200\ndirect=1\nioengine=libaio\n');
    const fast = JSON.parse(capture(() => runRun(VM, { job, seed: '1', json: true })).out);
    const slow = JSON.parse(capture(() => runRun(VM, { job, seed: '1', costs, json: true })).out);
    expect(slow.latencyNs.p50 - fast.latencyNs.p50).toBeGreaterThanOrEqual(99_000);
    expect(slow.ios).toBe(fast.ios);
  });
});

describe('iopath costs', () => {
  it('lists every cost with its source (golden)', () => {
    const r = capture(() => runCosts({}));
    expect(r.code).toBe(0);
    golden('costs.out', r.out);
  });
});

process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
