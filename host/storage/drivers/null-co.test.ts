import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO } from '../driver.js';
import { blockErrorMessage, type BlockError } from '../errors.js';
import { BlockGraph } from '../graph.js';
import { openBlockGraph } from '../open.js';
import { drain, newBlockEnv } from '../testing.js';

const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'ok');

describe('null-co driver', () => {
  it("has QEMU's defaults: 1 GiB, no latency, reads not zeroed", () => {
    const r = new BlockGraph(newBlockEnv()).blockdevAdd({ driver: 'null-co' });
    if (E.isLeft(r)) throw new Error(message(r));
    expect(r.right.getLength()).toBe(1 << 30);
    expect(r.right.blockStatus(0, 4096).flags).toBe(BDRV_BLOCK_OFFSET_VALID);
  });

  it('discards writes, reads zeroes with read-zeroes=on, and takes latency-ns per request', () => {
    const env = newBlockEnv();
    const r = openBlockGraph(env, { drive: { driver: 'null-co', size: '1M', 'latency-ns': 10_000, 'read-zeroes': 'on' } });
    if (E.isLeft(r)) throw new Error(message(r));
    const { blk } = r.right;
    expect(blk.root.blockStatus(0, 4096).flags & BDRV_BLOCK_ZERO).toBeTruthy();
    let got: Uint8Array | undefined;
    blk.write(0, new Uint8Array(4).fill(1), {}, () => {});
    blk.read(0, 4, (_e, v) => (got = v));
    drain(env, blk);
    expect([...got!]).toEqual([0, 0, 0, 0]);
    expect(env.sim.now).toBe(300 + 10_000);
  });

  it('refuses a negative latency and a filename other than null-co://', () => {
    const g = new BlockGraph(newBlockEnv());
    expect(message(g.blockdevAdd({ driver: 'null-co', 'latency-ns': -1 }))).toBe('latency-ns is invalid');
    expect(message(g.blockdevAdd({ driver: 'null-co', 'read-zeroes': 'sometimes' }))).toMatch(/^Parameter 'read-zeroes' expects 'on' or 'off'/);
  });
});
