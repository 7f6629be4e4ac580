/**
 * scsi-hd over a memory drive against a Uint8Array model: random valid READ, WRITE (6/10/16,
 * with and without FUA), WRITE SAME (10/16, data or zeros, with or without UNMAP), UNMAP and
 * SYNCHRONIZE CACHE sequences, each run to completion as an HBA would, keep every READ equal
 * to the model and, at the end, the whole disk. (The memory drive reads discarded blocks as
 * zeros; scsi-disk does not promise that to the guest — no LBPRZ — but the model may.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstDiff, runs } from './support/vm.js';
import { SENSE } from '../host/devices/scsi-bus/defs.js';
import { expectGood, makeRig, read10, read16, run, sync10, unmapCdb, unmapParams, write10, write16, write6, writeSame10, writeSame16 } from '../host/devices/scsi-disk/test-utils.js';

const BLOCKS = 256;
const BS = 512;

type Cmd =
  | { op: 'write'; lba: number; n: number; size: 6 | 10 | 16; fua: boolean; seed: number }
  | { op: 'read'; lba: number; n: number; size: 10 | 16 }
  | { op: 'write-same'; lba: number; n: number; size: 10 | 16; zero: boolean; unmap: boolean; seed: number }
  | { op: 'unmap'; ranges: [number, number][] }
  | { op: 'sync' };

const range = fc.integer({ min: 0, max: BLOCKS - 1 }).chain((lba) => fc.tuple(fc.constant(lba), fc.integer({ min: 1, max: Math.min(32, BLOCKS - lba) })));

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ r: range, size: fc.constantFrom<6 | 10 | 16>(6, 10, 16), fua: fc.boolean(), seed: fc.nat(255) }).map(({ r, size, fua, seed }) => ({ op: 'write' as const, lba: r[0], n: r[1], size, fua: size !== 6 && fua, seed })),
  fc.record({ r: range, size: fc.constantFrom<10 | 16>(10, 16) }).map(({ r, size }) => ({ op: 'read' as const, lba: r[0], n: r[1], size })),
  fc.record({ r: range, size: fc.constantFrom<10 | 16>(10, 16), zero: fc.boolean(), unmap: fc.boolean(), seed: fc.nat(255) }).map(({ r, ...o }) => ({ op: 'write-same' as const, lba: r[0], n: r[1], ...o })),
  fc.array(range, { minLength: 1, maxLength: 4 }).map((ranges) => ({ op: 'unmap' as const, ranges })),
  fc.constant({ op: 'sync' as const }),
);

const fill = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed * 7 + i * 13 + (i >> 9)) & 0xff || 1);

describe('scsi-disk model', () => {
  it('random READ/WRITE/WRITE SAME/UNMAP/SYNCHRONIZE CACHE keep the disk equal to the model', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { minLength: 1, maxLength: 40 }), fc.constantFrom<'writeback' | 'writethrough'>('writeback', 'writethrough'), (cmds, cache) => {
        const r = makeRig({ size: BLOCKS * BS, cache });
        const model = new Uint8Array(BLOCKS * BS);
        for (const c of cmds) {
          switch (c.op) {
            case 'write': {
              const d = fill(c.n * BS, c.seed);
              const cdb = c.size === 6 ? write6(c.lba, c.n) : c.size === 10 ? write10(c.lba, c.n, c.fua ? 8 : 0) : write16(c.lba, c.n, c.fua ? 8 : 0);
              expectGood(run(r, cdb, { dataOut: d }));
              model.set(d, c.lba * BS);
              break;
            }
            case 'read': {
              const a = run(r, c.size === 10 ? read10(c.lba, c.n) : read16(c.lba, c.n), { dataIn: c.n * BS });
              expectGood(a);
              expect(firstDiff(a.data, model.subarray(c.lba * BS, (c.lba + c.n) * BS))).toBe(-1);
              break;
            }
            case 'write-same': {
              const block = c.zero ? new Uint8Array(BS) : fill(BS, c.seed);
              const flags = c.unmap ? 0x08 : 0;
              expectGood(run(r, c.size === 10 ? writeSame10(c.lba, c.n, flags) : writeSame16(c.lba, c.n, flags), { dataOut: block }));
              for (let b = c.lba; b < c.lba + c.n; b++) model.set(block, b * BS);
              break;
            }
            case 'unmap': {
              const p = unmapParams(c.ranges);
              expectGood(run(r, unmapCdb(p.length), { dataOut: p }));
              for (const [lba, n] of c.ranges) model.fill(0, lba * BS, (lba + n) * BS);
              break;
            }
            case 'sync':
              expectGood(run(r, sync10()));
              break;
          }
        }
        const all = run(r, read10(0, BLOCKS), { dataIn: BLOCKS * BS });
        expect(all.sense).not.toEqual(SENSE.LBA_OUT_OF_RANGE);
        expect(all.data.length).toBe(model.length);
        expect(firstDiff(all.data, model)).toBe(-1);
      }),
      { numRuns: runs(60) },
    );
  });
});
