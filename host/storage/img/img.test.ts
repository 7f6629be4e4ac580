import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { BDRV_BLOCK_DATA, BDRV_BLOCK_ZERO, type BlockDriver } from '../driver.js';
import { BlockGraph } from '../graph.js';
import type { BlockDriverState } from '../node.js';
import type { OptionTable } from '../options.js';
import { registerBlockDriver } from '../registry.js';
import { memoryDrive, newBlockEnv } from '../testing.js';
import { mapImage, statusAbove } from './block-status.js';
import { changeBacking, commitInto, rebaseCopy } from './commit.js';
import { compareImages } from './compare.js';
import { convertImages } from './convert.js';
import { fullBackingFilename } from './image.js';
import { allocatedRun, allocatedRunMin } from './sparse.js';

/**
 * A minimal copy-on-write format for these tests: 64 KiB clusters held in memory, reads
 * of unallocated clusters go to the `backing` child. It declares `backing_file` among its
 * create options, which is how the image tools know a format supports backing files.
 */
const CL = 65536;
interface CowState { size: number; data: Map<number, Uint8Array>; backing?: BlockDriverState; backingName?: string }
const COW_OPTS = { size: { type: 'size', required: true, help: 'size' } } as const satisfies OptionTable;
const cow: BlockDriver<CowState, typeof COW_OPTS> = {
  formatName: 'img-test-cow',
  options: COW_OPTS,
  createOptions: { backing_file: { type: 'string', help: 'backing' } },
  open(opts, ctx) {
    return E.map((backing: BlockDriverState | undefined) => ({ size: opts.size, data: new Map(), backing }))(ctx.openOptionalChild('backing'));
  },
  preadv(s, offset, buf, acct) {
    for (let i = 0; i < buf.length; ) {
      const c = Math.floor((offset + i) / CL);
      const within = (offset + i) % CL;
      const n = Math.min(buf.length - i, CL - within);
      const own = s.data.get(c);
      if (own) buf.set(own.subarray(within, within + n), i);
      else if (s.backing) {
        const err = s.backing.preadv(offset + i, buf.subarray(i, i + n), acct);
        if (err) return err;
      } else buf.fill(0, i, i + n);
      i += n;
    }
    return null;
  },
  pwritev(s, offset, data) {
    for (let i = 0; i < data.length; ) {
      const c = Math.floor((offset + i) / CL);
      const within = (offset + i) % CL;
      const n = Math.min(data.length - i, CL - within);
      let own = s.data.get(c);
      if (!own) {
        own = new Uint8Array(CL);
        if (s.backing) s.backing.preadv(c * CL, own, { ns: 0 });
        s.data.set(c, own);
      }
      own.set(data.subarray(i, i + n), within);
      i += n;
    }
    return null;
  },
  blockStatus(s, offset, bytes) {
    const c = Math.floor(offset / CL);
    const has = s.data.has(c);
    let end = (c + 1) * CL;
    while (end < offset + bytes && s.data.has(end / CL) === has) end += CL;
    return { flags: has ? BDRV_BLOCK_DATA : 0, pnum: Math.min(end, offset + bytes) - offset };
  },
  makeEmpty(s) {
    s.data.clear();
    return null;
  },
  changeBackingFile(s, name) {
    s.backingName = name;
    return null;
  },
  getLength: (s) => s.size,
  close() {},
};
registerBlockDriver(cow);

function memDisk(size: number, writes: Array<[number, number, number]> = []): BlockDriverState {
  const bs = memoryDrive(newBlockEnv(), { size }).blk.root;
  for (const [off, len, v] of writes) bs.pwritev(off, new Uint8Array(len).fill(v), {}, { ns: 0 });
  return bs;
}

/** top (img-test-cow) over a raw memory disk. */
function chain(size: number): { top: BlockDriverState; base: BlockDriverState } {
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'img-test-cow', size, backing: { driver: 'raw', 'node-name': 'base', file: { driver: 'memory', size } } });
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return { top: r.right, base: graph.node('base')! };
}

const read = (bs: BlockDriverState, off: number, len: number): Uint8Array => {
  const b = new Uint8Array(len);
  expect(bs.preadv(off, b, { ns: 0 })).toBeNull();
  return b;
};

describe('map', () => {
  it('merges runs and reports holes of a memory disk as zeroes with their offsets', () => {
    const bs = memDisk(1 << 20, [[0, 8192, 1], [8192, 4096, 2], [65536, 4096, 3]]);
    expect(mapImage(bs)).toEqual([
      { start: 0, length: 12288, depth: 0, present: true, zero: false, data: true, offset: 0 },
      { start: 12288, length: 53248, depth: 0, present: true, zero: true, data: false, offset: 12288 },
      { start: 65536, length: 4096, depth: 0, present: true, zero: false, data: true, offset: 65536 },
      { start: 69632, length: 978944, depth: 0, present: true, zero: true, data: false, offset: 69632 },
    ]);
  });

  it('follows the backing chain (depth) and reads unallocated-everywhere as zeroes only with no backing file', () => {
    const { top, base } = chain(4 * CL);
    base.pwritev(0, new Uint8Array(CL).fill(9), {}, { ns: 0 });
    top.pwritev(2 * CL, new Uint8Array(10).fill(7), {}, { ns: 0 });
    const m = mapImage(top);
    expect(m.map((e) => [e.start, e.length, e.depth, e.data, e.zero])).toEqual([
      [0, CL, 1, true, false],
      [CL, CL, 1, false, true],
      [2 * CL, CL, 0, true, false],
      [3 * CL, CL, 1, false, true],
    ]);
    expect(statusAbove(top, CL, CL).flags & BDRV_BLOCK_ZERO).toBeTruthy();
  });
});

