import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import type { BlockDriverState } from '../../node.js';
import { newBlockEnv } from '../../testing.js';
import { blkverifyFailure } from './blkverify.js';

const acct = () => ({ ns: 0 });

/** blkverify over two memory nodes named 'r' (raw) and 't' (test). */
function open(rawSize = 8192, testSize = 8192): { bv: BlockDriverState; raw: BlockDriverState; test: BlockDriverState } {
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({
    driver: 'blkverify',
    'node-name': 'bv',
    raw: { driver: 'memory', 'node-name': 'r', size: rawSize },
    test: { driver: 'memory', 'node-name': 't', size: testSize },
  });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bv: r.right, raw: graph.node('r')!, test: graph.node('t')! };
}

function read(bs: BlockDriverState, off: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  expect(bs.preadv(off, b, acct())).toBeNull();
  return b;
}

describe('blkverify', () => {
  it('writes to both children and reads back what they agree on', () => {
    const { bv, raw, test } = open();
    expect(bv.pwritev(100, new Uint8Array([1, 2, 3]), {}, acct())).toBeNull();
    expect(bv.writeZeroes(101, 1, {}, acct())).toBeNull();
    expect([...read(bv, 99, 5)]).toEqual([0, 1, 0, 3, 0]);
    expect([...read(raw, 100, 3)]).toEqual([1, 0, 3]);
    expect([...read(test, 100, 3)]).toEqual([1, 0, 3]);
    expect(bv.flush(acct())).toBeNull();
    expect(blkverifyFailure(bv)).toBeUndefined();
  });

  it("fails a read whose copies differ, in QEMU's words, and every request after it", () => {
    const { bv, raw } = open();
    expect(raw.pwritev(4099, new Uint8Array([7]), {}, acct())).toBeNull();
    expect(read(bv, 0, 4096).every((b) => b === 0)).toBe(true);
    const err = bv.preadv(4096, new Uint8Array(512), acct());
    expect(err?.errno).toBe('EIO');
    expect(err?.message).toBe('bv: blkverify: read offset=4096 bytes=512 contents mismatch at offset 4099');
    expect(blkverifyFailure(bv)).toBe('blkverify: read offset=4096 bytes=512 contents mismatch at offset 4099');
    expect(bv.preadv(0, new Uint8Array(1), acct())?.message).toMatch(/contents mismatch at offset 4099$/);
    expect(bv.pwritev(0, new Uint8Array(1), {}, acct())?.errno).toBe('EIO');
    expect(bv.flush(acct())?.errno).toBe('EIO');
  });

  it('fails a write the children answer differently (the test image is longer than the raw copy)', () => {
    const { bv } = open(4096, 8192);
    expect(bv.getLength()).toBe(8192);
    const err = bv.pwritev(4096, new Uint8Array(512), {}, acct());
    expect(err?.message).toBe('bv: blkverify: write offset=4096 bytes=512 return value mismatch 0 != -5');
  });

  it('needs both children', () => {
    const graph = new BlockGraph(newBlockEnv());
    const r = graph.blockdevAdd({ driver: 'blkverify', raw: { driver: 'memory', size: 512 } });
    expect(E.isLeft(r) && blockErrorMessage(r.left)).toBe('A block device must be specified for "test" (driver \'blkverify\')');
  });
});
