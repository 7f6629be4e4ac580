/**
 * System calls in the trace and the metrics: an enter and an exit event per call, with
 * the result (a count, or the errno's name); CPU time charged to the task's CPU; the
 * journal's commit and the device flush behind an fsync.
 */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../sim/metrics.js';
import type { TraceEvent } from '../../sim/trace.js';
import { O_CREAT, O_RDWR } from './syscalls-api.js';
import { vfsRig } from './testing.js';

describe('vfs: tracing', () => {
  it('each call is an enter and an exit event; Metrics counts them by name in the window', () => {
    const rig = vfsRig();
    const { task } = rig;
    const s = rig.os.syscalls;
    rig.ok(s.mkfsDevice(task, '/dev/vda', { blockSize: 4096 }));
    rig.ok(s.mount(task, '/dev/vda', '/mnt'));
    const metrics = new Metrics();
    rig.tk.trace.attach(metrics.sink);
    const t0 = rig.tk.rec.events.length;
    rig.tk.trace.emit({ kind: 'phase', t: rig.tk.sim.now, name: 'run' });
    const fd = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    rig.ok(s.write(task, fd, rig.buf(8192, 1)));
    rig.run(s.open(task, '/mnt/nope', O_RDWR));
    rig.ok(s.fsync(task, fd));
    rig.tk.trace.emit({ kind: 'phase', t: rig.tk.sim.now, name: 'done' });
    const ev = rig.tk.rec.events.slice(t0);
    const sys = ev.filter((e): e is Extract<TraceEvent, { kind: 'syscall' }> => e.kind === 'syscall');
    expect(sys.map((e) => [e.name, e.phase, e.ret])).toEqual([
      ['open', 'enter', undefined],
      ['open', 'exit', 3],
      ['write', 'enter', undefined],
      ['write', 'exit', 8192],
      ['open', 'enter', undefined],
      ['open', 'exit', 'ENOENT'],
      ['fsync', 'enter', undefined],
      ['fsync', 'exit', 0],
    ]);
    expect(sys[0].args).toBe('"/mnt/f", 0102, 0644');
    expect(sys.every((e) => e.pid === task.pid)).toBe(true);
    // fsync wrote the data, committed the new inode and its blocks, and flushed the cache.
    const fsyncAt = sys.findIndex((e) => e.name === 'fsync');
    const during = ev.slice(ev.indexOf(sys[fsyncAt]), ev.indexOf(sys[fsyncAt + 1]));
    expect(during.some((e) => e.kind === 'pagecache' && e.what === 'writeback' && e.reason === 'sync')).toBe(true);
    expect(during.some((e) => e.kind === 'bio' && e.flags.includes('FUA'))).toBe(true);
    expect(during.some((e) => e.kind === 'bio' && e.flags.includes('META') && e.op === 'write')).toBe(true);
    const m = metrics.snapshot().syscalls;
    expect(m.calls).toBe(4);
    expect(m.errors).toBe(1);
    expect(m.byName.open).toMatchObject({ calls: 2, errors: 1 });
    expect(m.byName.fsync.timeNs).toBeGreaterThan(0);
  });

  it('fsync with nothing to commit only flushes the device cache', () => {
    const rig = vfsRig();
    const { task } = rig;
    const s = rig.os.syscalls;
    rig.ok(s.mkfsDevice(task, '/dev/vda', { blockSize: 4096 }));
    rig.ok(s.mount(task, '/dev/vda', '/mnt'));
    const fd = rig.ok(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
    rig.ok(s.write(task, fd, rig.buf(4096, 1)));
    rig.ok(s.fsync(task, fd));
    rig.ok(s.pwrite(task, fd, rig.buf(4096, 2), 0)); // overwrite: no new block, no new size
    const flushes = rig.dev.stats.flushes;
    const t0 = rig.tk.rec.events.length;
    rig.ok(s.fsync(task, fd));
    const bios = rig.tk.rec.events.slice(t0).filter((e) => e.kind === 'bio');
    expect(bios.map((e) => (e.kind === 'bio' ? `${e.op}${e.flags ? ' ' + e.flags : ''}` : ''))).toEqual(['write SYNC', 'flush PREFLUSH|SYNC']);
    expect(rig.dev.stats.flushes).toBe(flushes + 1);
  });
});
