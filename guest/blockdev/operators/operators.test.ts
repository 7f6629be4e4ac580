/**
 * The block layer's rxjs operators: a batch goes out under one plug and reports its
 * first failure; completions are delivered on the waiting task's CPU, in order.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { readBio, writeBio } from '../bio.js';
import { MemDisk, testKernel } from '../testing.js';
import { submitBatch } from './submit-batch.js';
import { wakeOn } from './wake-on.js';

describe('submitBatch', () => {
  it('submits each batch under one plug (contiguous bios merge) and emits its status', async () => {
    const tk = testKernel(1);
    const disk = new MemDisk(tk, { sectors: 1024 });
    const dev = disk.device({ scheduler: 'none' });
    const task = tk.tasks[0];
    const buf = tk.kernel.alloc.alloc(65536, 4096);
    const batches = [
      Array.from({ length: 4 }, (_, i) => writeBio(i * 8, [{ addr: buf + i * 4096, len: 4096 }])),
      [readBio(0, [{ addr: buf, len: 4096 }]), readBio(2000, [{ addr: buf, len: 4096 }])],
      [],
    ];
    const out = lastValueFrom(from(batches).pipe(submitBatch(dev, task), toArray()));
    tk.sim.run();
    expect((await out).sort()).toEqual(['ioerr', 'ok', 'ok']);
    expect(disk.log.filter((r) => r.op === 'write').map((r) => [r.sector, r.sectors])).toEqual([[0, 32]]);
    expect(dev.stats.plugFlushes).toBe(2);
  });
});

describe('wakeOn', () => {
  it('delivers completions as work on the task CPU, in order', async () => {
    const tk = testKernel(2);
    const disk = new MemDisk(tk, { latencyNs: [1000, 1000] });
    const dev = disk.device({ scheduler: 'none' });
    const task = tk.tasks[1];
    const buf = tk.kernel.alloc.alloc(8192, 4096);
    const seen: string[] = [];
    dev
      .submitBio(task, writeBio(0, [{ addr: buf, len: 4096 }]))
      .pipe(wakeOn(task))
      .subscribe({ next: (s) => seen.push(`${s} on cpu${tk.kernel.current.index}`), complete: () => seen.push('complete') });
    tk.sim.run();
    expect(seen).toEqual(['ok on cpu1', 'complete']);
  });
});
