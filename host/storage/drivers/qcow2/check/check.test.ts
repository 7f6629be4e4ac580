import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../../../errors.js';
import { BlockGraph } from '../../../graph.js';
import type { CheckFix, ImageCheckResult } from '../../../image-api.js';
import type { BlockDriverState } from '../../../node.js';
import { createImage } from '../../../open.js';
import { newBlockEnv } from '../../../testing.js';
import type { Qcow2Node } from '../driver.js';
import { INCOMPAT_CORRUPT, INCOMPAT_DIRTY } from '../format/features.js';
import { setRefcount } from '../format/refcount-block.js';
import { signalCorruption } from '../header-update.js';
import { allocClusters } from '../refcounts.js';
import { preWriteOverlapCheck } from './overlap.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-qcow2-check-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const acct = () => ({ ns: 0 });
const CS = 65536;

function image(opts: Record<string, unknown> = {}, size = 4 << 20): string {
  const f = path.join(tmp, `${seq++}.qcow2`);
  const r = createImage('qcow2', f, size, opts);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return f;
}

function open(file: string, readOnly = false): { bs: BlockDriverState; n: Qcow2Node; graph: BlockGraph } {
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'qcow2', 'read-only': readOnly, file: { driver: 'file', filename: file } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bs: r.right, n: r.right.opaque as Qcow2Node, graph };
}

function check(bs: BlockDriverState, fix: CheckFix = { leaks: false, errors: false }): ImageCheckResult {
  const r = bs.drv.check!(bs.opaque, fix, acct());
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

/** An image with 64 KiB of 0x5a at guest 0: header, reftable, refblock, L1, L2 (cluster 4), data (cluster 5). */
function withData(opts: Record<string, unknown> = {}): string {
  const f = image(opts);
  const { bs, graph } = open(f);
  expect(bs.pwritev(0, new Uint8Array(CS).fill(0x5a), {}, acct())).toBeNull();
  graph.close();
  return f;
}

/** Set the refcount of host cluster `index` in the first refcount block, by hand (16-bit refcounts). */
function pokeRefcount(file: string, index: number, value: number): void {
  const fd = fs.openSync(file, 'r+');
  const hdr = Buffer.alloc(72);
  fs.readSync(fd, hdr, 0, 72, 0);
  const rt = Number(hdr.readBigUInt64BE(48));
  const ent = Buffer.alloc(8);
  fs.readSync(fd, ent, 0, 8, rt);
  const rb = Number(ent.readBigUInt64BE(0));
  const block = new Uint8Array(CS);
  fs.readSync(fd, block, 0, CS, rb);
  setRefcount(block, index, 4, value);
  fs.writeSync(fd, block, 0, CS, rb);
  fs.closeSync(fd);
}

function pokeU64(file: string, at: number, v: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, b, 0, 8, at);
  fs.closeSync(fd);
}

const clean = (r: ImageCheckResult): void => {
  expect({ corruptions: r.corruptions, leaks: r.leaks, checkErrors: r.checkErrors, messages: r.messages }).toEqual({ corruptions: 0, leaks: 0, checkErrors: 0, messages: [] });
};

