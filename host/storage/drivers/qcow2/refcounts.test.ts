import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import type { BlockDriverState } from '../../node.js';
import { createImage } from '../../open.js';
import { newBlockEnv } from '../../testing.js';
import type { Qcow2Node } from './driver.js';

const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-refcounts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const acct = () => ({ ns: 0 });

function image(size: number, opts: Record<string, unknown>): { bs: BlockDriverState; graph: BlockGraph } {
  const f = join(dir, `r${n++}.qcow2`);
  const c = createImage('qcow2', f, size, opts);
  if (E.isLeft(c)) throw new Error(blockErrorMessage(c.left));
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'qcow2', discard: 'unmap', file: { driver: 'file', filename: f } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bs: r.right, graph };
}

const fill = (len: number, v: number): Uint8Array => new Uint8Array(len).fill(v);

function reads(bs: BlockDriverState, off: number, len: number): number[] {
  const b = new Uint8Array(len);
  expect(bs.preadv(off, b, acct())).toBeNull();
  return [...new Set(b)];
}

function clean(bs: BlockDriverState): [number, number, string[]] {
  const r = bs.drv.check!(bs.opaque, { leaks: false, errors: false }, acct());
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return [r.right.corruptions, r.right.leaks, r.right.messages];
}

describe('qcow2 compressed-data packing (qcow2_alloc_bytes) after its cluster is freed', () => {
  it('a cluster reallocated for guest data is not packed into: the data stays and check is clean', () => {
    // qemu-io 7.2 on the same requests (write -c 0 64k; write 0 512; write 128k 64k;
    // write -c 256k 64k) overwrites guest cluster 2 with the second compressed cluster.
    const K = 65536;
    const { bs, graph } = image(1 << 20, {});
    const s = (bs.opaque as Qcow2Node).s;
    expect(bs.writeCompressed(0, fill(K, 0x11), acct())).toBeNull();
    expect(s.freeByteOffset).not.toBe(0);
    expect(bs.pwritev(0, fill(512, 0x22), {}, acct())).toBeNull(); // copies the cluster out: its host cluster is freed
    expect(s.freeByteOffset).toBe(0);
    expect(bs.pwritev(2 * K, fill(K, 0x33), {}, acct())).toBeNull(); // takes the freed host cluster
    expect(bs.writeCompressed(4 * K, fill(K, 0x44), acct())).toBeNull();
    expect(reads(bs, 0, 512)).toEqual([0x22]);
    expect(reads(bs, 512, K - 512)).toEqual([0x11]);
    expect(reads(bs, 2 * K, K)).toEqual([0x33]);
    expect(reads(bs, 4 * K, K)).toEqual([0x44]);
    expect(clean(bs)).toEqual([0, 0, []]);
    graph.close();
  });

  it('a cluster reallocated for a snapshot L1 table is not packed into: no overlap, no corrupt image', () => {
    const { bs, graph } = image(512, { cluster_size: 512 });
    const pattern = new Uint8Array(512).map((_, i) => (i % 64) * 3);
    expect(bs.writeCompressed(0, pattern, acct())).toBeNull();
    expect(bs.writeZeroes(0, 1, {}, acct())).toBeNull(); // a partial zero write copies the compressed cluster out
    expect(bs.drv.snapshots!.create(bs.opaque, { name: 's', vmStateSize: 0, dateSec: 0, dateNsec: 0, vmClockNs: 0 })).toBeNull();
    expect(bs.writeZeroes(0, 512, { mayUnmap: true }, acct())).toBeNull();
    expect(bs.writeCompressed(0, pattern, acct())).toBeNull();
    const b = new Uint8Array(512);
    expect(bs.preadv(0, b, acct())).toBeNull();
    expect(b).toEqual(pattern);
    expect(clean(bs)).toEqual([0, 0, []]);
    graph.close();
  });
});
