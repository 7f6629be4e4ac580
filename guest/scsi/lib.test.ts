/**
 * The midlayer's queue_rq refusals (BLK_STS_RESOURCE) and the restart after them: a request
 * refused for want of room (the host adapter's ring full, the device's budget spent) waits
 * with its queue stopped, and the next completion runs the queue again (scsi_run_queue_async
 * with sdev->restarts).
 */
import { describe, expect, it } from 'vitest';
import type { BlkStatus } from '../blockdev/request.js';
import { bootSd, type SdBooted } from '../virtio-drivers/virtio-scsi/testing.js';

/** Submit every bio at once from task 0, run until all have ended; their statuses and how many requests were refused. */
function writeAll(b: SdBooted, bios: { disk: string; sector: number }[]): { statuses: (BlkStatus | undefined)[]; refused: number } {
  const k = b.tk.kernel;
  const buf = k.alloc.alloc(4096, 4096);
  k.mem.fill(buf, 4096, 0x33);
  let refused = 0;
  for (const h of b.sd.disks.values()) {
    const q = h.queue;
    const queueRq = q.queueRq.bind(q);
    q.queueRq = (hwq, rq, last) => {
      const st = queueRq(hwq, rq, last);
      if (st === 'resource') refused++;
      return st;
    };
  }
  const statuses: (BlkStatus | undefined)[] = bios.map(() => undefined);
  b.tk.tasks[0].run('io', () => {
    bios.forEach((x, i) => {
      const bdev = b.sd.disks.get(x.disk)!.bdev;
      bdev.submitBio(b.tk.tasks[0], { op: 'write', sector: x.sector, sectors: 8, segments: [{ addr: buf, len: 4096 }] }).subscribe((s) => (statuses[i] = s));
    });
  });
  b.tk.sim.run({ stop: () => statuses.every((s) => s !== undefined), until: b.tk.sim.now + 60e9 });
  return { statuses, refused };
}

describe('ScsiQueue refusals and the restart after a completion', () => {
  it('a request refused because the ring is full goes once a command of another disk completes', () => {
    // One request queue of 2 entries shared by two disks: the second disk's requests find it full (host busy).
    const b = bootSd([[0, 0], [0, 1]], { queueSize: 2, latencyNs: 50_000 });
    const r = writeAll(b, [
      { disk: 'sda', sector: 0 },
      { disk: 'sda', sector: 8 },
      { disk: 'sdb', sector: 0 },
      { disk: 'sdb', sector: 8 },
    ]);
    expect(r.refused).toBeGreaterThan(0);
    expect(r.statuses).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(b.target.log.filter((l) => l.op === 'WRITE').length).toBe(4);
    expect(b.drv.host.restarts).toBe(0);
  });

  it('a request refused for the device budget (queue depth) goes once one of its commands completes', () => {
    // Two hardware queues of 2 tags each, but the device takes 2 commands at a time (cmd_per_lun).
    const b = bootSd([[0, 0]], { cpus: 2, numQueues: 2, cmdPerLun: 2, latencyNs: 50_000 });
    const k = b.tk.kernel;
    const buf = k.alloc.alloc(4096, 4096);
    const bdev = b.sd.disks.get('sda')!.bdev;
    let refused = 0;
    const q = b.sd.disks.get('sda')!.queue;
    const queueRq = q.queueRq.bind(q);
    q.queueRq = (hwq, rq, last) => {
      const st = queueRq(hwq, rq, last);
      if (st === 'resource') refused++;
      return st;
    };
    const statuses: (BlkStatus | undefined)[] = [undefined, undefined, undefined, undefined];
    for (let cpu = 0; cpu < 2; cpu++) {
      b.tk.tasks[cpu].run('io', () => {
        for (let j = 0; j < 2; j++) {
          const i = cpu * 2 + j;
          bdev.submitBio(b.tk.tasks[cpu], { op: 'write', sector: 8 * i, sectors: 8, segments: [{ addr: buf, len: 4096 }] }).subscribe((s) => (statuses[i] = s));
        }
      });
    }
    b.tk.sim.run({ stop: () => statuses.every((s) => s !== undefined), until: b.tk.sim.now + 60e9 });
    expect(refused).toBeGreaterThan(0);
    expect(statuses).toEqual(['ok', 'ok', 'ok', 'ok']);
  });
});
