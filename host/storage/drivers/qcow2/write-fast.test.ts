import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { blockErrorMessage } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import { BLKDEBUG_EVENTS } from '../../image-api.js';
import { createImage } from '../../open.js';
import { newBlockEnv } from '../../testing.js';
import { blkdebugEngine } from '../blkdebug/index.js';
import { inPlaceCluster, setL2, setL2Bitmap } from './format/l2-entry.js';
import { setFastWrites } from './write-fast.js';

const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const acct = () => ({ ns: 0 });
const DISK = 1 << 20;

type Config = { cluster: number; extendedL2: boolean; lazy: boolean; refcountBits: number; backing: boolean };

/** Run `writes` on a fresh image with the fast paths on or off: the file's bytes and the blkdebug events seen. */
function run(sub: string, c: Config, writes: ReadonlyArray<readonly [number, number, number]>, fast: boolean): { bytes: Buffer; events: string } {
  // Both runs of a case use the same directory, one after the other: the header names the backing file.
  rmSync(sub, { recursive: true, force: true });
  mkdirSync(sub);
  const f = join(sub, 'img.qcow2');
  const base = join(sub, 'base.raw');
  if (c.backing) {
    const b = createImage('raw', base, DISK, {});
    if (E.isLeft(b)) throw new Error(blockErrorMessage(b.left));
  }
  const opts = { cluster_size: c.cluster, extended_l2: c.extendedL2, lazy_refcounts: c.lazy, refcount_bits: c.refcountBits, ...(c.backing ? { backing_file: base, backing_fmt: 'raw' } : {}) };
  const made = createImage('qcow2', f, DISK, opts);
  if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
  setFastWrites(fast);
  onTestFinished(() => setFastWrites(true));
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'qcow2', 'l2-cache-size': 2 * c.cluster, file: { driver: 'blkdebug', 'node-name': 'dbg', image: { driver: 'file', filename: f } } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  for (const [off, len, v] of writes) {
    const at = Math.min(off, DISK - 1);
    expect(r.right.pwritev(at, new Uint8Array(Math.min(len, DISK - at)).fill(v), {}, acct())).toBeNull();
  }
  const engine = blkdebugEngine(graph.node('dbg')!)!;
  const events = BLKDEBUG_EVENTS.map((e) => `${e}=${engine.eventCount(e)}`).join(' ');
  graph.close();
  return { bytes: readFileSync(f), events };
}

describe('qcow2 fast write paths', () => {
  it('leave the same file, byte for byte, after the same blkdebug events as the general path (property)', () => {
    const config = fc.record({
      cluster: fc.constantFrom(512, 4096, 65536),
      extendedL2: fc.boolean(),
      lazy: fc.boolean(),
      refcountBits: fc.constantFrom(1, 16),
      backing: fc.boolean(),
    }).map((c) => ({ ...c, extendedL2: c.extendedL2 && c.cluster >= 16384 }));
    const write = fc.tuple(fc.nat(DISK - 1), fc.integer({ min: 1, max: 70_000 }), fc.integer({ min: 1, max: 255 }));
    fc.assert(
      fc.property(config, fc.array(write, { minLength: 1, maxLength: 30 }), (c, writes) => {
        // Small writes land inside one cluster more often: those are what the fast paths take.
        const ws = writes.map(([o, l, v]) => [o, l % 7 === 0 ? l : 1 + (l % 4096), v] as const);
        const sub = join(dir, String(n++));
        const general = run(sub, c, ws, false);
        const fast = run(sub, c, ws, true);
        expect(fast.events).toBe(general.events);
        expect(fast.bytes.equals(general.bytes)).toBe(true);
      }),
      { numRuns: process.env.IOPATH_DEEP === '1' ? 300 : 30 },
    );
  });

  it('write in place only into a COPIED cluster that reads as its own data there', () => {
    const g = { clusterBits: 16, extendedL2: false };
    const t = new DataView(new ArrayBuffer(64));
    setL2(t, 0, g, 0x50000, { copied: true });
    setL2(t, 1, g, 0x60000, { copied: false });
    setL2(t, 2, g, 0x70000, { copied: true, zero: true });
    expect([inPlaceCluster(t, 0, g, 0, 0), inPlaceCluster(t, 1, g, 0, 0), inPlaceCluster(t, 2, g, 0, 0), inPlaceCluster(t, 3, g, 0, 0)]).toEqual([0x50000, -1, -1, -1]);
    const x = { clusterBits: 16, extendedL2: true };
    const e = new DataView(new ArrayBuffer(32));
    setL2(e, 0, x, 0x50000, { copied: true });
    setL2Bitmap(e, 0, x, 0b0111, 0b1000);
    expect([inPlaceCluster(e, 0, x, 0, 2), inPlaceCluster(e, 0, x, 1, 3), inPlaceCluster(e, 0, x, 4, 4)]).toEqual([0x50000, -1, -1]);
  });
});
