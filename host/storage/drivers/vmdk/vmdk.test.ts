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
import { probeFormat } from '../../registry.js';
import { newBlockEnv } from '../../testing.js';
import { descriptorCid, descriptorText } from './descriptor.js';
import { MARKER_FOOTER, VMDK4_GD_AT_END, decodeVmdk4Header, encodeVmdk4Header } from './header.js';
import type { VmdkState } from './state.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-vmdk-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const acct = () => ({ ns: 0 });
const MiB = 1 << 20;
const G = 65536;
const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'ok');

function created(size: number, opts: Record<string, unknown> = {}): string {
  const f = path.join(tmp, `i${seq++}.vmdk`);
  const r = createImage('vmdk', f, size, opts);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return f;
}

/** An image's bytes in a memory node 'f' of a fresh graph, and a vmdk node over it. */
function overMemory(bytes: Uint8Array) {
  const graph = new BlockGraph(newBlockEnv());
  const file = graph.blockdevAdd({ driver: 'memory', 'node-name': 'f', size: bytes.length });
  if (E.isLeft(file)) throw new Error(message(file));
  expect(file.right.pwritev(0, bytes, {}, acct())).toBeNull();
  return { graph, file: file.right, open: () => graph.blockdevAdd({ driver: 'vmdk', file: 'f' }) };
}

const opened = <T>(r: E.Either<BlockError, T>): T => {
  if (E.isLeft(r)) throw new Error(message(r));
  return r.right;
};

function readAll(bs: BlockDriverState): Uint8Array {
  const b = new Uint8Array(bs.getLength());
  expect(bs.preadv(0, b, acct())).toBeNull();
  return b;
}

function openFile(f: string) {
  return openBlockGraph(newBlockEnv(), { drive: { file: f } });
}

