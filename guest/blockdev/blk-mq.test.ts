/**
 * BlkMq against a fake driver that records every queueRq / commitRqs and answers what
 * the test tells it: tags bound the requests in flight, `last` marks the end of a
 * batch, BLK_STS_DEV_RESOURCE stops the queue (commit_rqs when the driver was told
 * "more coming"), and the trace events of one request share its id.
 */
import { describe, expect, it } from 'vitest';
import { CostModel } from '../../sim/costs.js';
import { Simulator } from '../../sim/simulator.js';
import { Recorder, Trace } from '../../sim/trace.js';
import { BlkMq } from './blk-mq.js';
import type { BlkIo, BlkMqOps, BlkRequest, BlkStatus } from './request.js';

function setup(o: { queueDepth?: number; nrHwQueues?: number } = {}) {
  const sim = new Simulator();
  const trace = new Trace();
  const rec = new Recorder();
  trace.attach(rec.sink);
  const blk = new BlkMq(sim, trace, new CostModel(), {
    name: 'vdt',
    nrHwQueues: o.nrHwQueues ?? 1,
    queueDepth: o.queueDepth ?? 4,
    cpuToHwq: (cpu) => cpu,
  });
  const calls: string[] = [];
  const queued: BlkRequest[] = [];
  /** What queueRq answers next (default 'ok'). */
  const answers: BlkStatus[] = [];
  const ops: BlkMqOps = {
    queueRq: (hwq, rq, last) => {
      const st = answers.shift() ?? 'ok';
      calls.push(`q${hwq}:${rq.id}${last ? ':last' : ''}${st === 'ok' ? '' : ':' + st}`);
      if (st === 'ok') queued.push(rq);
      return st;
    },
    commitRqs: (hwq) => void calls.push(`commit${hwq}`),
  };
  blk.setOps(ops);
  const done: { id: number; status: BlkStatus }[] = [];
  const onDone = (status: BlkStatus, rq: BlkRequest): void => void done.push({ id: rq.id, status });
  const io = (sector: number): BlkIo => ({ op: 'read', sector, sectors: 8, sg: [{ addr: 0x10000, len: 4096 }] });
  const ios = (n: number, from = 0): BlkIo[] => Array.from({ length: n }, (_, i) => io(from + 8 * i));
  /** The driver completes its oldest outstanding request. */
  const completeOldest = (status: BlkStatus = 'ok'): BlkRequest => {
    const rq = queued.shift()!;
    blk.complete(rq, status);
    return rq;
  };
  return { sim, rec, blk, calls, queued, answers, done, onDone, ios, completeOldest };
}

describe('BlkMq tags', () => {
  it('never has more than queueDepth requests at the driver; distinct tags in [0, queueDepth)', () => {
    const { blk, calls, queued, onDone, ios } = setup({ queueDepth: 2 });
    blk.submit(0, ios(5), onDone);
    expect(calls).toEqual(['q0:0', 'q0:1:last']);
    expect(queued.map((r) => r.tag).sort()).toEqual([0, 1]);
  });

  it('a waiting request gets the freed tag and is dispatched when the driver restarts the queues', () => {
    const { blk, calls, queued, onDone, ios, completeOldest, done } = setup({ queueDepth: 2 });
    blk.submit(0, ios(4), onDone);
    const first = completeOldest();
    expect(done).toEqual([{ id: 0, status: 'ok' }]);
    blk.startStoppedQueues(); // what virtio-blk's completion handler does after draining
    expect(calls).toEqual(['q0:0', 'q0:1:last', 'q0:2:last']);
    expect(queued.map((r) => r.id)).toEqual([1, 2]);
    expect(queued[1].tag).toBe(first.tag);
    completeOldest();
    completeOldest();
    blk.startStoppedQueues();
    expect(calls.slice(3)).toEqual(['q0:3:last']);
    expect(done.map((d) => d.id)).toEqual([0, 1, 2]);
  });

  it('a waiting request is dispatched after a completion frees its tag, without the driver having to restart anything', () => {
    // Linux: the submitter sleeping in blk_mq_get_tag is woken by the freed tag and
    // issues its request itself; drivers only restart queues *they* stopped.
    const { blk, calls, onDone, ios, completeOldest } = setup({ queueDepth: 1 });
    blk.submit(0, ios(2), onDone);
    expect(calls).toEqual(['q0:0:last']);
    completeOldest();
    expect(calls).toEqual(['q0:0:last', 'q0:1:last']);
  });

  it('maps a CPU to its hardware queue; each queue has its own tags', () => {
    const { blk, calls, onDone, ios } = setup({ queueDepth: 1, nrHwQueues: 2 });
    blk.submit(0, ios(1), onDone);
    blk.submit(1, ios(1), onDone);
    expect(calls).toEqual(['q0:0:last', 'q1:1:last']);
  });
});

