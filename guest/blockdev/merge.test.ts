/**
 * Merging and splitting stay within the queue limits: max_sectors (and the 1280 KiB
 * default cap), max_segments, max_segment_size, the logical block size, discard size and
 * granularity; nothing merges across different operations, flush / FUA or write-zeroes;
 * front merges; the scheduler's merges, including the one that closes a gap between two
 * queued requests.
 */
import { describe, expect, it } from 'vitest';
import { discardBio, flushBio, readBio, writeBio, writeZeroesBio } from './bio.js';
import { BLK_DEF_MAX_SECTORS_CAP, resolveLimits, UINT_MAX } from './limits.js';
import { MemDisk, testKernel, type MemDiskOptions } from './testing.js';

function setup(opts: MemDiskOptions = {}, scheduler: 'none' | 'mq-deadline' = 'none') {
  const tk = testKernel(1);
  const disk = new MemDisk(tk, { name: 'vda', sectors: 1 << 16, ...opts });
  const dev = disk.device({ scheduler });
  const task = tk.tasks[0];
  const buf = tk.kernel.alloc.alloc(4 << 20, 4096);
  const statuses: string[] = [];
  const submit = (bio: Parameters<typeof dev.submitBio>[1]) => dev.submitBio(task, bio).subscribe((s) => statuses.push(s));
  return { tk, disk, dev, task, buf, statuses, submit };
}

