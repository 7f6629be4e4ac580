/**
 * A system call started without a subscription (`start`, what a blocked process uses) is
 * the same call as a subscribed one: the same result, the same trace, the same time.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../sim/trace.js';
import { O_CREAT, O_RDWR, isStartable, type Sys } from './syscalls-api.js';
import { vfsRig } from './testing.js';

type Way = 'subscribe' | 'start';

/** mkfs, mount, open, a write that sleeps (page cache, then fsync), a failing open: by `way`. */
function script(way: Way): { results: unknown[]; events: TraceEvent[]; end: number } {
  const rig = vfsRig();
  const { task, tk } = rig;
  const s = rig.os.syscalls;
  const run = <T>(call: Sys<T>): E.Either<string, T> => {
    let out: E.Either<string, T> | undefined;
    if (way === 'start') {
      if (!isStartable(call)) throw new Error('a system call should offer start');
      call.start((r) => (out = r));
    } else call.subscribe((r) => (out = r));
    tk.sim.run({ stop: () => out !== undefined });
    if (!out) throw new Error('the call never returned');
    return out;
  };
  const results: unknown[] = [];
  results.push(run(s.mkfsDevice(task, '/dev/vda', { blockSize: 4096 })));
  results.push(run(s.mount(task, '/dev/vda', '/mnt')));
  const fd = run(s.open(task, '/mnt/f', O_CREAT | O_RDWR));
  results.push(fd);
  const buf = rig.buf(12288, 7);
  results.push(run(s.pwrite(task, E.isRight(fd) ? fd.right : -1, buf, 4096)));
  results.push(run(s.fsync(task, E.isRight(fd) ? fd.right : -1)));
  results.push(run(s.open(task, '/mnt/nope', O_RDWR)));
  return { results, events: tk.rec.events, end: tk.sim.now };
}

describe('vfs: a call started without a subscription', () => {
  it('returns what the subscribed call returns, with the same trace event for event', () => {
    const a = script('subscribe');
    const b = script('start');
    expect(b.results).toEqual(a.results);
    expect(a.results.slice(3)).toEqual([E.right(12288), E.right(undefined), E.left('ENOENT')]);
    expect(b.events).toEqual(a.events);
    expect(b.end).toBe(a.end);
    expect(b.events.filter((e) => e.kind === 'syscall').length).toBe(12);
  });

  it('runs once per start, like one subscription each', () => {
    const rig = vfsRig();
    const call = rig.os.syscalls.mkdir(rig.task, '/d');
    const got: unknown[] = [];
    if (!isStartable(call)) throw new Error('a system call should offer start');
    call.start((r) => got.push(r));
    rig.tk.sim.run({ stop: () => got.length === 1 });
    call.start((r) => got.push(r));
    rig.tk.sim.run({ stop: () => got.length === 2 });
    expect(got).toEqual([E.right(undefined), E.left('EEXIST')]);
  });

  it('runs a read or write call once per start too, even while the first is still in the kernel', () => {
    const rig = vfsRig();
    const s = rig.os.syscalls;
    const got: unknown[] = [];
    const run = <T>(call: Sys<T>): void => {
      if (!isStartable(call)) throw new Error('a system call should offer start');
      call.start((r) => got.push(r));
    };
    run(s.mkfsDevice(rig.task, '/dev/vda', { blockSize: 4096 }));
    rig.tk.sim.run({ stop: () => got.length === 1 });
    run(s.mount(rig.task, '/dev/vda', '/mnt'));
    rig.tk.sim.run({ stop: () => got.length === 2 });
    run(s.open(rig.task, '/mnt/f', O_CREAT | O_RDWR));
    rig.tk.sim.run({ stop: () => got.length === 3 });
    const fd = got[2] as E.Either<string, number>;
    if (E.isLeft(fd)) throw new Error(fd.left);
    const call = s.pwrite(rig.task, fd.right, rig.buf(8192, 3), 0);
    run(call);
    run(call); // both enter before either returns
    rig.tk.sim.run({ stop: () => got.length === 5 });
    expect(got.slice(3)).toEqual([E.right(8192), E.right(8192)]);
    const events = rig.tk.rec.events.filter((e) => e.kind === 'syscall' && e.name === 'pwrite64');
    expect(events.map((e) => (e.kind === 'syscall' ? [e.phase, e.args ?? e.ret] : []))).toEqual([
      ['enter', `${fd.right}, 8192, 0`],
      ['enter', `${fd.right}, 8192, 0`],
      ['exit', 8192],
      ['exit', 8192],
    ]);
  });
});
