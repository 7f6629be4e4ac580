/**
 * Plugging: a plug holds at most BLK_MAX_REQUEST_COUNT (16) requests and is flushed when
 * the next one comes; twice that once it holds requests of two devices; a request is
 * not held behind one of 128 KiB or more; blk_finish_plug (the outermost) and the task
 * sleeping flush it; merges inside the plug; `last` marks the final request of a flush.
 */
import { describe, expect, it } from 'vitest';
import { readBio, writeBio } from './bio.js';
import { BLK_MAX_REQUEST_COUNT, BLK_PLUG_FLUSH_SIZE, currentPlug } from './plug.js';
import { MemDisk, testKernel } from './testing.js';

function setup(scheduler: 'none' | 'mq-deadline' = 'none') {
  const tk = testKernel(1);
  const disk = new MemDisk(tk, { name: 'vda', sectors: 1 << 16 });
  const dev = disk.device({ scheduler });
  const task = tk.tasks[0];
  const buf = tk.kernel.alloc.alloc(1 << 20, 4096);
  /** A 4 KiB write at `sector` (its own slice of the buffer). */
  const w4k = (sector: number, slot = sector / 8) => writeBio(sector, [{ addr: buf + (slot % 256) * 4096, len: 4096 }]);
  const plugEvents = () => tk.rec.events.filter((e) => e.kind === 'plug-flush').map((e) => (e.kind === 'plug-flush' ? `${e.dev}:${e.requests}:${e.reason}` : ''));
  return { tk, disk, dev, task, buf, w4k, plugEvents };
}