describe('queue limits', () => {
  it('max_sectors defaults to min(max_hw_sectors, 1280 KiB), aligned to the logical block', () => {
    expect(resolveLimits({ logicalBlockSize: 512, maxHwSectors: UINT_MAX }).maxSectors).toBe(BLK_DEF_MAX_SECTORS_CAP);
    expect(BLK_DEF_MAX_SECTORS_CAP * 512).toBe(1280 * 1024);
    expect(resolveLimits({ logicalBlockSize: 512, maxHwSectors: 256 }).maxSectors).toBe(256);
    expect(resolveLimits({ logicalBlockSize: 4096, maxHwSectors: 1001 }).maxSectors).toBe(1000);
  });

  it('plug merges stop at max_sectors; the full request never takes another bio', () => {
    const { disk, dev, task, buf, submit } = setup({ limits: { logicalBlockSize: 512, maxSectors: 64 } });
    dev.startPlug(task);
    for (let i = 0; i < 20; i++) submit(writeBio(i * 8, [{ addr: buf + i * 4096, len: 4096 }]));
    dev.finishPlug(task);
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([
      [0, 64],
      [64, 64],
      [128, 32],
    ]);
  });

  it('merges stop at max_segments (buffers that are not physically contiguous)', () => {
    const { disk, dev, task, buf, submit } = setup({ limits: { logicalBlockSize: 512, maxSegments: 4 } });
    dev.startPlug(task);
    for (let i = 0; i < 10; i++) submit(writeBio(i * 8, [{ addr: buf + 2 * i * 4096, len: 4096 }]));
    dev.finishPlug(task);
    expect(disk.log.map((r) => r.sectors)).toEqual([32, 32, 16]);
  });

  it('a bio over the limits is split (bio_split) into parts that each fit; the submitter hears once', () => {
    const { tk, disk, dev, task, buf, statuses, submit } = setup({ limits: { logicalBlockSize: 512, maxSegments: 8, maxSegmentSize: 4096 } });
    submit(writeBio(0, [{ addr: buf, len: 64 * 1024 }]));
    tk.sim.run();
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([
      [0, 64],
      [64, 64],
    ]);
    expect(statuses).toEqual(['ok']);
    expect(dev.stats.splits).toBe(1);
    void task;
  });

  it('the driver never sees a segment over max_segment_size', () => {
    const tk = testKernel(1);
    const seen: number[] = [];
    const disk = new MemDisk(tk, { limits: { logicalBlockSize: 512, maxSegmentSize: 4096, maxSegments: 64 } });
    const q = disk.queueRq.bind(disk);
    disk.queueRq = (h, rq, last) => {
      seen.push(...rq.sg.map((e) => e.len));
      return q(h, rq, last);
    };
    const dev = disk.device({ scheduler: 'none' });
    const buf = tk.kernel.alloc.alloc(1 << 20, 4096);
    dev.submitBio(tk.tasks[0], writeBio(0, [{ addr: buf, len: 16 * 1024 }, { addr: buf + 16 * 1024, len: 6 * 1024 }]));
    tk.sim.run();
    expect(seen).toEqual([4096, 4096, 4096, 4096, 4096, 2048]);
  });

  it('the logical block size: misaligned bios fail, splits fall on block boundaries', () => {
    const { tk, disk, statuses, submit, buf } = setup({ limits: { logicalBlockSize: 4096, maxSectors: 20 } });
    submit(writeBio(1, [{ addr: buf, len: 4096 }]));
    submit(writeBio(8, [{ addr: buf, len: 512 }]));
    submit(writeBio(0, [{ addr: buf, len: 32 * 1024 }]));
    tk.sim.run();
    expect(statuses).toEqual(['ioerr', 'ioerr', 'ok']);
    // max_sectors 20 → 16 (aligned down to 8-sector blocks).
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([
      [0, 16],
      [16, 16],
      [32, 16],
      [48, 16],
    ]);
  });

  it('past the end of the device: BLK_STS_IOERR; discard / write-zeroes the device lacks: BLK_STS_NOTSUPP', () => {
    const { tk, statuses, submit, buf } = setup({ sectors: 64, limits: { logicalBlockSize: 512, maxDiscardSectors: 0, maxWriteZeroesSectors: 0 } });
    submit(readBio(60, [{ addr: buf, len: 4096 }]));
    submit(discardBio(0, 8));
    submit(writeZeroesBio(0, 8));
    tk.sim.run();
    expect(statuses).toEqual(['ioerr', 'notsupp', 'notsupp']);
  });

  it('discards split to max_discard_sectors on the granularity, and merge when contiguous', () => {
    const { tk, disk, dev, task, submit } = setup({ limits: { logicalBlockSize: 512, maxDiscardSectors: 100, discardGranularity: 8 * 512 } });
    submit(discardBio(4, 300));
    tk.sim.run();
    // max 100 → 96 on the 8-sector granularity; the first part ends on an aligned sector (4 + 92 = 96).
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([
      [4, 92],
      [96, 96],
      [192, 96],
      [288, 16],
    ]);
    disk.log.length = 0;
    dev.startPlug(task);
    for (let i = 0; i < 5; i++) submit(discardBio(1000 + i * 40, 40));
    dev.finishPlug(task);
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([
      [1000, 80],
      [1080, 80],
      [1160, 40],
    ]);
  });
});

describe('what never merges', () => {
  it('different operations, write-zeroes, PREFLUSH / FUA bios and flushes', () => {
    const { disk, dev, task, buf, submit } = setup();
    dev.startPlug(task);
    submit(writeBio(0, [{ addr: buf, len: 4096 }]));
    submit(readBio(8, [{ addr: buf + 4096, len: 4096 }]));
    submit(writeZeroesBio(16, 8));
    submit(writeZeroesBio(24, 8));
    submit(writeBio(32, [{ addr: buf + 8192, len: 4096 }]));
    submit(writeBio(40, [{ addr: buf + 12288, len: 4096 }], { fua: true }));
    submit(flushBio());
    submit(writeBio(48, [{ addr: buf + 16384, len: 4096 }]));
    dev.finishPlug(task);
    // Every neighbour pair is adjacent on disk, and none may merge.
    expect(dev.stats.merges).toEqual({ plug: { back: 0, front: 0 }, sched: { back: 0, front: 0 } });
    expect(dev.stats.requests).toBe(8);
    // The FUA write bypasses the plug (blk-flush): its data goes out first.
    expect(disk.log.filter((r) => r.op !== 'flush').map((r) => [r.op, r.sector])).toEqual([
      ['write', 40],
      ['write', 0],
      ['read', 8],
      ['write-zeroes', 16],
      ['write-zeroes', 24],
      ['write', 32],
      ['write', 48],
    ]);
  });

  it('front merges in the plug', () => {
    const { disk, dev, task, buf, submit } = setup();
    dev.startPlug(task);
    submit(writeBio(16, [{ addr: buf + 8192, len: 4096 }]));
    submit(writeBio(8, [{ addr: buf + 4096, len: 4096 }]));
    submit(writeBio(0, [{ addr: buf, len: 4096 }]));
    dev.finishPlug(task);
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([[0, 24]]);
    expect(dev.stats.merges.plug).toEqual({ back: 0, front: 2 });
  });
});