describe('vmdk driver', () => {
  it('is probed from its magic and from a descriptor; raw is not guessed for either', () => {
    const sparse = fs.readFileSync(created(MiB)).subarray(0, 512);
    const desc = fs.readFileSync(created(MiB, { subformat: 'monolithicFlat' }));
    expect(probeFormat(sparse, 'x')?.formatName).toBe('vmdk');
    expect(probeFormat(desc.subarray(0, 512), 'x')?.formatName).toBe('vmdk');
    expect(probeFormat(new Uint8Array(512), 'x')?.formatName).toBe('raw');
  });

  it('reads and writes any range like a flat byte array, also after reopening; the CID changes once per open (property)', () => {
    const size = 3 * MiB + 1536;
    const base = fs.readFileSync(created(size));
    const op = fc.record({ off: fc.integer({ min: 0, max: size - 1 }), len: fc.integer({ min: 1, max: 200_000 }), fill: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 10 }), (ops) => {
        const { graph, open } = overMemory(base);
        const vmdk = opened(open());
        const cid0 = (vmdk.opaque as VmdkState).cid;
        const model = new Uint8Array(size);
        for (const o of ops) {
          const len = Math.min(o.len, size - o.off);
          if (o.fill === 0) expect(vmdk.writeZeroes(o.off, len, {}, acct())).toBeNull();
          else expect(vmdk.pwritev(o.off, new Uint8Array(len).fill(o.fill), {}, acct())).toBeNull();
          model.fill(o.fill, o.off, o.off + len);
        }
        expect(Buffer.from(readAll(vmdk)).equals(model)).toBe(true);
        const again = opened(graph.blockdevAdd({ driver: 'vmdk', file: 'f' }));
        expect(Buffer.from(readAll(again)).equals(model)).toBe(true);
        const cid1 = (again.opaque as VmdkState).cid;
        expect(cid1 !== cid0).toBe(ops.some((o) => o.fill !== 0));
        const check = again.drv.check!(again.opaque, { leaks: false, errors: false }, acct());
        expect(E.isRight(check) && check.right.corruptions).toBe(0);
        graph.close();
      }),
      { numRuns: 20 },
    );
  });

  it('appends grains at the end of the file and updates both grain directories; block status maps them', () => {
    const { graph, file, open } = overMemory(fs.readFileSync(created(5 * MiB)));
    const vmdk = opened(open());
    expect(file.getLength()).toBe(128 * 512);
    expect(vmdk.pwritev(3 * G + 5, new Uint8Array([1, 2, 3]), {}, acct())).toBeNull();
    expect(file.getLength()).toBe(128 * 512 + G);
    const gte = (tableSector: number) => {
      const b = new Uint8Array(4);
      file.preadv(tableSector * 512 + 3 * 4, b, acct());
      return new DataView(b.buffer).getUint32(0, true);
    };
    // rgd at 21 → its GT at 22; gd at 26 → its GT at 27 (qemu-img's 5 MiB layout)
    expect([gte(22), gte(27)]).toEqual([128, 128]);
    expect(vmdk.blockStatus(3 * G + 100, G)).toMatchObject({ flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | 0x10, map: 128 * 512 + 100, pnum: G - 100 });
    expect(vmdk.blockStatus(0, 10 * G).flags & BDRV_BLOCK_ZERO).toBeTruthy();
    expect(vmdk.truncate(10 * MiB)?.errno).toBe('ENOTSUP');
    graph.close();
  });

  it("announces QEMU's blkdebug events to its file: l2_load, cow_write, write_aio, l2_update, read_aio", () => {
    const { graph, file, open } = overMemory(fs.readFileSync(created(MiB)));
    const vmdk = opened(open());
    const events: string[] = [];
    file.debugEvent = (ev) => void events.push(ev);
    expect(vmdk.pwritev(100, new Uint8Array(10).fill(1), {}, acct())).toBeNull();
    expect(events).toEqual(['l2_load', 'cow_write', 'cow_write', 'write_aio', 'l2_update']);
    events.length = 0;
    expect(vmdk.preadv(0, new Uint8Array(10), acct())).toBeNull();
    expect(events).toEqual(['read_aio']);
    graph.close();
  });

  it('with zeroed_grain, write-zeroes of whole grains writes GTE 1 and allocates nothing', () => {
    const { graph, file, open } = overMemory(fs.readFileSync(created(2 * MiB, { zeroed_grain: true })));
    const vmdk = opened(open());
    expect(vmdk.pwritev(0, new Uint8Array(3 * G).fill(9), {}, acct())).toBeNull();
    const len = file.getLength();
    expect(vmdk.writeZeroes(G, 2 * G + 10, {}, acct())).toBeNull();
    expect(file.getLength()).toBe(len);
    expect(vmdk.blockStatus(G, G).flags & BDRV_BLOCK_ZERO).toBeTruthy();
    const all = readAll(vmdk);
    expect(all.subarray(0, G).every((b) => b === 9)).toBe(true);
    expect(all.subarray(G).every((b) => b === 0)).toBe(true);
    graph.close();
  });

  it('after a power cut, reads what the files kept', () => {
    const { graph, open } = overMemory(fs.readFileSync(created(2 * MiB)));
    const vmdk = opened(open());
    expect(vmdk.pwritev(0, new Uint8Array(10).fill(1), {}, acct())).toBeNull();
    expect(vmdk.pwritev(G, new Uint8Array(10).fill(2), {}, acct())).toBeNull();
    expect(vmdk.pwritev(5, new Uint8Array(10).fill(3), {}, acct())).toBeNull();
    graph.powerCut();
    const all = readAll(vmdk);
    // Each allocation flushed its grain table (and the grain before it); the last in-place write was not flushed.
    expect([...all.subarray(0, 12)]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(all[G]).toBe(2);
    graph.close();
  });

  it('opens flat and split images from their descriptor, extents relative to it', () => {
    for (const subformat of ['monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat']) {
      const f = created(3 * MiB, { subformat });
      const d = opened(openFile(f));
      const root = d.blk.root;
      expect(root.pwritev(MiB - 3, new Uint8Array(6).fill(4), {}, acct())).toBeNull();
      expect([...readAll(root).subarray(MiB - 4, MiB + 4)]).toEqual([0, 4, 4, 4, 4, 4, 4, 0]);
      expect((root.drv.info!(root.opaque).formatSpecific?.data as { 'create-type': string })['create-type']).toBe(subformat);
      d.graph.close();
    }
  });

  it('a linked clone copies the rest of a new grain from its backing image, and refuses a backing image whose CID changed', () => {
    const base = created(MiB);
    const b = opened(openFile(base));
    expect(b.blk.root.pwritev(0, new Uint8Array(2 * G).fill(5), {}, acct())).toBeNull();
    b.graph.close();
    const top = path.join(tmp, `top${seq++}.vmdk`);
    const made = createImage('vmdk', top, MiB, { backing_file: path.basename(base) });
    if (E.isLeft(made)) throw new Error(message(made));
    const t = opened(openFile(top));
    expect(t.blk.root.pwritev(G + 10, new Uint8Array(4).fill(6), {}, acct())).toBeNull();
    t.graph.close();
    const again = opened(openFile(top));
    const all = readAll(again.blk.root);
    expect(all.subarray(0, 2 * G).filter((x) => x === 5).length).toBe(2 * G - 4);
    expect([...all.subarray(G + 9, G + 15)]).toEqual([5, 6, 6, 6, 6, 5]);
    expect(again.blk.root.child('backing')?.readOnly).toBe(true);
    again.graph.close();
    const b2 = opened(openFile(base));
    expect(b2.blk.root.pwritev(3 * G, new Uint8Array(1), {}, acct())).toBeNull();
    b2.graph.close();
    const stale = opened(openFile(top));
    expect(stale.blk.root.preadv(0, new Uint8Array(10), acct())?.errno).toBe('EINVAL');
    expect(stale.blk.root.preadv(G, new Uint8Array(10), acct())).toBeNull();
    stale.graph.close();
  });

  it('reads a streamOptimized image whose grain directory is in the footer (as VMware writes it)', () => {
    const f = created(MiB, { subformat: 'streamOptimized' });
    const w = opened(openFile(f));
    const data = new Uint8Array(G).map((_, i) => i & 0xff);
    expect(w.blk.root.pwritev(2 * G, data, {}, acct())).toBeNull();
    w.graph.close();
    const img = new Uint8Array(fs.readFileSync(f));
    const pad = new Uint8Array(Math.ceil(img.length / 512) * 512);
    pad.set(img);
    const h = decodeVmdk4Header(img);
    const footer = new Uint8Array(1536);
    new DataView(footer.buffer).setUint32(12, MARKER_FOOTER, true);
    footer.set(encodeVmdk4Header(h), 512);
    const moved = new Uint8Array(pad.length + footer.length);
    moved.set(pad);
    moved.set(footer, pad.length);
    moved.set(encodeVmdk4Header({ ...h, gdOffset: VMDK4_GD_AT_END }).subarray(0, 80));
    const { graph } = overMemory(moved);
    const r = opened(graph.blockdevAdd({ driver: 'vmdk', file: 'f', 'read-only': true }));
    expect(Buffer.from(readAll(r).subarray(2 * G, 3 * G)).equals(data)).toBe(true);
    moved.set(new Uint8Array(4), pad.length + 512);
    const bad = overMemory(moved);
    expect(message(bad.graph.blockdevAdd({ driver: 'vmdk', file: 'f', 'read-only': true }))).toBe('Invalid footer');
    graph.close();
    bad.graph.close();
  });
});

