/**
 * mq-deadline against a fake queue whose clock the test sets: batches follow sector
 * order, a new batch starts from the oldest request, an expired request is served
 * before the sorted order goes on, writes get a batch after being passed over
 * writes_starved times, and the default choice (elevator_get_default) and a switch on a
 * live device.
 */
import { describe, expect, it } from 'vitest';
import { NS_PER_MS } from '../../sim/scheduler.js';
import { writeBio } from './bio.js';
import { BioRef } from './bio-ref.js';
import { ELEVATORS, elevatorGetDefault, parseSchedulerName, type Elevator } from './elevator.js';
import { resolveLimits } from './limits.js';
import { DEADLINE_DEFAULTS } from './mq-deadline.js';
import { requestFromBio, type MqRequest } from './mq-request.js';
import { MemDisk, testKernel } from './testing.js';

function rig() {
  let now = 0;
  const released: MqRequest[] = [];
  const dd = ELEVATORS['mq-deadline']({
    limits: resolveLimits({ logicalBlockSize: 512 }),
    now: () => now,
    merged: () => undefined,
    release: (rq) => void released.push(rq),
  });
  let id = 0;
  const owner = { name: 'vdt' };
  const rq = (op: 'read' | 'write', sector: number): MqRequest =>
    requestFromBio(owner, id++, new BioRef(id, op, sector, 8, [], 1, 0, undefined, undefined), 0, 0, now, () => undefined);
  const insert = (op: 'read' | 'write', ...sectors: number[]): void => {
    for (const s of sectors) dd.insert(rq(op, s), false);
  };
  const take = (n = Infinity): string[] => {
    const out: string[] = [];
    while (out.length < n) {
      const r = dd.dispatch();
      if (!r) break;
      out.push(`${r.op[0]}${r.sector}`);
    }
    return out;
  };
  return { dd: dd as Elevator, insert, take, setNow: (ms: number) => (now = ms * NS_PER_MS), released };
}

describe('mq-deadline dispatch', () => {
  it('has the Linux defaults', () => {
    expect(DEADLINE_DEFAULTS).toEqual({ read_expire: 500, write_expire: 5000, writes_starved: 2, fifo_batch: 16, front_merges: 1 });
  });

  it('starts from the oldest request and continues in ascending sector order', () => {
    const { insert, take } = rig();
    insert('read', 300, 100, 500, 200, 400);
    expect(take()).toEqual(['r300', 'r400', 'r500', 'r100', 'r200']);
  });

  it('a batch goes past an older request below it; once the batch is over, an expired request comes first', () => {
    for (const expired of [false, true]) {
      const { insert, take, setNow } = rig();
      insert('read', 1000);
      setNow(1);
      insert('read', 10); // older than the batch below, lower than where it runs
      setNow(2);
      // Not contiguous (so they do not merge): every other 8-sector block.
      insert('read', ...Array.from({ length: 30 }, (_, i) => 1016 + 16 * i));
      const first = take(16);
      expect(first).toEqual(['r1000', ...Array.from({ length: 15 }, (_, i) => `r${1016 + 16 * i}`)]);
      // read_expire is 500 ms: the request inserted at 1 ms expires at 501 ms.
      setNow(expired ? 501 : 500);
      const rest = take();
      if (expired) expect(rest.slice(0, 2)).toEqual(['r10', 'r1256']);
      else expect(rest.at(-1)).toBe('r10');
      expect(rest).toHaveLength(16);
    }
  });

  it('reads are preferred, but writes get a batch after being passed over writes_starved (2) times', () => {
    const { dd, insert, take } = rig();
    dd.tunables.fifo_batch = 1;
    insert('write', 5000, 6000, 7000);
    insert('read', 100, 200, 300, 400, 500);
    expect(take()).toEqual(['r100', 'r200', 'w5000', 'r300', 'r400', 'w6000', 'r500', 'w7000']);
  });

  it('write_expire (5 s): an expired write is the one a write batch starts from', () => {
    const { insert, take, setNow } = rig();
    insert('write', 9000);
    setNow(10);
    insert('write', 100, 200);
    setNow(5000);
    // Writes alone: the oldest (9000) starts; nothing above it, so the oldest again.
    expect(take()).toEqual(['w9000', 'w100', 'w200']);
  });

  it('has_work and drain', () => {
    const { dd, insert } = rig();
    expect(dd.hasWork()).toBe(false);
    insert('read', 8);
    insert('write', 16);
    expect(dd.hasWork()).toBe(true);
    expect(dd.drain().map((r) => r.sector)).toEqual([8, 16]);
    expect(dd.hasWork()).toBe(false);
  });
});

describe('choosing the scheduler', () => {
  it('elevator_get_default: one hardware queue → mq-deadline, several → none', () => {
    expect(elevatorGetDefault(1)).toBe('mq-deadline');
    expect(elevatorGetDefault(4)).toBe('none');
    expect(new MemDisk(testKernel(1)).device().scheduler).toBe('mq-deadline');
    expect(new MemDisk(testKernel(2), { nrHwQueues: 2 }).device().scheduler).toBe('none');
    expect(parseSchedulerName(' mq-deadline\n')).toBe('mq-deadline');
    expect(parseSchedulerName('bfq')).toBeUndefined();
  });

  it('switching hands what the old scheduler held to the hardware queue; nothing is lost', () => {
    const tk = testKernel(1);
    const disk = new MemDisk(tk, { queueDepth: 1 });
    const dev = disk.device({ scheduler: 'mq-deadline' });
    const buf = tk.kernel.alloc.alloc(65536, 4096);
    const st: string[] = [];
    for (const s of [0, 100]) dev.submitBio(tk.tasks[0], writeBio(s, [{ addr: buf, len: 4096 }])).subscribe((x) => st.push(x));
    expect(disk.log).toHaveLength(1);
    dev.setScheduler('none');
    expect(dev.scheduler).toBe('none');
    dev.submitBio(tk.tasks[0], writeBio(200, [{ addr: buf, len: 4096 }])).subscribe((x) => st.push(x));
    tk.sim.run();
    expect(st).toEqual(['ok', 'ok', 'ok']);
    expect(disk.log.map((r) => r.sector)).toEqual([0, 100, 200]);
  });
});
