import { describe, expect, it } from 'vitest';
import { Metrics } from '../sim/metrics.js';
import { TRACE_KINDS, Trace } from '../sim/trace.js';
import { SyscallLatencies } from './syscall-latency.js';

describe('SyscallLatencies', () => {
  it('listens for phase and syscall events only, so kinds nobody else reads stay unbuilt', () => {
    const t = new Trace();
    const lat = new SyscallLatencies();
    t.attach(lat.sink);
    expect(TRACE_KINDS.filter((k) => t.wants[k])).toEqual(['phase', 'syscall']);
    t.attach(new Metrics().sink);
    expect(t.wants['device-request']).toBe(false);
  });

  it('times each call from enter to exit inside the window, whether or not events are built', () => {
    for (const withRecorder of [false, true]) {
      const t = new Trace();
      const lat = new SyscallLatencies();
      t.attach(lat.sink);
      if (withRecorder) t.attach(() => {});
      t.emitSyscall(1, 5, 'fsync', 'enter', { args: () => '3' }, undefined); // before the window: not counted
      t.emitSyscall(4, 5, 'fsync', 'exit', undefined, 0);
      t.emit({ kind: 'phase', t: 5, name: 'run' });
      t.emitSyscall(10, 5, 'pwrite64', 'enter', { args: () => '3, 4096, 0' }, undefined);
      t.emitSyscall(10, 6, 'pwrite64', 'enter', { args: () => '4, 4096, 0' }, undefined);
      t.emitSyscall(25, 5, 'pwrite64', 'exit', undefined, 4096);
      t.emitSyscall(40, 6, 'pwrite64', 'exit', undefined, 'EIO');
      t.emit({ kind: 'phase', t: 50, name: 'done' });
      t.emitSyscall(60, 5, 'close', 'enter', { args: () => '3' }, undefined);
      t.emitSyscall(61, 5, 'close', 'exit', undefined, 0);
      expect([...lat.byName]).toEqual([['pwrite64', [15, 30]]]);
    }
  });
});
