import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../../../errors.js';
import { BlockGraph } from '../../../graph.js';
import type { ImageCheckResult } from '../../../image-api.js';
import type { BlockDriverState } from '../../../node.js';
import { createImage } from '../../../open.js';
import { newBlockEnv } from '../../../testing.js';
import type { Qcow2Node } from '../driver.js';
import { AUTOCLEAR_BITMAPS } from '../format/features.js';
import { flushCaches, updateHeader } from '../header-update.js';
import { allocClusters } from '../refcounts.js';
import { isIoError, type Qcow2State } from '../state.js';
import { DirtyBitmap } from './dirty.js';
import { BME_FLAG_AUTO, BME_FLAG_IN_USE, bitmapTableSize, encodeDirectory, encodeTable } from './format.js';
import { loadBitmapData, loadBitmaps } from './load.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-qcow2-bitmaps-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const acct = () => ({ ns: 0 });
const DISK = 8 << 20;

function open(file: string, readOnly = false): { bs: BlockDriverState; s: Qcow2State; graph: BlockGraph } {
  const graph = new BlockGraph(newBlockEnv());
  // discard=unmap: a discard the node ignores (QEMU's default) reaches no driver and sets no bit.
  const r = graph.blockdevAdd({ driver: 'qcow2', 'read-only': readOnly, discard: 'unmap', file: { driver: 'file', filename: file } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bs: r.right, s: (r.right.opaque as Qcow2Node).s, graph };
}

/** A fresh image with empty bitmaps (name, granularity bits, flags) made by hand, as qemu-img bitmap --add stores them. */
function imageWithBitmaps(cluster: number, bitmaps: Array<[string, number, number]>): string {
  const f = path.join(tmp, `${seq++}.qcow2`);
  const made = createImage('qcow2', f, DISK, { cluster_size: cluster });
  if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
  const { s, graph } = open(f);
  const entries = bitmaps.map(([name, g, flags]) => {
    const n = bitmapTableSize({ clusterSize: cluster, diskSize: DISK }, g);
    const t = allocClusters(s, n * 8, acct());
    if (isIoError(t)) throw new Error(t.message);
    expect(s.file.pwritev(t, encodeTable(new Array(n).fill(0)), {}, acct())).toBeNull();
    return { tableOffset: t, tableSize: n, flags, type: 1, granularityBits: g, name: new TextEncoder().encode(name) };
  });
  const dir = encodeDirectory(entries);
  const d = allocClusters(s, dir.length, acct());
  if (isIoError(d)) throw new Error(d.message);
  expect(s.file.pwritev(d, dir, {}, acct())).toBeNull();
  expect(flushCaches(s, acct())).toBeNull();
  s.bitmaps = { nbBitmaps: entries.length, directorySize: dir.length, directoryOffset: d };
  s.autoclearFeatures |= AUTOCLEAR_BITMAPS;
  expect(updateHeader(s, acct())).toBeNull();
  graph.close();
  return f;
}

function check(bs: BlockDriverState): ImageCheckResult {
  const r = bs.drv.check!(bs.opaque, { leaks: false, errors: false }, acct());
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

/** Each bitmap of the image as [name, flags, dirty granules as [start, end) byte ranges]. */
function bitmapsOf(file: string): Array<[string, number, Array<[number, number]>]> {
  const { s, graph } = open(file, true);
  const img = { file: s.file, clusterSize: s.clusterSize, diskSize: s.size };
  const loaded = s.bitmaps ? loadBitmaps(img, s.bitmaps, acct()) : E.right([]);
  if (E.isLeft(loaded)) throw new Error(loaded.left);
  const out = loaded.right.map((l): [string, number, Array<[number, number]>] => {
    const bm = loadBitmapData(img, l, acct());
    if (isIoError(bm)) throw new Error(bm.message);
    const g = 2 ** l.entry.granularityBits;
    const runs: Array<[number, number]> = [];
    for (let o = 0; o < bm.diskSize; o += g) {
      if (!bm.isDirty(o)) continue;
      const last = runs[runs.length - 1];
      if (last && last[1] === o) last[1] = o + g;
      else runs.push([o, o + g]);
    }
    return [new TextDecoder().decode(l.entry.name), l.entry.flags, runs];
  });
  graph.close();
  return out;
}

describe('qcow2 persistent bitmaps kept true', () => {
  it('writes set the bits of enabled bitmaps; close stores them and leaves the image sound', () => {
    const f = imageWithBitmaps(65536, [['on', 16, BME_FLAG_AUTO], ['off', 16, 0], ['fine', 9, BME_FLAG_AUTO]]);
    const { bs, s, graph } = open(f);
    // Open for writing: every bitmap marked in use on disk before anything is written.
    expect(bitmapsOf(f).map(([n, fl]) => [n, fl])).toEqual([['on', BME_FLAG_AUTO | BME_FLAG_IN_USE], ['off', BME_FLAG_IN_USE], ['fine', BME_FLAG_AUTO | BME_FLAG_IN_USE]]);
    expect(s.autoclearFeatures & AUTOCLEAR_BITMAPS).toBe(AUTOCLEAR_BITMAPS);
    expect(bs.pwritev(100, new Uint8Array(10), {}, acct())).toBeNull();
    expect(bs.writeZeroes(3 << 20, 70000, {}, acct())).toBeNull();
    expect(bs.discard(6 << 20, 65536, acct())).toBeNull();
    graph.close();
    expect(bitmapsOf(f)).toEqual([
      ['on', BME_FLAG_AUTO, [[0, 65536], [3 << 20, (3 << 20) + 131072], [6 << 20, (6 << 20) + 65536]]],
      ['off', 0, []],
      ['fine', BME_FLAG_AUTO, [[0, 512], [3 << 20, (3 << 20) + 70144], [6 << 20, (6 << 20) + 65536]]],
    ]);
    const ro = open(f, true);
    const c = check(ro.bs);
    expect([c.corruptions, c.leaks, c.checkErrors, c.messages]).toEqual([0, 0, 0, []]);
    expect(ro.bs.drv.info!(ro.bs.opaque).formatSpecific?.data.bitmaps).toEqual([
      { flags: ['auto'], name: 'on', granularity: 65536 },
      { flags: [], name: 'off', granularity: 65536 },
      { flags: ['auto'], name: 'fine', granularity: 512 },
    ]);
    ro.graph.close();
    // A second session adds to what the first stored, and frees what it replaces.
    const again = open(f);
    expect(again.bs.pwritev((8 << 20) - 1, new Uint8Array(1), {}, acct())).toBeNull();
    again.graph.close();
    expect(bitmapsOf(f)[0][2]).toEqual([[0, 65536], [3 << 20, (3 << 20) + 131072], [6 << 20, (6 << 20) + 65536], [(8 << 20) - 65536, 8 << 20]]);
    const ro2 = open(f, true);
    expect(check(ro2.bs).leaks).toBe(0);
    ro2.graph.close();
  });

  it('after a power cut a bitmap stays in use (inconsistent), its clusters referenced; such a disk is not resized', () => {
    const f = imageWithBitmaps(512, [['b', 12, BME_FLAG_AUTO]]);
    const { bs, graph } = open(f);
    expect(bs.pwritev(0, new Uint8Array(512), {}, acct())).toBeNull();
    expect(bs.flush(acct())).toBeNull();
    graph.powerCut();
    graph.close();
    expect(bitmapsOf(f).map(([n, fl]) => [n, fl])).toEqual([['b', BME_FLAG_AUTO | BME_FLAG_IN_USE]]);
    const second = open(f);
    expect(second.bs.truncate(2 * DISK)?.message).toBe("Bitmap 'b' is inconsistent and cannot be used\nTry block-dirty-bitmap-remove to delete this bitmap from disk".replace(/^/, `${second.bs.nodeName}: `));
    second.graph.close();
    const ro = open(f, true);
    const c = check(ro.bs);
    expect([c.corruptions, c.leaks, c.messages]).toEqual([0, 0, []]);
    expect(ro.bs.drv.info!(ro.bs.opaque).formatSpecific?.data.bitmaps).toEqual([{ flags: ['in-use', 'auto'], name: 'b', granularity: 4096 }]);
    ro.graph.close();
  });

  it('a resize takes the bitmaps along: bits past a shrunk end dropped, a grown end clean', () => {
    const f = imageWithBitmaps(65536, [['b', 16, BME_FLAG_AUTO]]);
    const { bs, graph } = open(f);
    expect(bs.pwritev(DISK - 200_000, new Uint8Array(200_000), {}, acct())).toBeNull();
    expect(bs.truncate(DISK - 65536 - 512)).toBeNull();
    expect(bs.truncate(2 * DISK)).toBeNull();
    graph.close();
    expect(bitmapsOf(f)).toEqual([['b', BME_FLAG_AUTO, [[DISK - 262144, DISK - 65536]]]]);
    const ro = open(f, true);
    expect(ro.bs.getLength()).toBe(2 * DISK);
    expect(check(ro.bs).leaks).toBe(0);
    ro.graph.close();
  });
});

describe('a dirty bitmap in memory', () => {
  it('sets whole granules, clamps at the end of the disk, and stores only chunks with bits set', () => {
    const bm = new DirtyBitmap(10_000, 9, 512, true);
    expect(bm.bits).toBe(20);
    bm.markDirty(511, 2);
    bm.markDirty(9_999, 100);
    expect([0, 511, 512, 1023, 1024, 9_728].map((o) => bm.isDirty(o))).toEqual([true, true, true, true, false, true]);
    expect(Array.from(bm.stored(0)!.subarray(0, 4))).toEqual([0b11, 0, 0b1000, 0]);
    expect(bm.stored(1)).toBeUndefined();
    const off = new DirtyBitmap(10_000, 9, 512, false);
    off.markDirty(0, 10_000);
    expect(off.stored(0)).toBeUndefined();
  });

  it('loads stored chunks and all-ones entries with the tail bits past the disk clear', () => {
    const bm = new DirtyBitmap(10_000, 9, 512, false);
    bm.load(0, 'ones');
    expect(Array.from(bm.stored(0)!.subarray(0, 4))).toEqual([0xff, 0xff, 0x0f, 0]);
    const b2 = new DirtyBitmap(10_000, 9, 512, true);
    b2.load(0, new Uint8Array(512).fill(0xff));
    expect(Array.from(b2.stored(0)!.subarray(0, 4))).toEqual([0xff, 0xff, 0x0f, 0]);
    b2.load(0, new Uint8Array(512));
    expect(b2.stored(0)).toBeUndefined();
    // 64 KiB clusters at 512-byte granules: one chunk covers 256 MiB.
    const big = new DirtyBitmap(2 ** 30, 9, 65536, true);
    big.markDirty(2 ** 28, 1);
    expect([big.chunkCount, big.stored(0), big.isDirty(2 ** 28)]).toEqual([4, undefined, true]);
  });
});
