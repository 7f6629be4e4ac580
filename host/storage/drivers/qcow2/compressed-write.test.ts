import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { noise } from './zstd/testing.js';
import { blockErrorMessage } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import type { BlockDriverState } from '../../node.js';
import { createImage } from '../../open.js';
import { newBlockEnv } from '../../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-cw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const acct = () => ({ ns: 0 });
const BDRV_BLOCK_OFFSET_VALID = 0x04;

function openNew(opts: Record<string, unknown>, size: number): { bs: BlockDriverState; graph: BlockGraph; file: string } {
  const file = join(dir, `${seq++}.qcow2`);
  const r = createImage('qcow2', file, size, opts);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  const graph = new BlockGraph(newBlockEnv());
  const o = graph.blockdevAdd({ driver: 'qcow2', file: { driver: 'file', filename: file } });
  if (E.isLeft(o)) throw new Error(blockErrorMessage(o.left));
  return { bs: o.right, graph, file };
}

function readAll(bs: BlockDriverState): Uint8Array {
  const out = new Uint8Array(bs.getLength());
  expect(bs.preadv(0, out, acct())).toBeNull();
  return out;
}

describe('qcow2 compressed writes', () => {
  for (const type of ['zlib', 'zstd']) {
    it(`${type}: clusters written compressed read back, check clean, packed small; noise is written plainly (property)`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(512, 4096, 65536),
          fc.array(fc.tuple(fc.nat(15), fc.constantFrom('text', 'fill', 'noise'), fc.nat(255)), { minLength: 1, maxLength: 10 }),
          (cs, writes) => {
            // 16 clusters and a short last one, so the zero-padded tail cluster is covered too.
            const size = 16 * cs + 512;
            const { bs, graph, file } = openNew({ cluster_size: cs, compression_type: type }, size);
            const model = new Uint8Array(size);
            const written = new Map<number, string>();
            for (const [c0, kind, v] of [...writes, [16, 'text', 1] as const]) {
              const off = c0 * cs;
              if (written.has(c0)) continue;
              const len = Math.min(cs, size - off);
              const data = kind === 'noise' ? noise(len, v + c0) : kind === 'fill' ? new Uint8Array(len).fill(v) : new Uint8Array(len).map((_, i) => 0x61 + ((i * v) % 26));
              expect(bs.drv.writeCompressed!(bs.opaque, off, data, acct())).toBeNull();
              model.set(data, off);
              written.set(c0, kind);
            }
            expect(Buffer.compare(readAll(bs), model)).toBe(0);
            for (const [c0, kind] of written) {
              const len = Math.min(cs, size - c0 * cs);
              expect([c0, kind, bs.blockStatus(c0 * cs, len).flags & BDRV_BLOCK_OFFSET_VALID]).toEqual([c0, kind, kind === 'noise' ? BDRV_BLOCK_OFFSET_VALID : 0]);
            }
            expect(bs.writeCompressed(0, new Uint8Array(0), acct())).toBeNull();
            const r = bs.drv.check!(bs.opaque, { leaks: false, errors: false }, acct());
            if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
            expect({ corruptions: r.right.corruptions, leaks: r.right.leaks, checkErrors: r.right.checkErrors }).toEqual({ corruptions: 0, leaks: 0, checkErrors: 0 });
            const plain = [...written.values()].filter((k) => k === 'noise').length;
            expect(r.right.compressedClusters).toBe(written.size - plain);
            graph.close();
            expect(statSync(file).size % 512).toBe(0);
          },
        ),
        { numRuns: 12 },
      );
    });
  }

  it('zstd: a compressed cluster survives reopening, and cannot be overwritten compressed', () => {
    const { bs, graph, file } = openNew({ compression_type: 'zstd' }, 1 << 20);
    const data = new Uint8Array(65536).map((_, i) => i % 10);
    expect(bs.writeCompressed(65536, data, acct())).toBeNull();
    expect(bs.writeCompressed(65536, data, acct())?.message).toMatch(/can't overwrite/);
    graph.close();
    const g2 = new BlockGraph(newBlockEnv());
    const o = g2.blockdevAdd({ driver: 'qcow2', 'read-only': true, file: { driver: 'file', filename: file } });
    if (E.isLeft(o)) throw new Error(blockErrorMessage(o.left));
    const back = new Uint8Array(65536);
    expect(o.right.preadv(65536, back, acct())).toBeNull();
    expect(Buffer.compare(back, data)).toBe(0);
    g2.close();
  });
});
