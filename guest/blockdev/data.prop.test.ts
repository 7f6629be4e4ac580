/**
 * Property: plugging, splitting, merging, scheduling and flush sequencing never change
 * what reaches the disk. Random bio sequences with random data go through the layer
 * into MemDisk (which completes requests in random order after random latencies), and
 * the disk must end up exactly as applying the bios one after another to a byte array;
 * every read must return what that array held.
 *
 * Ordering: Linux does not order bios in flight together, so a sequence is a list of
 * waves: the bios of one wave are in flight together and never overlap each other
 * (generated ranges that overlap an earlier one of the wave are dropped); a wave starts
 * when the previous one has completed. Within a wave, bios come from one or two tasks
 * (CPUs), each optionally under a plug; their buffers are several segments, sometimes
 * physically contiguous, sometimes not, so merges and splits both happen under random
 * limits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SgElem } from '../../hw/memory.js';
import { discardBio, flushBio, readBio, writeBio, writeZeroesBio, type Bio } from './bio.js';
import { MemDisk, testKernel } from './testing.js';

const SECTORS = 512;
const LBS = 512;

interface GenBio {
  op: 'read' | 'write' | 'discard' | 'write-zeroes' | 'flush';
  /** Right after the previous bio of the wave, right before it, or at `start`: adjacency makes merges. */
  where: 'after' | 'before' | 'at';
  start: number;
  len: number;
  /** Segment cut points (fractions) and whether segments are contiguous in memory. */
  cuts: number[];
  contiguous: boolean;
  preflush: boolean;
  fua: boolean;
  task: number;
  seed: number;
}

const genBio: fc.Arbitrary<GenBio> = fc.record({
  op: fc.constantFrom<GenBio['op']>('write', 'write', 'write', 'read', 'read', 'discard', 'write-zeroes', 'flush'),
  where: fc.constantFrom<GenBio['where']>('after', 'after', 'before', 'at'),
  start: fc.nat(SECTORS - 1),
  len: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 96 })),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
  contiguous: fc.boolean(),
  preflush: fc.boolean(),
  fua: fc.boolean(),
  task: fc.nat(1),
  seed: fc.nat(),
});

const scenario = fc.record({
  scheduler: fc.constantFrom<'none' | 'mq-deadline'>('none', 'mq-deadline'),
  nrHwQueues: fc.constantFrom(1, 2),
  queueDepth: fc.integer({ min: 1, max: 16 }),
  ringSize: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
  maxSectors: fc.constantFrom(8, 24, 64, 2560),
  maxSegments: fc.constantFrom(1, 2, 4, 128),
  maxSegmentSize: fc.constantFrom(4096, 65536),
  maxDiscardSectors: fc.constantFrom(16, 100, 1 << 20),
  writeCache: fc.boolean(),
  seed: fc.nat(),
  waves: fc.array(fc.record({ bios: fc.array(genBio, { minLength: 1, maxLength: 24 }), plug: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }) }), { minLength: 1, maxLength: 8 }),
});

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

