import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../sim/rng.js';
import { DEFAULT_JOB, type FioJob } from './fio/job.js';
import { FIO_DEFAULTS } from './fio/options.js';
import { ioStream, jobExtent, type IoOp } from './io-stream.js';

const MiB = 2 ** 20;
const job = (o: Partial<FioJob>): FioJob => ({ ...FIO_DEFAULTS, name: 't', ...o });
const all = (j: FioJob, deviceBytes: number, seed = 1): IoOp[] => [...ioStream(j, { deviceBytes, rng: new Rng(seed) })];

describe('ioStream: sequential', () => {
  it('walks the region in bs steps from offset', () => {
    const ops = all(job({ rw: 'write', bs: 4096, offset: 8192, size: 16384 }), MiB);
    expect(ops).toEqual([8192, 12288, 16384, 20480].map((offset) => ({ op: 'write', offset, bytes: 4096 })));
  });

  it('wraps around when io_size exceeds the region', () => {
    const ops = all(job({ rw: 'read', bs: 4096, size: 8192, ioSize: 5 * 4096 }), MiB);
    expect(ops.map((o) => o.offset)).toEqual([0, 4096, 0, 4096, 0]);
  });

  it('clamps the region to the device, in whole blocks', () => {
    const ops = all(job({ rw: 'read', bs: 4096, offset: MiB - 10000 }), MiB);
    expect(ops.map((o) => o.offset)).toEqual([MiB - 10000, MiB - 10000 + 4096]);
    expect(all(job({ rw: 'read', offset: 2 * MiB }), MiB)).toEqual([]);
    expect(all(job({ rw: 'read', bs: 8192 }), 4096)).toEqual([]);
  });

  it('stops at number_ios when that comes first', () => {
    expect(all(job({ rw: 'read', size: MiB, numberIos: 3 }), MiB)).toHaveLength(3);
    expect(all(job({ rw: 'read', size: 8192, numberIos: 100 }), MiB)).toHaveLength(2);
  });

  it('rw=rw mixes directions over a sequential walk', () => {
    const ops = all(job({ rw: 'rw', bs: 4096, size: 64 * 4096 }), MiB);
    expect(ops.map((o) => o.offset)).toEqual(Array.from({ length: 64 }, (_, i) => i * 4096));
    expect(new Set(ops.map((o) => o.op))).toEqual(new Set(['read', 'write']));
  });
});

describe('ioStream: random', () => {
  it('hits every block once per pass (the random map)', () => {
    const ops = all(job({ rw: 'randwrite', bs: 4096, size: 256 * 4096, ioSize: 2 * 256 * 4096 }), MiB);
    const pass1 = ops.slice(0, 256).map((o) => o.offset / 4096);
    const pass2 = ops.slice(256).map((o) => o.offset / 4096);
    expect(new Set(pass1).size).toBe(256);
    expect(new Set(pass2).size).toBe(256);
    expect(pass1).not.toEqual(pass2);
  });

  it('with norandommap, offsets may repeat', () => {
    const ops = all(job({ rw: 'randread', bs: 4096, size: 256 * 4096, norandommap: true }), MiB);
    expect(ops).toHaveLength(256);
    expect(new Set(ops.map((o) => o.offset)).size).toBeLessThan(256);
  });

  it('every I/O is aligned, inside the region and the device, the count as fio would do', () => {
    const arbJob = fc.record({
      rw: fc.constantFrom('read', 'write', 'randread', 'randwrite', 'randrw', 'rw'),
      bs: fc.constantFrom(512, 4096, 65536, 1000),
      offset: fc.constantFrom(0, 4096, 3 * MiB),
      size: fc.option(fc.integer({ min: 1, max: 8 * MiB }), { nil: undefined }),
      ioSize: fc.option(fc.integer({ min: 1, max: 16 * MiB }), { nil: undefined }),
      numberIos: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
      norandommap: fc.boolean(),
      rwmixread: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(arbJob, fc.integer({ min: 0, max: 16 * MiB }), fc.integer(), (o, deviceBytes, seed) => {
        const j = job(o as Partial<FioJob>);
        const { start, blocks, ios } = jobExtent(j, deviceBytes);
        const end = Math.min(start + blocks * j.bs, deviceBytes);
        const ops = all(j, deviceBytes, seed);
        expect(ops).toHaveLength(ios);
        const fixed = j.rw === 'read' || j.rw === 'randread' ? 'read' : j.rw === 'write' || j.rw === 'randwrite' ? 'write' : undefined;
        const bad = ops.filter(
          (op) =>
            (op.offset - start) % j.bs !== 0 ||
            op.offset < start ||
            op.offset + op.bytes > end ||
            op.bytes !== j.bs ||
            (fixed !== undefined && op.op !== fixed),
        );
        expect(bad).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps rwmixread within 2% over 20,000 I/Os', () => {
    for (const rwmixread of [0, 30, 50, 70, 100]) {
      const ops = all(job({ rw: 'randrw', rwmixread, size: 64 * MiB, numberIos: 20_000 }), 64 * MiB, rwmixread + 11);
      const reads = ops.filter((o) => o.op === 'read').length / ops.length;
      expect(Math.abs(reads - rwmixread / 100)).toBeLessThan(0.02);
    }
  });

  it('is determined by the seed', () => {
    const j = job({ rw: 'randrw', size: 4 * MiB });
    expect(all(j, 4 * MiB, 42)).toEqual(all(j, 4 * MiB, 42));
    expect(all(j, 4 * MiB, 42)).not.toEqual(all(j, 4 * MiB, 43));
  });
});

describe('ioStream: big and endless jobs', () => {
  it('DEFAULT_JOB gives 20,000 aligned random writes within 64 MiB', () => {
    const ops = all(DEFAULT_JOB, 1024 * MiB);
    expect(ops).toHaveLength(20_000);
    expect(ops.every((o) => o.op === 'write' && o.offset % 4096 === 0 && o.offset + 4096 <= 64 * MiB)).toBe(true);
    expect(new Set(ops.slice(0, 16384).map((o) => o.offset)).size).toBe(16384);
  });

  it('is lazy: a 1 TiB random job and a time-based job start at once', () => {
    const big = ioStream(job({ rw: 'randread' }), { deviceBytes: 2 ** 40, rng: new Rng(3) });
    const first = Array.from({ length: 5 }, () => big.next().value as IoOp);
    expect(first.every((o) => o.offset % 4096 === 0 && o.offset < 2 ** 40)).toBe(true);
    const endless = ioStream(job({ rw: 'write', size: 8192, timeBased: true }), { deviceBytes: MiB, rng: new Rng(3) });
    const offsets: number[] = [];
    for (const o of endless) {
      offsets.push(o.offset);
      if (offsets.length === 7) break;
    }
    expect(offsets).toEqual([0, 4096, 0, 4096, 0, 4096, 0]);
    expect(jobExtent(job({ timeBased: true }), MiB).ios).toBe(Infinity);
  });
});