describe('vmdk driver on bad images: an error that names the problem, never a throw', () => {
  const good = new Uint8Array(fs.readFileSync(created(5 * MiB)));
  const patched = (patch: Parameters<typeof encodeVmdk4Header>[0] extends infer H ? (h: H) => H : never) => {
    const b = good.slice();
    b.set(encodeVmdk4Header(patch(decodeVmdk4Header(b))).subarray(0, 80));
    return b;
  };

  it('a file too small, a truncated sparse file, an absurd capacity, a grain directory past the end', () => {
    expect(message(overMemory(new Uint8Array(3)).open())).toBe('File is too small, not a valid image');
    expect(message(overMemory(good.slice(0, 20000)).open())).toBe('File truncated, expecting at least 65536 bytes');
    expect(message(overMemory(patched((h) => ({ ...h, capacity: 2n ** 60n }))).open())).toBe('VMDK capacity of 1152921504606846976 sectors is too large');
    expect(message(overMemory(patched((h) => ({ ...h, gdOffset: 5000n }))).open())).toBe('grain directory (4 bytes at offset 2560000) is past the end of the file (65536 bytes)');
    expect(message(overMemory(patched((h) => ({ ...h, capacity: 2n ** 40n }))).open())).toMatch(/^grain directory \(\d+ bytes at offset 13312\) is past the end of the file/);
  });

  it('grain tables and grains past the end of the file fail the request (EIO); check reports them', () => {
    const b = good.slice();
    const dv = new DataView(b.buffer);
    dv.setUint32(26 * 512, 99999, true); // GD[0] → a grain table far past the end
    const r1 = overMemory(b);
    const v1 = opened(r1.open());
    expect(v1.preadv(0, new Uint8Array(10), acct())?.message).toMatch(/grain table at sector 99999 .* is past the end of the file/);
    expect(v1.pwritev(0, new Uint8Array(10), {}, acct())?.errno).toBe('EINVAL');
    const c1 = v1.drv.check!(v1.opaque, { leaks: false, errors: false }, acct());
    expect(E.isRight(c1) && c1.right.messages).toEqual(['ERROR: could not get cluster_offset for sector 0']);
    const b2 = good.slice();
    new DataView(b2.buffer).setUint32(27 * 512 + 4, 5000, true); // GT[1] → a grain past the end
    const r2 = overMemory(b2);
    const v2 = opened(r2.open());
    expect(v2.preadv(G, new Uint8Array(10), acct())?.errno).toBe('EIO');
    expect(v2.preadv(0, new Uint8Array(10), acct())).toBeNull();
    const c2 = v2.drv.check!(v2.opaque, { leaks: false, errors: false }, acct());
    expect(E.isRight(c2) && c2.right.messages).toEqual(['ERROR: cluster offset for sector 128 points after EOF']);
    r1.graph.close();
    r2.graph.close();
  });

  it('a corrupt compressed grain reads as EINVAL', () => {
    const f = created(MiB, { subformat: 'streamOptimized' });
    const w = opened(openFile(f));
    expect(w.blk.root.pwritev(0, new Uint8Array(G).fill(1), {}, acct())).toBeNull();
    w.graph.close();
    const b = new Uint8Array(fs.readFileSync(f));
    const grain = Number(decodeVmdk4Header(b).grainOffset) * 512;
    b.fill(0x55, grain + 12, grain + 40);
    const { graph, open } = overMemory(b);
    expect(opened(open()).preadv(0, new Uint8Array(10), acct())?.errno).toBe('EINVAL');
    graph.close();
  });

  it('descriptor files: unsupported type, malformed extent line, missing extent file, relative extents with no directory', () => {
    const desc = (text: string) => {
      const f = path.join(tmp, `d${seq++}.vmdk`);
      fs.writeFileSync(f, text);
      return message(openFile(f));
    };
    const head = '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n';
    expect(desc(`${head}createType="monolithicSparse"\n`)).toBe("Unsupported image type 'monolithicSparse'");
    expect(desc(`${head}createType="monolithicFlat"\nRW 100 FLAT "x.img"\n`)).toBe('Invalid extent line: RW 100 FLAT "x.img"');
    expect(desc(`${head}createType="monolithicFlat"\nRW 100 FLAT "nope.img" 0\n`)).toMatch(/^Could not open '.*nope\.img': No such file or directory$/);
    expect(desc('version=1\n')).toBe('invalid VMDK image descriptor');
    const { open } = overMemory(new Uint8Array(Buffer.from(`${head}createType="monolithicFlat"\nRW 100 FLAT "x.img" 0\n`)));
    expect(message(open())).toBe("Cannot use relative paths with VMDK descriptor file 'f': Cannot generate a base directory for memory nodes");
  });

  it('a backing chain that loops is refused', () => {
    const a = path.join(tmp, `loopA${seq++}.vmdk`);
    const b = path.join(tmp, `loopB${seq++}.vmdk`);
    const made = createImage('vmdk', a, MiB);
    if (E.isLeft(made)) throw new Error(message(made));
    fs.copyFileSync(a, b);
    const hint = (f: string, target: string) => {
      const bytes = new Uint8Array(fs.readFileSync(f));
      const text = descriptorText(bytes.subarray(512, 512 * 21)).replace('createType="monolithicSparse"\n', `createType="monolithicSparse"\nparentFileNameHint="${path.basename(target)}"`);
      bytes.fill(0, 512, 512 * 21);
      bytes.set(Buffer.from(text, 'latin1'), 512);
      fs.writeFileSync(f, bytes);
    };
    hint(a, a);
    expect(message(openFile(a))).toBe(`Backing file '${path.basename(a)}' makes a loop in the backing chain`);
    hint(a, b);
    hint(b, a);
    expect(message(openFile(a))).toBe(`Could not open backing file: Backing file '${path.basename(a)}' makes a loop in the backing chain`);
  });

  it('random bytes over the metadata never make open, read, write or check throw (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: 0, max: 40 * 512 }), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 16 }), (pokes) => {
        const b = good.slice();
        for (const p of pokes) b[p.at] = p.v;
        const { graph, open } = overMemory(b);
        const r = open();
        if (E.isRight(r)) {
          const v = r.right;
          const len = Math.min(v.getLength(), 2 * MiB);
          if (len > 0) {
            v.preadv(0, new Uint8Array(len), acct());
            v.pwritev(len - 1, new Uint8Array(1).fill(1), {}, acct());
            v.writeZeroes(0, len, {}, acct());
            v.blockStatus(0, len);
          }
          v.drv.check!(v.opaque, { leaks: false, errors: false }, acct());
          v.drv.info!(v.opaque);
        }
        graph.close();
      }),
      { numRuns: 80 },
    );
    expect(descriptorCid(descriptorText(good.subarray(512)), false)).toBeGreaterThan(0);
  });
});
