import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { BDRV_BLOCK_DATA, BDRV_BLOCK_ZERO } from '../driver.js';
import { blockErrorMessage } from '../errors.js';
import { BlockGraph } from '../graph.js';
import { CHUNK } from '../host-cache.js';
import { newBlockEnv } from '../testing.js';
import { memoryBytesUsed, type MemoryState } from './memory.js';

const TiB = 2 ** 40;
const acct = () => ({ ns: 0 });

function terabyte() {
  const r = new BlockGraph(newBlockEnv()).blockdevAdd({ driver: 'memory', size: '1T', discard: 'unmap' });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

describe('memory driver', () => {
  it('a 1 TiB disk costs only what was written', () => {
    const bs = terabyte();
    expect(bs.getLength()).toBe(TiB);
    for (const off of [0, TiB / 2 + 7, TiB - 4096]) expect(bs.pwritev(off, new Uint8Array(4096).fill(1), {}, acct())).toBeNull();
    bs.flush(acct());
    expect(memoryBytesUsed(bs.opaque as MemoryState)).toBe(4 * CHUNK);
    expect(bs.discard(0, TiB, acct())).toBeNull();
    bs.flush(acct());
    expect(memoryBytesUsed(bs.opaque as MemoryState)).toBe(0);
  });

  it('reports block status in runs, skipping unallocated terabytes at once', () => {
    const bs = terabyte();
    bs.pwritev(TiB / 2, new Uint8Array(3 * CHUNK).fill(1), {}, acct());
    expect(bs.blockStatus(0, TiB).flags & BDRV_BLOCK_ZERO).toBeTruthy();
    expect(bs.blockStatus(0, TiB).pnum).toBe(TiB / 2);
    expect(bs.blockStatus(TiB / 2, TiB / 2)).toMatchObject({ pnum: 3 * CHUNK });
    expect(bs.blockStatus(TiB / 2, TiB / 2).flags & BDRV_BLOCK_DATA).toBeTruthy();
    expect(bs.blockStatus(TiB / 2 + 3 * CHUNK, TiB).pnum).toBe(TiB / 2 - 3 * CHUNK);
  });
});