describe('BlkMq batches: last', () => {
  it('is true only on the final request of a batch', () => {
    const { blk, calls, onDone, ios } = setup({ queueDepth: 8 });
    blk.submit(0, ios(3), onDone);
    blk.submit(0, ios(1), onDone);
    expect(calls).toEqual(['q0:0', 'q0:1', 'q0:2:last', 'q0:3:last']);
  });

  it('is true on the last request that got a tag when the batch is cut by the queue depth', () => {
    const { blk, calls, onDone, ios } = setup({ queueDepth: 3 });
    blk.submit(0, ios(6), onDone);
    expect(calls).toEqual(['q0:0', 'q0:1', 'q0:2:last']);
  });
});

describe('BlkMq and BLK_STS_DEV_RESOURCE', () => {
  it('stops the queue, commits what was queued without last, and resumes with startStoppedQueues', () => {
    const { blk, calls, answers, onDone, ios, completeOldest } = setup({ queueDepth: 8 });
    answers.push('ok', 'ok', 'resource');
    blk.submit(0, ios(4), onDone);
    expect(calls).toEqual(['q0:0', 'q0:1', 'q0:2:resource', 'commit0']);
    // Stopped: new work waits.
    blk.submit(0, ios(1), onDone);
    expect(calls).toHaveLength(4);
    completeOldest();
    blk.startStoppedQueues();
    // The refused request comes first again; `last` on the final one of what is pending.
    expect(calls.slice(4)).toEqual(['q0:2', 'q0:3', 'q0:4:last']);
  });

  it('does not commit when nothing was queued before the refusal', () => {
    const { blk, calls, answers, onDone, ios } = setup();
    answers.push('resource');
    blk.submit(0, ios(2), onDone);
    expect(calls).toEqual(['q0:0:resource']);
  });

  it('does not commit when the refused request follows one that was marked last', () => {
    const { blk, calls, answers, onDone, ios } = setup();
    blk.submit(0, ios(1), onDone);
    answers.push('resource');
    blk.submit(0, ios(1), onDone);
    expect(calls).toEqual(['q0:0:last', 'q0:1:last:resource']);
  });

  it('completes a request the driver fails with that status and frees its tag', () => {
    const { blk, calls, answers, done, onDone, ios } = setup({ queueDepth: 1 });
    answers.push('ioerr');
    blk.submit(0, ios(2), onDone);
    expect(done).toEqual([{ id: 0, status: 'ioerr' }]);
    expect(calls).toEqual(['q0:0:last:ioerr', 'q0:1:last']);
  });

  it('commits the earlier requests when the final one of a batch fails', () => {
    // Linux blk_mq_dispatch_rq_list: `if (!list_empty(list) || ret != BLK_STS_OK)
    // blk_mq_commit_rqs(hctx, queued, false)` — the driver was told more was coming.
    const { blk, calls, answers, onDone, ios } = setup();
    answers.push('ok', 'ioerr');
    blk.submit(0, ios(2), onDone);
    expect(calls).toEqual(['q0:0', 'q0:1:last:ioerr', 'commit0']);
  });
});

describe('BlkMq trace events', () => {
  it('io-submit, io-dispatch and io-complete of one request carry the same id, in that order', () => {
    const { sim, rec, blk, onDone, ios, completeOldest } = setup({ queueDepth: 2 });
    blk.submit(0, ios(3), onDone);
    sim.advance(5000);
    completeOldest();
    completeOldest();
    blk.startStoppedQueues();
    completeOldest();
    const io = rec.events.filter((e) => e.kind === 'io-submit' || e.kind === 'io-dispatch' || e.kind === 'io-complete');
    for (const id of [0, 1, 2]) {
      const mine = io.filter((e) => 'tag' in e && e.tag === id);
      expect(mine.map((e) => e.kind)).toEqual(['io-submit', 'io-dispatch', 'io-complete']);
      expect(mine.every((e) => e.dev === 'vdt')).toBe(true);
    }
    const c0 = io.find((e) => e.kind === 'io-complete' && e.tag === 0);
    expect(c0).toMatchObject({ op: 'read', status: 'ok' });
    expect(c0 && c0.kind === 'io-complete' && c0.latencyNs).toBeGreaterThanOrEqual(5000);
    const s0 = io.find((e) => e.kind === 'io-submit' && e.tag === 0);
    expect(s0).toMatchObject({ op: 'read', sector: 0, sectors: 8 });
  });
});