describe('qcow2 check', () => {
  it('finds nothing wrong with a fresh image and fills the allocation info', () => {
    const { bs, graph } = open(withData());
    const r = check(bs);
    clean(r);
    expect(r.imageEndOffset).toBe(6 * CS);
    expect(r.totalClusters).toBe(64);
    expect(r.allocatedClusters).toBe(1);
    expect(r.fragmentedClusters).toBe(0);
    graph.close();
  });

  it('reports a cluster nothing references as leaked, and -r leaks frees it', () => {
    const { bs, n, graph } = open(withData());
    expect(allocClusters(n.s, CS, acct())).toBe(6 * CS);
    // A cluster past the end of the file is not seen (nor by QEMU): make the file cover it.
    expect(n.s.file.pwritev(6 * CS, new Uint8Array(CS), {}, acct())).toBeNull();
    const r = check(bs);
    expect(r.leaks).toBe(1);
    expect(r.corruptions).toBe(0);
    expect(r.messages).toEqual(['Leaked cluster 6 refcount=1 reference=0']);
    const f = check(bs, { leaks: true, errors: false });
    expect(f.leaksFixed).toBe(1);
    // As QEMU: the first comparison reports, the second (with the repair) repairs.
    expect(f.messages).toEqual(['Leaked cluster 6 refcount=1 reference=0', 'Repairing cluster 6 refcount=1 reference=0']);
    clean(check(bs));
    graph.close();
  });

  it('reports a refcount too high as a leak and the COPIED flag it contradicts', () => {
    const f = withData();
    pokeRefcount(f, 5, 2);
    const { bs, graph } = open(f);
    const r = check(bs);
    expect([r.corruptions, r.leaks]).toEqual([1, 1]);
    expect(r.messages).toEqual(['Leaked cluster 5 refcount=2 reference=1', 'ERROR OFLAG_COPIED data cluster: l2_entry=8000000000050000 refcount=2']);
    const fixed = check(bs, { leaks: true, errors: false });
    expect(fixed.leaksFixed).toBe(1);
    clean(check(bs));
    graph.close();
  });

  it('refuses to repair a refcount of 0 without -r all, and rebuilds the refcount structure with it', () => {
    const f = withData();
    pokeRefcount(f, 5, 0);
    const { bs, graph } = open(f);
    const r = check(bs);
    expect(r.messages).toEqual(['ERROR cluster 5 refcount=0 reference=1', 'ERROR OFLAG_COPIED data cluster: l2_entry=8000000000050000 refcount=0']);
    expect(r.corruptions).toBe(2);
    const leaksOnly = check(bs, { leaks: true, errors: false });
    expect(leaksOnly.checkErrors).toBe(1);
    expect(leaksOnly.messages).toContain('ERROR need to rebuild refcount structures');
    const all = check(bs, { leaks: true, errors: true });
    expect(all.messages).toContain('Rebuilding refcount structure');
    expect(all.corruptionsFixed).toBeGreaterThanOrEqual(1);
    const again = check(bs);
    expect([again.corruptions, again.checkErrors]).toEqual([0, 0]);
    // The old refcount structures were leaked by the rebuild and -r all freed them.
    expect(again.leaks).toBe(0);
    const data = new Uint8Array(CS);
    expect(bs.preadv(0, data, acct())).toBeNull();
    expect(data.every((b) => b === 0x5a)).toBe(true);
    graph.close();
  });

  it('reports misaligned and reserved-bit L2 entries in QEMU’s words', () => {
    const f = withData();
    pokeU64(f, 4 * CS, 0x8000000000050200n);
    pokeU64(f, 4 * CS + 8, 0x0000000000000002n);
    const { bs, graph } = open(f);
    const r = check(bs);
    expect(r.messages).toContain('ERROR offset=50200: Data cluster is not properly aligned; L2 entry corrupted.');
    expect(r.messages).toContain('ERROR found l2 entry with reserved bits set: 2');
    expect(r.corruptions).toBeGreaterThanOrEqual(2);
    graph.close();
  });

  it('repairs a dirty image (lazy refcounts) when it is opened writable, and clears the dirty bit', () => {
    const f = withData({ lazy_refcounts: true });
    pokeRefcount(f, 5, 0);
    pokeU64(f, 72, INCOMPAT_DIRTY);
    const ro = open(f, true);
    expect(ro.n.s.incompatibleFeatures & INCOMPAT_DIRTY).toBe(INCOMPAT_DIRTY);
    expect(check(ro.bs).corruptions).toBe(2);
    ro.graph.close();
    const rw = open(f);
    expect(rw.n.s.incompatibleFeatures & INCOMPAT_DIRTY).toBe(0n);
    clean(check(rw.bs));
    rw.graph.close();
    const hdr = fs.readFileSync(f).subarray(72, 80);
    expect(Buffer.from(hdr).readBigUInt64BE(0) & INCOMPAT_DIRTY).toBe(0n);
  });

  it('an overlap with metadata marks the image corrupt; check -r all clears the corrupt bit', () => {
    const f = withData();
    const { bs, n, graph } = open(f);
    const err = preWriteOverlapCheck(n.s, 0, 4 * CS + 100, 10, { list: [], size: 0 }, acct());
    expect(err?.message).toMatch(/qcow2: Marking image as corrupt: Preventing invalid write on metadata \(overlaps with active L2 table\)/);
    expect(n.s.incompatibleFeatures & INCOMPAT_CORRUPT).toBe(INCOMPAT_CORRUPT);
    const onDisk = (): bigint => {
      const b = new Uint8Array(8);
      expect(n.s.file.preadv(72, b, acct())).toBeNull();
      return Buffer.from(b).readBigUInt64BE(0);
    };
    expect(onDisk() & INCOMPAT_CORRUPT).toBe(INCOMPAT_CORRUPT);
    const r = check(bs, { leaks: true, errors: true });
    clean(r);
    expect(n.s.incompatibleFeatures & INCOMPAT_CORRUPT).toBe(0n);
    expect(onDisk() & INCOMPAT_CORRUPT).toBe(0n);
    graph.close();
    expect(Buffer.from(fs.readFileSync(f).subarray(72, 80)).readBigUInt64BE(0) & INCOMPAT_CORRUPT).toBe(0n);
  });

  it('a corrupt image opens read-only only, and the runtime message names the problem', () => {
    const f = withData();
    const { n, graph } = open(f);
    const e = signalCorruption(n.s, true, 'L2 table offset 0x123 unaligned (L1 index: 0)', acct());
    expect(e.message).toContain('Marking image as corrupt: L2 table offset 0x123 unaligned');
    graph.close();
    const g = new BlockGraph(newBlockEnv());
    const rw = g.blockdevAdd({ driver: 'qcow2', file: { driver: 'file', filename: f } });
    expect(E.isLeft(rw) && blockErrorMessage(rw.left)).toBe('qcow2: Image is corrupt; cannot be opened read/write');
    const ro = open(f, true);
    clean(check(ro.bs));
    ro.graph.close();
  });

  it('counts fragmented and compressed clusters, with 1-bit refcounts', () => {
    const f = image({ refcount_bits: 1, cluster_size: 512 });
    const { bs, graph } = open(f);
    // Guest clusters 14, 12, ..., 0: host clusters in the opposite order, each a fragment.
    for (let i = 7; i >= 0; i--) expect(bs.pwritev(i * 1024, new Uint8Array(512).fill(i + 1), {}, acct())).toBeNull();
    expect(bs.writeCompressed(1024 * 9, new Uint8Array(512).fill(7), acct())).toBeNull();
    const r = check(bs);
    clean(r);
    expect(r.allocatedClusters).toBe(9);
    expect(r.compressedClusters).toBe(1);
    expect(r.fragmentedClusters).toBe(8);
    graph.close();
  });
});