describe('plug flush thresholds', () => {
  it(`holds ${BLK_MAX_REQUEST_COUNT} requests; the next one flushes them as one batch with last on the final one`, () => {
    const { tk, disk, dev, task, w4k, plugEvents } = setup();
    dev.startPlug(task);
    // Every other 4 KiB block: nothing merges.
    for (let i = 0; i < BLK_MAX_REQUEST_COUNT; i++) dev.submitBio(task, w4k(i * 16));
    expect(disk.log).toHaveLength(0);
    expect(currentPlug(task)!.count).toBe(16);
    dev.submitBio(task, w4k(16 * 16));
    expect(disk.log).toHaveLength(16);
    expect(disk.log.map((r) => r.last)).toEqual([...Array(15).fill(false), true]);
    expect(currentPlug(task)!.count).toBe(1);
    dev.finishPlug(task);
    expect(disk.log).toHaveLength(17);
    expect(task.plug).toBeUndefined();
    expect(plugEvents()).toEqual(['vda:16:count', 'vda:1:finish']);
    tk.sim.run();
    expect(dev.stats.plugFlushes).toBe(2);
    expect(dev.stats.requests).toBe(17);
  });

  it('counts requests, not bios: contiguous bios merge in the plug and do not fill it', () => {
    const { disk, dev, task, w4k, plugEvents } = setup();
    dev.startPlug(task);
    for (let i = 0; i < 20; i++) dev.submitBio(task, w4k(i * 8));
    expect(disk.log).toHaveLength(0);
    expect(currentPlug(task)!.count).toBe(1);
    dev.finishPlug(task);
    expect(disk.log).toEqual([expect.objectContaining({ op: 'write', sector: 0, sectors: 160, last: true })]);
    expect(plugEvents()).toEqual(['vda:1:finish']);
    expect(dev.stats.merges.plug).toEqual({ back: 19, front: 0 });
  });

  it(`flushes before adding a request behind one of ${BLK_PLUG_FLUSH_SIZE / 1024} KiB (BLK_PLUG_FLUSH_SIZE), even one grown by merges`, () => {
    const { disk, dev, task, w4k, plugEvents } = setup();
    dev.startPlug(task);
    // 32 × 4 KiB contiguous: one request of exactly 128 KiB.
    for (let i = 0; i < 32; i++) dev.submitBio(task, w4k(i * 8));
    expect(disk.log).toHaveLength(0);
    dev.submitBio(task, w4k(1000 * 8, 40));
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([[0, 256]]);
    // 124 KiB then another: held together.
    for (let i = 0; i < 31; i++) dev.submitBio(task, w4k(2000 * 8 + i * 8, 50 + i));
    dev.submitBio(task, w4k(3000 * 8, 90));
    expect(disk.log).toHaveLength(1);
    dev.finishPlug(task);
    expect(plugEvents()).toEqual(['vda:1:size', 'vda:3:finish']);
  });

  it('doubles the limit once the plug holds requests of two devices (multiple_queues: several disks, not hardware queues)', () => {
    const tk = testKernel(1);
    const a = new MemDisk(tk, { name: 'vda' });
    const b = new MemDisk(tk, { name: 'vdb' });
    const da = a.device({ scheduler: 'none' });
    const db = b.device({ scheduler: 'none' });
    const task = tk.tasks[0];
    const buf = tk.kernel.alloc.alloc(1 << 20, 4096);
    const w = (i: number) => writeBio(i * 16, [{ addr: buf + (i % 64) * 4096, len: 4096 }]);
    da.startPlug(task);
    for (let i = 0; i < 8; i++) da.submitBio(task, w(i));
    db.submitBio(task, w(100));
    expect(currentPlug(task)!.multipleQueues).toBe(true);
    for (let i = 9; i < 32; i++) da.submitBio(task, w(i));
    expect(currentPlug(task)!.count).toBe(32);
    expect(a.log.length + b.log.length).toBe(0);
    db.submitBio(task, w(200));
    // The 33rd request flushed 32: each disk got its own, in order, `last` on each one's final request.
    expect(a.log.map((r) => r.sector)).toEqual([...Array.from({ length: 8 }, (_, i) => i * 16), ...Array.from({ length: 23 }, (_, i) => (i + 9) * 16)]);
    expect(b.log.map((r) => [r.sector, r.last])).toEqual([[1600, true]]);
    expect(a.log.filter((r) => r.last).map((r) => r.sector)).toEqual([31 * 16]);
    da.finishPlug(task);
    expect(b.log.map((r) => r.sector)).toEqual([1600, 3200]);
  });

  it('a multi-queue disk alone keeps the single limit', () => {
    const tk = testKernel(2);
    const disk = new MemDisk(tk, { nrHwQueues: 2 });
    const dev = disk.device();
    expect(dev.scheduler).toBe('none');
    const task = tk.tasks[1];
    const buf = tk.kernel.alloc.alloc(1 << 20, 4096);
    dev.startPlug(task);
    for (let i = 0; i <= 16; i++) dev.submitBio(task, writeBio(i * 16, [{ addr: buf + i * 4096, len: 4096 }]));
    expect(disk.log).toHaveLength(16);
    expect(disk.log.every((r) => r.hwq === 1)).toBe(true);
    dev.finishPlug(task);
  });

  it('is flushed when the task sleeps; the hardware queue then runs from kblockd', () => {
    const { tk, disk, dev, task, w4k, plugEvents } = setup();
    dev.startPlug(task);
    dev.submitBio(task, w4k(0));
    dev.submitBio(task, w4k(64));
    task.sleep();
    expect(plugEvents()).toEqual(['vda:2:schedule']);
    // The plug stays installed, empty; dispatch happens in the kblockd work that follows.
    expect(currentPlug(task)!.count).toBe(0);
    expect(disk.log).toHaveLength(0);
    tk.sim.step();
    expect(disk.log.map((r) => [r.sector, r.last])).toEqual([
      [0, false],
      [64, true],
    ]);
    dev.finishPlug(task);
    expect(plugEvents()).toEqual(['vda:2:schedule']);
  });

  it('nested plugs: only the outermost finish flushes', () => {
    const { disk, dev, task, w4k } = setup();
    dev.startPlug(task);
    dev.startPlug(task);
    dev.submitBio(task, w4k(0));
    dev.finishPlug(task);
    expect(disk.log).toHaveLength(0);
    dev.finishPlug(task);
    expect(disk.log).toHaveLength(1);
    expect(() => dev.finishPlug(task)).toThrow(/without blk_start_plug/);
  });

  it('with mq-deadline a plug flush inserts into the scheduler, which dispatches the batch', () => {
    const { tk, disk, dev, task, w4k } = setup('mq-deadline');
    dev.startPlug(task);
    dev.submitBio(task, w4k(80));
    dev.submitBio(task, w4k(0));
    dev.submitBio(task, w4k(8));
    dev.finishPlug(task);
    // The bio at 8 back-merged into 0's request in the plug. mq-deadline starts a batch
    // from the oldest request (80), then, with nothing above it, from the oldest again.
    expect(disk.log.map((r) => [r.sector, r.sectors, r.last])).toEqual([
      [80, 8, false],
      [0, 16, true],
    ]);
    const kinds = tk.rec.events.filter((e) => e.kind === 'sched').map((e) => (e.kind === 'sched' ? e.action : ''));
    expect(kinds).toEqual(['insert', 'insert', 'dispatch', 'dispatch']);
  });

  it('a read and a write to adjacent sectors do not merge', () => {
    const { disk, dev, task, buf } = setup();
    dev.startPlug(task);
    dev.submitBio(task, writeBio(0, [{ addr: buf, len: 4096 }]));
    dev.submitBio(task, readBio(8, [{ addr: buf + 4096, len: 4096 }]));
    dev.finishPlug(task);
    expect(disk.log.map((r) => r.op)).toEqual(['write', 'read']);
  });
});