describe('the block layer preserves data', () => {
  it('disk contents and reads equal applying the bios in order (waves of non-overlapping bios)', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const tk = testKernel(2);
        const disk = new MemDisk(tk, {
          sectors: SECTORS,
          nrHwQueues: sc.nrHwQueues,
          queueDepth: sc.queueDepth,
          ringSize: sc.ringSize,
          seed: sc.seed,
          limits: { logicalBlockSize: LBS, maxSectors: sc.maxSectors, maxSegments: sc.maxSegments, maxSegmentSize: sc.maxSegmentSize, maxDiscardSectors: sc.maxDiscardSectors, writeCache: sc.writeCache },
        });
        const dev = disk.device({ scheduler: sc.scheduler });
        const mem = tk.kernel.mem;
        const model = new Uint8Array(SECTORS * 512);
        let next = 0x200000;
        const alloc = (n: number): number => {
          const a = next;
          next += (n + 8191) & ~4095;
          return a;
        };
        const problems: string[] = [];
        for (const [wi, wave] of sc.waves.entries()) {
          // Drop bios overlapping an earlier one of the same wave (flushes have no range).
          const taken: [number, number][] = [];
          const bios: { g: GenBio; bio: Bio; data?: Uint8Array }[] = [];
          let prev: [number, number] | undefined;
          for (const g0 of wave.bios) {
            let start = g0.start;
            if (prev && g0.where === 'after') start = prev[1];
            else if (prev && g0.where === 'before') start = Math.max(0, prev[0] - g0.len);
            if (start >= SECTORS) start = g0.start;
            const len = Math.min(g0.len, SECTORS - start, prev && g0.where === 'before' ? Math.max(1, prev[0] - start) : Infinity);
            const g = { ...g0, start };
            if (g.op !== 'flush') {
              if (taken.some(([s, e]) => g.start < e && s < g.start + len)) continue;
              taken.push([g.start, g.start + len]);
              prev = [g.start, g.start + len];
            }
            const bytes = len * 512;
            let bio: Bio;
            let data: Uint8Array | undefined;
            if (g.op === 'read' || g.op === 'write') {
              const cuts = [...new Set(g.cuts.map((c) => Math.floor((c * bytes) / 512) * 512).filter((c) => c > 0 && c < bytes))].sort((a, b) => a - b);
              const bounds = [0, ...cuts, bytes];
              const segs: SgElem[] = [];
              let base = alloc(bytes + 4096 * bounds.length);
              for (let i = 0; i + 1 < bounds.length; i++) {
                const l = bounds[i + 1] - bounds[i];
                segs.push({ addr: base, len: l });
                base += g.contiguous ? l : l + 4096;
              }
              if (g.op === 'write') {
                data = pattern(bytes, g.seed);
                let off = 0;
                for (const s of segs) {
                  mem.write(s.addr, data.subarray(off, off + s.len));
                  off += s.len;
                }
                bio = writeBio(g.start, segs, { preflush: g.preflush, fua: g.fua });
              } else bio = readBio(g.start, segs);
            } else if (g.op === 'flush') bio = flushBio();
            else bio = g.op === 'discard' ? discardBio(g.start, len) : writeZeroesBio(g.start, len);
            bios.push({ g, bio, data });
          }
          // Submit: each task in turn, under its plug if the wave says so.
          const results = new Map<Bio, string>();
          for (const t of [0, 1]) {
            const task = tk.tasks[t];
            const mine = bios.filter((b) => b.g.task === t);
            if (wave.plug[t]) dev.startPlug(task);
            for (const b of mine) dev.submitBio(task, b.bio).subscribe((s) => results.set(b.bio, s));
            if (wave.plug[t]) dev.finishPlug(task);
          }
          tk.sim.run({ stop: () => results.size === bios.length });
          if (results.size !== bios.length) problems.push(`wave ${wi}: ${bios.length - results.size} bios never completed`);
          for (const b of bios) {
            const st = results.get(b.bio);
            if (st !== 'ok') problems.push(`wave ${wi}: ${b.g.op} @${b.bio.sector}+${b.bio.sectors}: ${st}`);
            if (b.g.op === 'read') {
              let off = b.bio.sector * 512;
              for (const s of b.bio.segments) {
                const got = mem.read(s.addr, s.len);
                const want = model.subarray(off, off + s.len);
                if (Buffer.compare(got, want) !== 0) problems.push(`wave ${wi}: read @${b.bio.sector} differs at disk byte ${off}`);
                off += s.len;
              }
            }
          }
          // The wave's effect on the model: in any order, since nothing in it overlaps.
          for (const b of bios) {
            if (b.g.op === 'write') model.set(b.data!, b.bio.sector * 512);
            else if (b.g.op === 'discard' || b.g.op === 'write-zeroes') model.fill(0, b.bio.sector * 512, (b.bio.sector + b.bio.sectors) * 512);
          }
        }
        expect(problems).toEqual([]);
        const got = disk.contents();
        const d = got.findIndex((v, i) => v !== model[i]);
        expect(d, `disk byte ${d} is ${got[d]}, the model has ${model[d]}`).toBe(-1);
        // Nothing left behind: every request freed, nothing in flight.
        expect(disk.inFlight).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
