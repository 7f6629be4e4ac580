import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO } from '../../driver.js';
import { blockErrorMessage, type BlockError } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import type { BlockDriverState } from '../../node.js';
import { createImage, openBlockGraph } from '../../open.js';
import { newBlockEnv } from '../../testing.js';
import { VDI_BLOCK_SIZE, decodeVdiHeader, encodeVdiHeader, type VdiHeader } from './header.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-vdi-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const acct = () => ({ ns: 0 });
const MiB = 1 << 20;

const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'ok');

function created(size: number, opts: Record<string, unknown> = {}): string {
  const f = path.join(tmp, `i${seq++}.vdi`);
  const r = createImage('vdi', f, size, opts);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return f;
}

/** The bytes of an image as a memory node 'f' in a fresh graph, and a vdi node over it. */
function overMemory(bytes: Uint8Array, extra = 0): { graph: BlockGraph; file: BlockDriverState; open: () => E.Either<BlockError, BlockDriverState> } {
  const graph = new BlockGraph(newBlockEnv());
  const file = graph.blockdevAdd({ driver: 'memory', 'node-name': 'f', size: bytes.length + extra });
  if (E.isLeft(file)) throw new Error(message(file));
  expect(file.right.pwritev(0, bytes, {}, acct())).toBeNull();
  return { graph, file: file.right, open: () => graph.blockdevAdd({ driver: 'vdi', file: 'f' }) };
}

function withHeader(f: string, patch: (h: VdiHeader) => VdiHeader): Uint8Array {
  const bytes = new Uint8Array(fs.readFileSync(f));
  bytes.set(encodeVdiHeader(patch(decodeVdiHeader(bytes))));
  return bytes;
}

function readAll(bs: BlockDriverState): Uint8Array {
  const b = new Uint8Array(bs.getLength());
  expect(bs.preadv(0, b, acct())).toBeNull();
  return b;
}