describe('scheduler merges (mq-deadline)', () => {
  it('bios merge into requests waiting in the scheduler; a bio that closes a gap joins the two requests', () => {
    // Four tags, taken by four requests; what follows waits in mq-deadline (nr_requests 8).
    const { tk, disk, dev, buf, statuses, submit } = setup({ queueDepth: 4 }, 'mq-deadline');
    const w = (sector: number) => submit(writeBio(sector, [{ addr: buf + sector * 512, len: 4096 }]));
    for (const s of [1000, 2000, 3000, 4000]) w(s);
    w(0);
    w(16);
    w(24); // back merge into 16 (found by the end-sector hash)
    // The one-hit cache (last_merge) is now 16's request: 8 front-merges into it, which
    // then reaches 0's request: the two requests become one (attempt_front_merge).
    w(8);
    expect(dev.stats.merges.sched).toEqual({ back: 2, front: 1 });
    tk.sim.run();
    expect(disk.log.map((r) => [r.sector, r.sectors]).slice(4)).toEqual([[0, 32]]);
    expect(statuses).toEqual(Array(8).fill('ok'));
    expect(dev.stats.requests).toBe(6);
    const merges = tk.rec.events.filter((e) => e.kind === 'merge').map((e) => (e.kind === 'merge' ? `${e.what}:${e.dir}` : ''));
    expect(merges).toEqual(['bio:back', 'bio:front', 'rq:back']);
  });

  it('front merges in the scheduler', () => {
    const { tk, disk, buf, submit, dev } = setup({ queueDepth: 1 }, 'mq-deadline');
    submit(writeBio(1000, [{ addr: buf, len: 4096 }]));
    submit(writeBio(16, [{ addr: buf, len: 4096 }]));
    submit(writeBio(8, [{ addr: buf, len: 4096 }]));
    tk.sim.run();
    expect(disk.log.map((r) => [r.sector, r.sectors])).toEqual([
      [1000, 8],
      [8, 16],
    ]);
    expect(dev.stats.merges.sched.front).toBe(1);
  });

  it('nr_requests (2 × queue depth) bounds the requests; a bio that finds none waits and its plug is flushed', () => {
    const { tk, disk, dev, task, buf, statuses, submit } = setup({ queueDepth: 1 }, 'mq-deadline');
    expect(dev.queue.nrRequests).toBe(2);
    submit(writeBio(1000, [{ addr: buf, len: 4096 }])); // in flight
    dev.startPlug(task);
    submit(writeBio(0, [{ addr: buf, len: 4096 }])); // plugged: the pool is now empty
    submit(writeBio(100, [{ addr: buf, len: 4096 }])); // waits; the plug goes to the scheduler
    submit(writeBio(200, [{ addr: buf, len: 4096 }])); // waits behind it
    dev.finishPlug(task);
    const flushes = tk.rec.events.filter((e) => e.kind === 'plug-flush').map((e) => (e.kind === 'plug-flush' ? e.reason : ''));
    expect(flushes).toEqual(['wait']);
    tk.sim.run();
    expect(statuses).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(disk.log.map((r) => r.sector)).toEqual([1000, 0, 100, 200]);
  });
});