describe('compare', () => {
  it('finds the first differing sector, and accepts a longer image whose extra part is zero', () => {
    const a = memDisk(1 << 20, [[0, 4096, 1]]);
    const b = memDisk(2 << 20, [[0, 4096, 1], [5000, 1, 2]]);
    expect(compareImages({ bs: a, name: 'a' }, { bs: b, name: 'b' })).toEqual(E.right({ _tag: 'Mismatch', offset: 4608, sizeMismatch: false }));
    const c = memDisk(2 << 20, [[0, 4096, 1]]);
    expect(compareImages({ bs: a, name: 'a' }, { bs: c, name: 'c' })).toEqual(E.right({ _tag: 'Identical', sizeMismatch: true }));
    expect(compareImages({ bs: a, name: 'a' }, { bs: c, name: 'c' }, true)).toEqual(E.right({ _tag: 'StrictSize' }));
    c.pwritev((1 << 20) + 1000, new Uint8Array([1]), {}, { ns: 0 });
    expect(compareImages({ bs: a, name: 'a' }, { bs: c, name: 'c' })).toEqual(E.right({ _tag: 'Mismatch', offset: (1 << 20) + 512, sizeMismatch: true }));
  });
});

describe('convert', () => {
  it('copies concatenated sources; on a new target zero runs are not written', () => {
    const s1 = memDisk(65536, [[100, 10, 5]]);
    const s2 = memDisk(65536, [[0, 8192, 6]]);
    const t = memDisk(131072);
    expect(convertImages([s1, s2], t, { targetIsNew: true })).toEqual(E.right(undefined));
    expect(read(t, 0, 131072)).toEqual(new Uint8Array([...read(s1, 0, 65536), ...read(s2, 0, 65536)]));
    // Only the 4 KiB holding s1's bytes and s2's 8 KiB were written: the rest is still unallocated.
    expect(mapImage(t).filter((e) => e.data).map((e) => [e.start, e.length])).toEqual([[0, 4096], [65536, 8192]]);
  });

  it('-S 0 writes everything; an existing target (-n) gets its zeroes written', () => {
    const s = memDisk(65536, [[0, 512, 1]]);
    const full = memDisk(65536);
    convertImages([s], full, { targetIsNew: true, minSparse: 0 });
    expect(mapImage(full).every((e) => e.data)).toBe(true);
    const old = memDisk(65536, [[30000, 100, 0xee]]);
    convertImages([s], old, { targetIsNew: false });
    expect(read(old, 0, 65536)).toEqual(read(s, 0, 65536));
  });

  it('refuses -c when the target driver cannot write compressed', () => {
    expect(E.isLeft(convertImages([memDisk(512)], memDisk(512), { targetIsNew: true, compressed: true }))).toBe(true);
  });

  it('sparse detection keeps small holes inside data and aligns run ends', () => {
    const buf = new Uint8Array(16 * 512);
    buf.fill(1, 0, 512);
    buf.fill(1, 3 * 512, 4 * 512);
    expect(allocatedRun(buf, 0, 16, 0, 1)).toEqual({ data: true, sectors: 1 });
    expect(allocatedRun(buf, 0, 16, 0, 8)).toEqual({ data: true, sectors: 8 });
    expect(allocatedRunMin(buf, 16, 8, 0, 1)).toEqual({ data: true, sectors: 4 });
    expect(allocatedRun(buf, 4, 12, 4, 1)).toEqual({ data: false, sectors: 12 });
  });
});

describe('commit and rebase', () => {
  it('commit copies the top image into its backing file', () => {
    const { top, base } = chain(2 * CL);
    top.pwritev(CL + 5, new Uint8Array([1, 2, 3]), {}, { ns: 0 });
    expect(commitInto(top, base)).toEqual(E.right(undefined));
    expect(read(base, CL, 8)).toEqual(new Uint8Array([0, 0, 0, 0, 0, 1, 2, 3]));
  });

  it('a safe rebase onto nothing first copies what the old backing file showed', () => {
    const { top, base } = chain(2 * CL);
    base.pwritev(CL, new Uint8Array(700).fill(4), {}, { ns: 0 });
    const before = read(top, 0, 2 * CL);
    expect(rebaseCopy(top, { oldBacking: base, newBacking: undefined })).toEqual(E.right(undefined));
    expect((top.opaque as CowState).data.size).toBe(1);
    expect(changeBacking(top, undefined, undefined)).toEqual(E.right(undefined));
    (top.opaque as CowState).backing = undefined;
    expect(read(top, 0, 2 * CL)).toEqual(before);
  });
});

describe('backing file names', () => {
  it('are resolved against the directory of the image naming them', () => {
    expect(fullBackingFilename('q.qcow2', 'b.raw')).toEqual(E.right('b.raw'));
    expect(fullBackingFilename('sub/q.qcow2', 'b.raw')).toEqual(E.right('sub/b.raw'));
    expect(fullBackingFilename('/x/y/q.qcow2', '../b.raw')).toEqual(E.right('/x/y/../b.raw'));
    expect(fullBackingFilename('sub/q.qcow2', '/abs/b.raw')).toEqual(E.right('/abs/b.raw'));
    expect(fullBackingFilename('sub/q.qcow2', 'nbd:host:10809')).toEqual(E.right('nbd:host:10809'));
  });
});