describe('vdi driver', () => {
  it('is probed from its signature, opens at the created size (rounded to a sector) with 1 MiB clusters', () => {
    const f = created(5 * MiB + 1000);
    const d = openBlockGraph(newBlockEnv(), { drive: { file: f } });
    if (E.isLeft(d)) throw new Error(message(d));
    const root = d.right.blk.root;
    expect(root.drv.formatName).toBe('vdi');
    expect(root.getLength()).toBe(5 * MiB + 1024);
    expect(root.drv.info?.(root.opaque)).toEqual({ clusterSize: MiB });
    expect(root.blockStatus(0, 10 * MiB)).toMatchObject({ flags: BDRV_BLOCK_ZERO | 0x10, pnum: MiB });
    d.right.graph.close();
  });

  it('appends a zero-filled block on the first write to it and records it in the header and block map', () => {
    const f = created(4 * MiB);
    const { graph, file, open } = overMemory(fs.readFileSync(f));
    const r = open();
    if (E.isLeft(r)) throw new Error(message(r));
    const vdi = r.right;
    expect(vdi.pwritev(3 * MiB + 5, new Uint8Array([1, 2, 3]), {}, acct())).toBeNull();
    expect(vdi.pwritev(MiB - 1, new Uint8Array([9, 9]), {}, acct())).toBeNull();
    const head = new Uint8Array(0x400);
    file.preadv(0, head, acct());
    const h = decodeVdiHeader(head);
    expect(h.blocksAllocated).toBe(3);
    const map = new DataView(head.buffer, 0x200, 16);
    expect([0, 1, 2, 3].map((i) => map.getUint32(i * 4, true))).toEqual([1, 2, 0xffffffff, 0]);
    expect(file.getLength()).toBe(0x400 + 3 * MiB);
    const st = vdi.blockStatus(3 * MiB, MiB);
    expect(st).toMatchObject({ flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | 0x10, map: 0x400, pnum: MiB });
    const again = graph.blockdevAdd({ driver: 'vdi', file: 'f' });
    if (E.isLeft(again)) throw new Error(message(again));
    const all = readAll(again.right);
    expect([...all.subarray(3 * MiB + 4, 3 * MiB + 9)]).toEqual([0, 1, 2, 3, 0]);
    expect([...all.subarray(MiB - 2, MiB + 2)]).toEqual([0, 9, 9, 0]);
    graph.close();
  });

  it('a static image maps every block from the start and never grows', () => {
    const f = created(3 * MiB, { static: true });
    expect(fs.statSync(f).size).toBe(0x400 + 3 * MiB);
    const { graph, file, open } = overMemory(fs.readFileSync(f));
    const r = open();
    if (E.isLeft(r)) throw new Error(message(r));
    expect(r.right.pwritev(2 * MiB, new Uint8Array(MiB).fill(4), {}, acct())).toBeNull();
    expect(file.getLength()).toBe(0x400 + 3 * MiB);
    expect(r.right.blockStatus(0, 1)).toMatchObject({ flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | 0x10, map: 0x400 });
    graph.close();
  });

  it('reads and writes any range like a flat byte array, also after reopening (property)', () => {
    const size = 3 * MiB + 512;
    const base = fs.readFileSync(created(size));
    const op = fc.record({ off: fc.integer({ min: 0, max: size - 1 }), len: fc.integer({ min: 1, max: 1.5 * MiB }), fill: fc.integer({ min: 1, max: 255 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), (ops) => {
        const { graph, open } = overMemory(base);
        const r = open();
        if (E.isLeft(r)) throw new Error(message(r));
        const model = new Uint8Array(size);
        for (const o of ops) {
          const len = Math.min(o.len, size - o.off);
          const data = new Uint8Array(len).fill(o.fill);
          expect(r.right.pwritev(o.off, data, {}, acct())).toBeNull();
          model.set(data, o.off);
          const back = new Uint8Array(len);
          expect(r.right.preadv(o.off, back, acct())).toBeNull();
          expect(Buffer.from(back).equals(data)).toBe(true);
        }
        expect(Buffer.from(readAll(r.right)).equals(model)).toBe(true);
        const again = graph.blockdevAdd({ driver: 'vdi', file: 'f' });
        if (E.isLeft(again)) throw new Error(message(again));
        expect(Buffer.from(readAll(again.right)).equals(model)).toBe(true);
        const check = again.right.drv.check!(again.right.opaque, { leaks: false, errors: false }, acct());
        expect(E.isRight(check) && check.right.corruptions).toBe(0);
        graph.close();
      }),
      { numRuns: 15 },
    );
  });

  it('write-zeroes and discard zero allocated blocks without allocating new ones', () => {
    const { graph, file, open } = overMemory(fs.readFileSync(created(4 * MiB)), 0);
    const r = open();
    if (E.isLeft(r)) throw new Error(message(r));
    const vdi = r.right;
    expect(vdi.pwritev(0, new Uint8Array(MiB + 10).fill(5), {}, acct())).toBeNull();
    const len = file.getLength();
    expect(vdi.writeZeroes(100, 3 * MiB, {}, acct())).toBeNull();
    expect(file.getLength()).toBe(len);
    const all = readAll(vdi);
    expect(all.subarray(0, 100).every((b) => b === 5)).toBe(true);
    expect(all.subarray(100).every((b) => b === 0)).toBe(true);
    expect(vdi.truncate(8 * MiB)?.errno).toBe('ENOTSUP');
    graph.close();
  });

  it('after a power cut, reads what the file kept (metadata is read again)', () => {
    const { graph, open } = overMemory(fs.readFileSync(created(4 * MiB)));
    const r = open();
    if (E.isLeft(r)) throw new Error(message(r));
    const vdi = r.right;
    expect(vdi.pwritev(0, new Uint8Array(10).fill(1), {}, acct())).toBeNull();
    expect(vdi.flush(acct())).toBeNull();
    expect(vdi.pwritev(2 * MiB, new Uint8Array(10).fill(2), {}, acct())).toBeNull();
    graph.powerCut();
    const all = readAll(vdi);
    expect(all.subarray(0, 10).every((b) => b === 1)).toBe(true);
    expect(all.subarray(10).every((b) => b === 0)).toBe(true);
    expect(vdi.pwritev(3 * MiB, new Uint8Array(10).fill(3), {}, acct())).toBeNull();
    expect(readAll(vdi)[3 * MiB]).toBe(3);
    graph.close();
  });
});

describe('vdi driver on bad images: an error that names the problem, never a throw', () => {
  const f = created(4 * MiB);

  it('a truncated file reads as zeroes past its end, as in QEMU: bad signature, or bad sector size', () => {
    const a = overMemory(new Uint8Array(fs.readFileSync(f).subarray(0, 50)));
    expect(message(a.open())).toBe('Image not in VDI format (bad signature 00000000)');
    const b = overMemory(new Uint8Array(fs.readFileSync(f).subarray(0, 100)));
    expect(message(b.open())).toBe('unsupported VDI image (sector size 0 is not 512)');
    a.graph.close();
    b.graph.close();
  });

  it('a block map past the end of the file', () => {
    const { graph, open } = overMemory(withHeader(f, (h) => ({ ...h, blocksInImage: 1000 })));
    expect(message(open())).toBe('VDI block map (4000 bytes at offset 0x200) is past the end of the file (1024 bytes)');
    graph.close();
  });

  it('a block map larger than the model loads', () => {
    const { graph, open } = overMemory(withHeader(f, (h) => ({ ...h, blocksInImage: 0x3fffffff, diskSize: 0x3fffffffn * BigInt(VDI_BLOCK_SIZE) })));
    expect(message(open())).toMatch(/^unsupported VDI image \(block map of 1073741823 entries is larger than the 16777216 this model loads\)$/);
    graph.close();
  });

  it('an absurd disk size and an unsupported block size', () => {
    const a = overMemory(withHeader(f, (h) => ({ ...h, diskSize: 2n ** 64n - 1n })));
    expect(message(a.open())).toMatch(/^Unsupported VDI image size \(size is 0xffffffffffffffff/);
    const b = overMemory(withHeader(f, (h) => ({ ...h, blockSize: 4096 })));
    expect(message(b.open())).toBe('unsupported VDI image (block size 4096 is not 1048576)');
    a.graph.close();
    b.graph.close();
  });

  it('block map entries out of range fail reads and writes with EIO, and check counts them', () => {
    const bytes = new Uint8Array(fs.readFileSync(f));
    new DataView(bytes.buffer).setUint32(0x200 + 4, 77, true);
    new DataView(bytes.buffer).setUint32(0x200 + 8, 0x7fffffff, true);
    const { graph, open } = overMemory(bytes);
    const r = open();
    if (E.isLeft(r)) throw new Error(message(r));
    const vdi = r.right;
    expect(vdi.preadv(MiB, new Uint8Array(10), acct())?.message).toMatch(/VDI block map entry 77 of block 1 is out of range/);
    expect(vdi.pwritev(2 * MiB + 3, new Uint8Array(10), {}, acct())?.errno).toBe('EIO');
    expect(vdi.blockStatus(MiB, 10).flags & BDRV_BLOCK_OFFSET_VALID).toBe(0);
    const check = vdi.drv.check!(vdi.opaque, { leaks: false, errors: false }, acct());
    if (E.isLeft(check)) throw new Error(message(check));
    expect(check.right.messages).toEqual(['ERROR: block index 1 too large, is 77', 'ERROR: block index 2 too large, is 2147483647']);
    expect(check.right.corruptions).toBe(2);
    expect(E.isLeft(vdi.drv.check!(vdi.opaque, { leaks: true, errors: true }, acct()))).toBe(true);
    graph.close();
  });

  it('check finds blocks shared by two entries and a wrong blocks_allocated', () => {
    const bytes = withHeader(f, (h) => ({ ...h, blocksAllocated: 1 }));
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0x200, 0, true);
    dv.setUint32(0x204, 0, true);
    const { graph, open } = overMemory(bytes, 2 * MiB);
    const r = open();
    if (E.isLeft(r)) throw new Error(message(r));
    const check = r.right.drv.check!(r.right.opaque, { leaks: false, errors: false }, acct());
    if (E.isLeft(check)) throw new Error(message(check));
    expect(check.right.messages).toEqual(['ERROR: block index 0 also used by 0', 'ERROR: allocated blocks mismatch, is 2, should be 1']);
    graph.close();
  });

  it('random bytes over a valid header never make open, read, write or check throw (property)', () => {
    const base = new Uint8Array(fs.readFileSync(f));
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: 0, max: 0x3ff }), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }), (pokes) => {
        const bytes = base.slice();
        for (const p of pokes) bytes[p.at] = p.v;
        const { graph, open } = overMemory(bytes);
        const r = open();
        if (E.isRight(r)) {
          const vdi = r.right;
          const len = Math.min(vdi.getLength(), 4 * MiB);
          if (len > 0) {
            vdi.preadv(0, new Uint8Array(len), acct());
            vdi.pwritev(len - 1, new Uint8Array(1).fill(1), {}, acct());
            vdi.blockStatus(0, len);
          }
          vdi.drv.check!(vdi.opaque, { leaks: false, errors: false }, acct());
        }
        graph.close();
      }),
      { numRuns: 60 },
    );
  });
});
