import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { Recorder, type TraceEvent } from '../../sim/trace.js';
import type { BlockIoError } from './block-backend-api.js';
import type { BlockBackend } from './block-backend.js';
import type { BlockEnv } from './driver.js';
import { blockErrorMessage } from './errors.js';
import { openBlockGraph, type BlockGraphSpec, type OpenedDrive } from './open.js';
import { drain, memoryDrive, newBlockEnv } from './testing.js';

function open(env: BlockEnv, spec: BlockGraphSpec): OpenedDrive {
  const r = openBlockGraph(env, spec);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

function record(env: BlockEnv): TraceEvent[] {
  const rec = new Recorder();
  env.trace.attach(rec.sink);
  return rec.events;
}

/** Completion times and outcomes of requests, by label. */
function collector(env: BlockEnv) {
  const done: Record<string, { t: number; err: BlockIoError | null; value?: Uint8Array }> = {};
  const cb =
    (label: string) =>
    (err: BlockIoError | null, value?: Uint8Array | void): void => {
      done[label] = { t: env.sim.now, err, value: value ?? undefined };
    };
  return { done, cb };
}

const LAYER = 300; // qemu.block.layer
const MEM = 200; // backend.memory.latency

describe('BlockBackend', () => {
  it('completes later on the clock, after the block layer plus the backend service time', () => {
    const env = newBlockEnv();
    const { blk } = memoryDrive(env, { size: 1 << 20 });
    const { done, cb } = collector(env);
    blk.write(0, new Uint8Array([1, 2, 3]), {}, cb('w'));
    blk.read(1, 2, cb('r'));
    expect(done).toEqual({});
    expect(blk.inFlight).toBe(2);
    drain(env, blk);
    expect(done.w).toMatchObject({ t: LAYER + MEM, err: null });
    expect(done.r).toMatchObject({ t: LAYER + MEM, err: null });
    expect([...done.r.value!]).toEqual([2, 3]);
  });

  it('is never inline, even with a zero-latency backend', () => {
    const env = newBlockEnv();
    const { blk } = open(env, { drive: { driver: 'null-co', size: 4096 } });
    const { done, cb } = collector(env);
    blk.flush(cb('f'));
    expect(done.f).toBeUndefined();
    drain(env, blk);
    expect(done.f.t).toBe(LAYER);
  });

  it('completes bad requests with errors, asynchronously: EINVAL, EIO past the end, EROFS', () => {
    const env = newBlockEnv();
    const { blk } = memoryDrive(env, { size: 4096 });
    const ro = memoryDrive(env, { size: 4096, readOnly: true }).blk;
    const { done, cb } = collector(env);
    blk.read(-1, 10, cb('neg'));
    blk.read(0.5, 10, cb('frac'));
    blk.write(4000, new Uint8Array(100), {}, cb('past'));
    blk.discard(4096, 1, cb('discard-past'));
    ro.write(0, new Uint8Array(1), {}, cb('ro'));
    ro.writeZeroes(0, 1, { mayUnmap: false }, cb('ro-zero'));
    expect(done).toEqual({});
    env.sim.run();
    expect(done.neg.err?.errno).toBe('EINVAL');
    expect(done.frac.err?.errno).toBe('EINVAL');
    expect(done.past.err?.errno).toBe('EIO');
    expect(done.past.err?.message).toMatch(/beyond the end of the device \(4096 bytes\)/);
    expect(done['discard-past'].err?.errno).toBe('EIO');
    expect(done.ro.err?.errno).toBe('EROFS');
    expect(done['ro-zero'].err?.errno).toBe('EROFS');
    expect(ro.readOnly).toBe(true);
  });

  it('traces every I/O a protocol node does, at its start within the request', () => {
    const env = newBlockEnv();
    const events = record(env);
    const { blk } = memoryDrive(env, { size: 1 << 20, cache: 'writethrough' });
    const proto = blk.root.child('file')!.nodeName;
    const { done, cb } = collector(env);
    blk.write(4096, new Uint8Array(512), {}, cb('w'));
    drain(env, blk);
    const block = events.filter((e) => e.kind === 'block');
    expect(block).toEqual([
      { kind: 'block', t: LAYER, node: proto, op: 'write', offset: 4096, bytes: 512, latencyNs: MEM, ok: true },
      { kind: 'block', t: LAYER + MEM, node: proto, op: 'flush', offset: 0, bytes: 0, latencyNs: MEM, ok: true },
    ]);
    expect(done.w.t).toBe(LAYER + 2 * MEM);
  });

  it('skips the flush of a node nothing was written to since its last flush', () => {
    const env = newBlockEnv();
    const events = record(env);
    const { blk } = memoryDrive(env, { size: 1 << 20 });
    const { done, cb } = collector(env);
    blk.write(0, new Uint8Array(1), {}, cb('w'));
    blk.flush(cb('f1'));
    blk.flush(cb('f2'));
    drain(env, blk);
    expect(events.filter((e) => e.kind === 'block' && e.op === 'flush')).toHaveLength(1);
    expect(done.f2.t).toBe(LAYER);
  });

  it('serves requests in parallel by default, or queue-depth at a time', () => {
    for (const [queueDepth, second] of [
      [undefined, LAYER + MEM],
      [1, 2 * (LAYER + MEM)],
      [2, LAYER + MEM],
    ] as const) {
      const env = newBlockEnv();
      const { blk } = open(env, { blockdev: { driver: 'memory', size: 4096 }, backend: { queueDepth } });
      const { done, cb } = collector(env);
      blk.read(0, 1, cb('a'));
      blk.read(0, 1, cb('b'));
      drain(env, blk);
      expect(done.a.t).toBe(LAYER + MEM);
      expect(done.b.t).toBe(second);
    }
  });

  it('a power cut forgets requests in flight and the unflushed data; the drive works on afterwards', () => {
    const env = newBlockEnv();
    const { blk } = memoryDrive(env, { size: 1 << 20 });
    const { done, cb } = collector(env);
    blk.write(0, new Uint8Array([7]), {}, cb('w1'));
    blk.flush(cb('f'));
    drain(env, blk);
    blk.write(0, new Uint8Array([8]), {}, cb('w2'));
    blk.powerCut();
    expect(blk.inFlight).toBe(0);
    env.sim.run();
    expect(done.w2).toBeUndefined();
    blk.read(0, 1, cb('r'));
    drain(env, blk);
    expect([...done.r.value!]).toEqual([7]);
  });

  it('with the write cache off (guest toggled WCE), writes are durable when they complete', () => {
    const env = newBlockEnv();
    const { blk } = memoryDrive(env, { size: 1 << 20 });
    const { done, cb } = collector(env);
    blk.setWriteCacheEnabled(false);
    expect(blk.writeCacheEnabled).toBe(false);
    blk.write(0, new Uint8Array([5]), {}, cb('w'));
    blk.writeZeroes(4096, 10, { mayUnmap: false }, cb('z'));
    drain(env, blk);
    blk.powerCut();
    blk.read(0, 1, cb('r'));
    drain(env, blk);
    expect([...done.r.value!]).toEqual([5]);
    // The next QEMU process opens the drive with its configured cache mode.
    expect(blk.writeCacheEnabled).toBe(true);
  });

  it('ignores discards unless the drive has discard=unmap', () => {
    const env = newBlockEnv();
    const ignore = memoryDrive(env, { size: 4096, discard: 'ignore' }).blk;
    const unmap = memoryDrive(env, { size: 4096, discard: 'unmap' }).blk;
    const { done, cb } = collector(env);
    for (const [name, blk] of [['ignore', ignore], ['unmap', unmap]] as Array<[string, BlockBackend]>) {
      blk.write(0, new Uint8Array([1, 1]), {}, cb(`${name}-w`));
      blk.discard(0, 2, cb(`${name}-d`));
      blk.read(0, 2, cb(`${name}-r`));
    }
    env.sim.run();
    expect(done['ignore-d'].err).toBeNull();
    expect([...done['ignore-r'].value!]).toEqual([1, 1]);
    expect([...done['unmap-r'].value!]).toEqual([0, 0]);
  });
});

describe('BlockBackend over a file: modelled cost by cache.direct', () => {
  // Costs: aio=threads completion 1500, page-cache hit 1500 + 0.1/byte, device 20000 + 0.5/byte, fdatasync 50000.
  it.each([
    ['writeback', { write: 1500 + 1500 + 409.6, readHit: 1500 + 1500 + 409.6, readMiss: 1500 + 20000 + 2048, flush: 1500 + 50000 + 2048 }],
    ['none', { write: 1500 + 20000 + 2048, readHit: 1500 + 20000 + 2048, readMiss: 1500 + 20000 + 2048, flush: 1500 + 50000 }],
  ] as const)('cache=%s', async (cache, cost) => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-blk-'));
    try {
      const file = path.join(dir, 'd.img');
      fs.writeFileSync(file, new Uint8Array(1 << 20));
      const env = newBlockEnv();
      const events = record(env);
      const { blk, graph } = open(env, { drive: { file, format: 'raw', cache } });
      const { cb } = collector(env);
      blk.write(0, new Uint8Array(4096).fill(1), {}, cb('w'));
      blk.read(0, 4096, cb('hit'));
      blk.read(65536, 4096, cb('miss'));
      blk.flush(cb('f'));
      drain(env, blk);
      const lat = events.flatMap((e) => (e.kind === 'block' ? [[e.op, Math.round(e.latencyNs)]] : []));
      expect(lat).toEqual([
        ['write', Math.round(cost.write)],
        ['read', Math.round(cost.readHit)],
        ['read', Math.round(cost.readMiss)],
        ['flush', Math.round(cost.flush)],
      ]);
      graph.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
