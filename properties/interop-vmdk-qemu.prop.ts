/**
 * Interop with the real qemu-img / qemu-io on VMDK images, every subformat qemu-img
 * creates (monolithicSparse, monolithicFlat, twoGbMaxExtentSparse/Flat, streamOptimized),
 * zeroed grains and backing files (parentFileNameHint):
 * - images qemu-img makes and qemu-io fills at unaligned offsets read back through iopath
 *   byte for byte as `qemu-img convert -O raw` exports them;
 * - images iopath creates and writes pass `qemu-img check`, and `qemu-img compare` finds
 *   them identical to a raw file of the same writes.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../host/storage/errors.js';
import type { BlockDriverState } from '../host/storage/node.js';
import { createImage, openBlockGraph, type OpenedDrive } from '../host/storage/open.js';
import { newBlockEnv } from '../host/storage/testing.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const dir = mkdtempSync(join(tmpdir(), 'iopath-vmdk-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 1 << 20;
const SIZE = 5 * MiB + 7 * 512;
const RUNS = process.env.IOPATH_DEEP === '1' ? 30 : 5;
let seq = 0;

function open(image: string, readonly: boolean): OpenedDrive {
  const d = openBlockGraph(newBlockEnv(), { drive: { file: image, readonly } });
  if (E.isLeft(d)) throw new Error(blockErrorMessage(d.left));
  expect(d.right.blk.root.drv.formatName).toBe('vmdk');
  return d.right;
}

function read(root: BlockDriverState, off: number, len: number): Buffer {
  const b = new Uint8Array(len);
  expect(root.preadv(off, b, { ns: 0 })).toBeNull();
  return Buffer.from(b);
}

function readRaw(file: string, off: number, len: number): Buffer {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(len);
  readSync(fd, b, 0, len, off);
  closeSync(fd);
  return b;
}

const writeArb = (size: number) => fc.record({ off: fc.integer({ min: 0, max: size - 1 }), len: fc.integer({ min: 1, max: 300_000 }), fill: fc.integer({ min: 1, max: 255 }) });
const clip = (w: { off: number; len: number }, size: number) => Math.min(w.len, size - w.off);

describe.skipIf(!enabled)('vmdk images qemu-img made, read through iopath', () => {
  it.each(['monolithicSparse', 'monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'])('%s: what qemu-io wrote reads back as qemu-img exports it (property)', (sub) => {
    fc.assert(
      fc.property(fc.array(writeArb(SIZE), { minLength: 1, maxLength: 5 }), (writes) => {
        const img = join(dir, `q${seq++}.vmdk`);
        runPeer('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', `subformat=${sub}`, img, String(SIZE)]);
        runPeer('qemu-io', ['-f', 'vmdk', ...writes.flatMap((w) => ['-c', `write -P ${w.fill} ${w.off} ${clip(w, SIZE)}`]), img]);
        runPeer('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', img, `${img}.raw`]);
        const d = open(img, true);
        expect(read(d.blk.root, 0, SIZE).equals(readFileSync(`${img}.raw`))).toBe(true);
        d.graph.close();
      }),
      { numRuns: RUNS },
    );
  });

  it.each(['twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'])('%s over 2 GiB: writes across the extent boundary read back in both extents', (sub) => {
    const size = 2048 * MiB + 3 * MiB;
    const img = join(dir, `big${seq++}.vmdk`);
    runPeer('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', `subformat=${sub}`, img, String(size)]);
    const at = 2048 * MiB - 70_001;
    runPeer('qemu-io', ['-f', 'vmdk', '-c', `write -P 0x3c ${at} 140000`, '-c', `write -P 0x11 ${size - 1000} 1000`, '-c', 'write -P 0x22 513 1000', img]);
    runPeer('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', img, `${img}.raw`]);
    const d = open(img, true);
    expect(d.blk.length()).toBe(size);
    for (const [off, len] of [[0, 4096], [at - 5000, 150_000], [size - 70_000, 70_000]]) {
      expect(read(d.blk.root, off, len).equals(readRaw(`${img}.raw`, off, len))).toBe(true);
    }
    expect(read(d.blk.root, at, 140000).every((b) => b === 0x3c)).toBe(true);
    d.graph.close();
  });

  it('streamOptimized: a compressed image qemu-img convert wrote reads back as the raw source', () => {
    const raw = join(dir, `src${seq++}.raw`);
    runPeer('qemu-img', ['create', '-q', '-f', 'raw', raw, String(SIZE)]);
    runPeer('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 1000 200000', '-c', `write -P 0xa5 ${SIZE - 3000} 3000`, raw]);
    const img = `${raw}.vmdk`;
    runPeer('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, img]);
    const d = open(img, true);
    expect(read(d.blk.root, 0, SIZE).equals(readFileSync(raw))).toBe(true);
    const info = d.blk.root.drv.info!(d.blk.root.opaque);
    expect(info.formatSpecific?.data['create-type']).toBe('streamOptimized');
    d.graph.close();
  });

  it('a linked clone reads its own grains, and its backing image (parentFileNameHint) elsewhere', () => {
    const base = join(dir, `base${seq++}.vmdk`);
    runPeer('qemu-img', ['create', '-q', '-f', 'vmdk', base, String(SIZE)]);
    runPeer('qemu-io', ['-f', 'vmdk', '-c', 'write -P 0x61 0 300000', base]);
    const top = join(dir, `top${seq++}.vmdk`);
    runPeer('qemu-img', ['create', '-q', '-f', 'vmdk', '-b', base, '-F', 'vmdk', top]);
    runPeer('qemu-io', ['-f', 'vmdk', '-c', 'write -P 0x62 70000 1000', top]);
    runPeer('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', top, `${top}.raw`]);
    const d = open(top, true);
    expect(read(d.blk.root, 0, SIZE).equals(readFileSync(`${top}.raw`))).toBe(true);
    expect(d.blk.root.drv.info!(d.blk.root.opaque)).toMatchObject({ backingFilename: base, backingFormat: 'vmdk' });
    d.graph.close();
  });
});

describe.skipIf(!enabled)('vmdk images iopath made, checked by qemu-img', () => {
  const kinds: [string, Record<string, unknown>][] = [
    ['monolithicSparse', {}],
    ['monolithicSparse, zeroed_grain', { zeroed_grain: true }],
    ['monolithicFlat', { subformat: 'monolithicFlat' }],
    ['twoGbMaxExtentSparse', { subformat: 'twoGbMaxExtentSparse' }],
    ['twoGbMaxExtentFlat', { subformat: 'twoGbMaxExtentFlat' }],
  ];
  it.each(kinds)('%s: writes and write-zeroes pass qemu-img check and compare equal to raw (property)', (_name, opts) => {
    const op = fc.record({ off: fc.integer({ min: 0, max: SIZE - 1 }), len: fc.integer({ min: 1, max: 300_000 }), fill: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 6 }), (ops) => {
        const img = join(dir, `w${seq++}.vmdk`);
        const made = createImage('vmdk', img, SIZE, opts);
        if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
        const d = open(img, false);
        const model = new Uint8Array(SIZE);
        for (const o of ops) {
          const len = clip(o, SIZE);
          // fill 0 means write-zeroes
          if (o.fill === 0) expect(d.blk.root.writeZeroes(o.off, len, {}, { ns: 0 })).toBeNull();
          else expect(d.blk.root.pwritev(o.off, new Uint8Array(len).fill(o.fill), {}, { ns: 0 })).toBeNull();
          model.fill(o.fill, o.off, o.off + len);
        }
        d.graph.close();
        runPeer('qemu-img', ['check', '-f', 'vmdk', img]);
        writeFileSync(`${img}.ref`, model);
        runPeer('qemu-img', ['compare', '-f', 'vmdk', '-F', 'raw', img, `${img}.ref`]);
      }),
      { numRuns: RUNS },
    );
  });

  it('streamOptimized: whole grains written in order pass check and compare; partial or repeated grains are refused', () => {
    const img = join(dir, `s${seq++}.vmdk`);
    const made = createImage('vmdk', img, SIZE, { subformat: 'streamOptimized' });
    if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
    const d = open(img, false);
    const model = new Uint8Array(SIZE);
    const g = 65536;
    for (const [i, fill] of [[0, 1], [3, 2], [Math.floor(SIZE / g), 3]] as const) {
      const len = Math.min(g, SIZE - i * g);
      const data = new Uint8Array(len).map((_, j) => (j * fill) & 0xff);
      expect(d.blk.root.pwritev(i * g, data, {}, { ns: 0 })).toBeNull();
      model.set(data, i * g);
    }
    expect(d.blk.root.pwritev(g + 512, new Uint8Array(512), {}, { ns: 0 })?.errno).toBe('EINVAL');
    expect(d.blk.root.pwritev(0, new Uint8Array(g), {}, { ns: 0 })?.errno).toBe('EIO');
    d.graph.close();
    runPeer('qemu-img', ['check', '-f', 'vmdk', img]);
    writeFileSync(`${img}.ref`, model);
    runPeer('qemu-img', ['compare', '-f', 'vmdk', '-F', 'raw', img, `${img}.ref`]);
  });

  it('an overlay iopath creates over a vmdk base (backing_file) is a linked clone qemu-img follows', () => {
    const base = join(dir, `b${seq++}.vmdk`);
    runPeer('qemu-img', ['create', '-q', '-f', 'vmdk', base, String(SIZE)]);
    runPeer('qemu-io', ['-f', 'vmdk', '-c', 'write -P 0x71 0 200000', base]);
    const top = join(dir, `t${seq++}.vmdk`);
    const made = createImage('vmdk', top, SIZE, { backing_file: base, backing_fmt: 'vmdk' });
    if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
    const d = open(top, false);
    expect(d.blk.root.pwritev(100_001, new Uint8Array(3).fill(0x72), {}, { ns: 0 })).toBeNull();
    d.graph.close();
    runPeer('qemu-img', ['check', top]);
    const model = new Uint8Array(SIZE);
    model.fill(0x71, 0, 200000);
    model.fill(0x72, 100_001, 100_004);
    writeFileSync(`${top}.ref`, model);
    runPeer('qemu-img', ['compare', '-F', 'raw', top, `${top}.ref`]);
    const info = JSON.parse(runPeer('qemu-img', ['info', '--output=json', top])) as Record<string, unknown>;
    expect(info['backing-filename']).toBe(base);
  });
});
