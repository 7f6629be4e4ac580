import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import type { BlockDriverState } from '../../node.js';
import { createImage } from '../../open.js';
import { newBlockEnv } from '../../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-discard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const acct = () => ({ ns: 0 });
const CS = 65536;
const SIZE = 1 << 20;

/** A qcow2 image (over a raw base of 0x42 bytes when `backing`), opened with discard=unmap. */
function image(compat: '0.10' | '1.1', backing: boolean): { bs: BlockDriverState; graph: BlockGraph } {
  const f = join(dir, `d${n++}.qcow2`);
  const opts: Record<string, unknown> = { compat };
  if (backing) {
    const base = `${f}.base.raw`;
    writeFileSync(base, new Uint8Array(SIZE).fill(0x42));
    Object.assign(opts, { backing_file: base, backing_fmt: 'raw' });
  }
  const c = createImage('qcow2', f, SIZE, opts);
  if (E.isLeft(c)) throw new Error(blockErrorMessage(c.left));
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'qcow2', discard: 'unmap', file: { driver: 'file', filename: f } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bs: r.right, graph };
}

function read(bs: BlockDriverState, off: number, len: number): number[] {
  const b = new Uint8Array(len);
  expect(bs.preadv(off, b, acct())).toBeNull();
  return [...new Set(b)];
}

function leaksAndCorruptions(bs: BlockDriverState): [number, number] {
  const r = bs.drv.check!(bs.opaque, { leaks: false, errors: false }, acct());
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return [r.right.leaks, r.right.corruptions];
}

describe('qcow2 discard (qcow2_co_pdiscard)', () => {
  it('on a v2 image over a backing file discards nothing: the written data stays, the backing data does not show again', () => {
    const { bs, graph } = image('0.10', true);
    expect(bs.pwritev(0, new Uint8Array(2 * CS).fill(0x55), {}, acct())).toBeNull();
    expect(bs.discard(0, 2 * CS, acct())).toBeNull();
    expect(read(bs, 0, 2 * CS)).toEqual([0x55]);
    expect(read(bs, 2 * CS, CS)).toEqual([0x42]);
    expect(bs.blockStatus(0, 2 * CS).pnum).toBe(2 * CS);
    expect(leaksAndCorruptions(bs)).toEqual([0, 0]);
    graph.close();
  });

  it('on a v3 image over a backing file, whole clusters read as zeroes afterwards; the partial edges keep their data', () => {
    const { bs, graph } = image('1.1', true);
    expect(bs.pwritev(0, new Uint8Array(3 * CS).fill(0x55), {}, acct())).toBeNull();
    expect(bs.discard(100, 3 * CS - 200, acct())).toBeNull();
    expect(read(bs, 0, CS)).toEqual([0x55]);
    expect(read(bs, CS, CS)).toEqual([0]);
    expect(read(bs, 2 * CS, CS)).toEqual([0x55]);
    expect(bs.discard(5 * CS, CS, acct())).toBeNull();
    expect(read(bs, 5 * CS, CS)).toEqual([0]);
    expect(read(bs, 6 * CS, CS)).toEqual([0x42]);
    expect(leaksAndCorruptions(bs)).toEqual([0, 0]);
    graph.close();
  });

  it('on a v2 image without a backing file, discarded clusters are freed and read as zeroes', () => {
    const { bs, graph } = image('0.10', false);
    expect(bs.pwritev(0, new Uint8Array(2 * CS).fill(0x55), {}, acct())).toBeNull();
    expect(bs.discard(0, CS, acct())).toBeNull();
    expect(read(bs, 0, CS)).toEqual([0]);
    expect(read(bs, CS, CS)).toEqual([0x55]);
    expect(leaksAndCorruptions(bs)).toEqual([0, 0]);
    graph.close();
  });
});
