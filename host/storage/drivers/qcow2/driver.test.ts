import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { Recorder, type TraceEvent } from '../../../../sim/trace.js';
import { blockErrorMessage, type BlockError } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import type { BlockDriverState } from '../../node.js';
import { createImage } from '../../open.js';
import { newBlockEnv } from '../../testing.js';
import type { Qcow2Node } from './driver.js';
import { dirtyImageRepair, setDirtyImageRepair } from './lifecycle.js';

const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const acct = () => ({ ns: 0 });
const runsFuzz = process.env.IOPATH_DEEP === '1' ? 1500 : 150;
const msg = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'ok');

function make(opts: Record<string, unknown> = {}, size = 4 << 20): string {
  const f = join(dir, `img${n++}.qcow2`);
  const r = createImage('qcow2', f, size, opts);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return f;
}

function open(file: string, extra: Record<string, unknown> = {}, env = newBlockEnv()) {
  const graph = new BlockGraph(env);
  const r = graph.blockdevAdd({ driver: 'qcow2', 'node-name': 'q', discard: 'unmap', file: { driver: 'file', filename: file, 'node-name': 'f' }, ...extra });
  return { graph, r };
}

function mustOpen(file: string, extra: Record<string, unknown> = {}, env = newBlockEnv()) {
  const { graph, r } = open(file, extra, env);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { graph, bs: r.right, s: (r.right.opaque as Qcow2Node).s };
}

const read = (bs: BlockDriverState, off: number, len: number): Uint8Array => {
  const b = new Uint8Array(len);
  expect(bs.preadv(off, b, acct())).toBeNull();
  return b;
};

describe('qcow2 driver', () => {
  it('reads back random writes, zeroes and discards through a tiny L2 cache (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(512, 4096, 65536),
        fc.array(fc.tuple(fc.constantFrom('w', 'w', 'z', 'd'), fc.nat((4 << 20) - 1), fc.integer({ min: 1, max: 200_000 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 25 }),
        (cs, ops) => {
          const f = make({ cluster_size: cs });
          const { graph, bs, s } = mustOpen(f, { 'l2-cache-size': 1, 'l2-cache-entry-size': 512, 'refcount-cache-size': 1 });
          expect(s.l2Cache.capacity).toBe(2);
          expect(s.refcountCache.capacity).toBe(4);
          const model = new Uint8Array(4 << 20);
          for (const [k, off, len0, fill] of ops) {
            const len = Math.min(len0, model.length - off);
            if (k === 'w') expect(bs.pwritev(off, new Uint8Array(len).fill(fill), {}, acct())).toBeNull();
            else if (k === 'z') expect(bs.writeZeroes(off, len, { mayUnmap: fill % 2 === 0 }, acct())).toBeNull();
            else expect(bs.discard(off, len, acct())).toBeNull();
            if (k === 'w') model.fill(fill, off, off + len);
            else if (k === 'z') model.fill(0, off, off + len);
            else {
              const a = Math.ceil(off / cs) * cs;
              const b = Math.floor((off + len) / cs) * cs;
              if (b > a) model.fill(0, a, b);
            }
          }
          expect(Buffer.compare(read(bs, 0, model.length), model)).toBe(0);
          graph.close();
          const again = mustOpen(f);
          expect(Buffer.compare(read(again.bs, 0, model.length), model)).toBe(0);
          again.graph.close();
        },
      ),
      { numRuns: 15 },
    );
  });

  it('flushes refcount blocks before the L2 table that uses them, with a sync between (cache dependency)', () => {
    const f = make();
    const env = newBlockEnv();
    const rec = new Recorder();
    const { graph, bs } = mustOpen(f, {}, env);
    env.trace.attach(rec.sink);
    expect(bs.pwritev(100, new Uint8Array(10).fill(1), {}, acct())).toBeNull();
    expect(bs.flush(acct())).toBeNull();
    const ops = rec.events.filter((e): e is Extract<TraceEvent, { kind: 'block' }> => e.kind === 'block' && e.node === 'f').map((e) => `${e.op}@${e.offset}`);
    // Refblock (cluster 2) written and synced before the new L2 table (allocated at 0x40000) is written.
    const refblock = ops.indexOf('write@131072');
    const l2 = ops.lastIndexOf('write@262144');
    expect(refblock).toBeGreaterThanOrEqual(0);
    expect(l2).toBeGreaterThan(refblock);
    expect(ops.slice(refblock, l2)).toContain('flush@0');
    graph.close();
  });

  it('sets the dirty bit on the first write with lazy refcounts and clears it on a clean close', () => {
    const f = make({ lazy_refcounts: true });
    const dirty = () => (readFileSync(f)[79] & 1) === 1;
    const { graph, bs } = mustOpen(f);
    expect(dirty()).toBe(false);
    expect(bs.pwritev(0, new Uint8Array(4096).fill(3), {}, acct())).toBeNull();
    expect(dirty()).toBe(true);
    graph.close();
    expect(dirty()).toBe(false);
  });

  it('a dirty image opened writable without a repair allocates only past the old end and stays dirty', () => {
    const installed = dirtyImageRepair();
    setDirtyImageRepair(undefined);
    onTestFinished(() => setDirtyImageRepair(installed));
    const f = make({ lazy_refcounts: true });
    const env = newBlockEnv();
    const { graph, bs } = mustOpen(f, {}, env);
    expect(bs.pwritev(0, new Uint8Array(65536).fill(3), {}, acct())).toBeNull();
    expect(bs.flush(acct())).toBeNull();
    graph.powerCut();
    const before = readFileSync(f).length;
    const again = mustOpen(f);
    expect(again.s.keepDirty).toBe(true);
    expect(again.s.allocFloor * again.s.clusterSize).toBeGreaterThanOrEqual(before);
    expect(again.bs.pwritev(1 << 20, new Uint8Array(512).fill(4), {}, acct())).toBeNull();
    expect(read(again.bs, 0, 1)[0]).toBe(3);
    again.graph.close();
    expect(readFileSync(f)[79] & 1).toBe(1);
  });

  it('refuses a corrupt image read-write, opens it read-only, and marks one corrupt when it finds bad metadata', () => {
    const f = make();
    const { graph, bs } = mustOpen(f);
    expect(bs.pwritev(0, new Uint8Array(512).fill(1), {}, acct())).toBeNull();
    graph.close();
    // Point L1[0] at an unaligned offset.
    const bytes = readFileSync(f);
    bytes.writeUInt32BE(0x80000000, 3 * 65536);
    bytes.writeUInt32BE(0x50200, 3 * 65536 + 4);
    writeFileSync(f, bytes);
    const broken = mustOpen(f);
    const err = broken.bs.preadv(0, new Uint8Array(512), acct());
    expect(err?.message).toMatch(/qcow2: Marking image as corrupt: L2 table offset 0x50200 unaligned \(L1 index: 0\)/);
    expect(broken.bs.preadv(0, new Uint8Array(512), acct())?.errno).toBe('ENOMEDIUM');
    broken.graph.close();
    expect(msg(open(f).r)).toBe('qcow2: Image is corrupt; cannot be opened read/write');
    const ro = open(f, { 'read-only': true });
    expect(msg(ro.r)).toBe('ok');
    ro.graph.close();
  });

  it('copy-on-write of a shared extended-L2 cluster keeps its data beside a zero subcluster (ZERO_ALLOC)', () => {
    const f = make({ extended_l2: true });
    const { graph, bs } = mustOpen(f);
    expect(bs.writeZeroes(0, 4096, { mayUnmap: false }, acct())).toBeNull();
    expect(bs.pwritev(0, new Uint8Array(1).fill(0x25), {}, acct())).toBeNull();
    expect(bs.drv.snapshots!.create(bs.opaque, { name: 's', vmStateSize: 0, dateSec: 0, dateNsec: 0, vmClockNs: 0 })).toBeNull();
    // Subcluster 1 is zero in an allocated cluster that the snapshot shares: the write copies the cluster.
    expect(bs.pwritev(2048, new Uint8Array(1).fill(0x4a), {}, acct())).toBeNull();
    expect([read(bs, 0, 1)[0], read(bs, 1, 1)[0], read(bs, 2048, 1)[0], read(bs, 2049, 1)[0]]).toEqual([0x25, 0, 0x4a, 0]);
    graph.close();
  });

  it('syncs the corrupt bit, so that it survives a power cut that follows', () => {
    const f = make();
    const { graph, bs } = mustOpen(f);
    expect(bs.pwritev(0, new Uint8Array(512).fill(1), {}, acct())).toBeNull();
    graph.close();
    const bytes = readFileSync(f);
    bytes.writeUInt32BE(0x80000000, 3 * 65536);
    bytes.writeUInt32BE(0x50200, 3 * 65536 + 4);
    writeFileSync(f, bytes);
    const broken = mustOpen(f);
    expect(broken.bs.preadv(0, new Uint8Array(512), acct())?.message).toMatch(/Marking image as corrupt/);
    broken.graph.powerCut();
    expect(readFileSync(f)[79] & 2).toBe(2);
    broken.graph.close();
  });

  it('refuses a guest write that a malicious L2 entry points at metadata (overlap check)', () => {
    const f = make();
    const { graph, bs } = mustOpen(f);
    expect(bs.pwritev(0, new Uint8Array(512).fill(1), {}, acct())).toBeNull();
    graph.close();
    // L1[0] → L2 at 0x40000 (cluster 4); make its first entry claim the L1 table's cluster (0x30000), COPIED.
    const bytes = readFileSync(f);
    bytes.writeUInt32BE(0x80000000, 0x40000);
    bytes.writeUInt32BE(0x30000, 0x40004);
    writeFileSync(f, bytes);
    const header = bytes.subarray(0, 0x40008).toString('hex');
    const bad = mustOpen(f);
    const err = bad.bs.pwritev(0, new Uint8Array(512).fill(0xff), {}, acct());
    expect(err?.message).toMatch(/Preventing invalid write on metadata \(overlaps with active L1 table\)/);
    bad.graph.close();
    const after = readFileSync(f);
    expect(after.subarray(0x30000, 0x30010).toString('hex')).toBe(Buffer.from(header, 'hex').subarray(0x30000, 0x30010).toString('hex'));
    expect(after[0x48 + 7] & 2).toBe(2);
  });

  it('checks what the L2 cache writes back: an L1 entry aimed at the refcount table cannot overwrite it', () => {
    const f = make();
    const { graph, bs } = mustOpen(f);
    expect(bs.pwritev(0, new Uint8Array(512).fill(1), {}, acct())).toBeNull();
    graph.close();
    // L1[0] (at 0x30000) → the refcount table's cluster (0x10000), COPIED: the driver takes it for an L2 table.
    const bytes = readFileSync(f);
    bytes.writeUInt32BE(0x80000000, 0x30000);
    bytes.writeUInt32BE(0x10000, 0x30004);
    writeFileSync(f, bytes);
    const reftable = bytes.subarray(0x10000, 0x10100).toString('hex');
    const bad = mustOpen(f);
    // The data goes to a new cluster; the L2 entry it changes would land in the refcount table.
    bad.bs.pwritev(0, new Uint8Array(512).fill(0xff), {}, acct());
    const err = bad.bs.flush(acct());
    expect(err?.message).toMatch(/Preventing invalid write on metadata \(overlaps with refcount table\)/);
    bad.graph.close();
    const after = readFileSync(f);
    expect(after.subarray(0x10000, 0x10100).toString('hex')).toBe(reftable);
    expect(after[0x48 + 7] & 2).toBe(2);
  });

  it('overlap-check=none lets the same write-back through (the template is honoured)', () => {
    const f = make();
    const { graph, s } = mustOpen(f, { 'overlap-check': 'none' });
    expect(s.overlapCheck).toBe(0);
    graph.close();
    const c = mustOpen(f, { 'overlap-check': 'constant' });
    expect(c.s.overlapCheck).toBe(1 | 2 | 8 | 32 | 256);
    c.graph.close();
  });

  it('opens backing files named relative to the image, honours backing=null, and refuses a loop', () => {
    const base = make();
    const top = make({ backing_file: base.split('/').pop(), backing_fmt: 'qcow2' });
    const b = mustOpen(base);
    expect(b.bs.pwritev(0, new Uint8Array(3).fill(7), {}, acct())).toBeNull();
    b.graph.close();
    const t = mustOpen(top);
    expect(t.bs.child('backing')?.readOnly).toBe(true);
    expect([...read(t.bs, 0, 4)]).toEqual([7, 7, 7, 0]);
    t.graph.close();
    const none = mustOpen(top, { backing: null });
    expect([...read(none.bs, 0, 4)]).toEqual([0, 0, 0, 0]);
    none.graph.close();
    // base → top: a loop.
    const loop = mustOpen(base);
    expect(loop.bs.drv.changeBackingFile!(loop.bs.opaque, top.split('/').pop(), undefined)).toBeNull();
    loop.graph.close();
    expect(msg(open(top).r)).toMatch(/^Could not open backing file: .*Backing file loop: '.*img\d+\.qcow2' -> '.*img\d+\.qcow2' -> '.*img\d+\.qcow2'/);
  });

  it("tells its file child QEMU's debug events (blkdebug's hooks) as it allocates and copies", () => {
    const base = make();
    const top = make({ backing_file: base.split('/').pop(), backing_fmt: 'qcow2' });
    const b = mustOpen(base);
    expect(b.bs.pwritev(0, new Uint8Array(65536).fill(7), {}, acct())).toBeNull();
    b.graph.close();
    const { graph, bs } = mustOpen(top);
    const seen: string[] = [];
    bs.child('file')!.debugEvent = (e) => void seen.push(e);
    expect(bs.pwritev(100, new Uint8Array(10).fill(1), {}, acct())).toBeNull();
    expect(read(bs, 0, 200)[0]).toBe(7);
    expect(bs.flush(acct())).toBeNull();
    for (const e of ['cluster_alloc', 'l2_alloc_write', 'l1_update', 'cow_read', 'read_backing_aio', 'write_aio', 'read_aio', 'refblock_update_part', 'l2_update']) expect(seen).toContain(e);
    expect(seen.indexOf('cow_read')).toBeLessThan(seen.indexOf('write_aio'));
    graph.close();
  });

  it('make-empty drops every cluster so reads fall through to the backing file', () => {
    const base = make();
    const top = make({ backing_file: base.split('/').pop(), backing_fmt: 'qcow2' });
    const b = mustOpen(base);
    expect(b.bs.pwritev(0, new Uint8Array(100).fill(7), {}, acct())).toBeNull();
    b.graph.close();
    const { graph, bs } = mustOpen(top);
    expect(bs.pwritev(0, new Uint8Array(70000).fill(1), {}, acct())).toBeNull();
    expect(bs.drv.makeEmpty!(bs.opaque, acct())).toBeNull();
    expect([...read(bs, 98, 4)]).toEqual([7, 7, 0, 0]);
    graph.close();
  });

  it('refuses compressed writes it cannot make: unaligned, or over an allocated cluster', () => {
    const z = mustOpen(make({ compression_type: 'zstd' }));
    expect(z.bs.drv.writeCompressed!(z.bs.opaque, 0, new Uint8Array(65536).fill(5), acct())).toBeNull();
    expect(z.bs.blockStatus(0, 65536).flags & 4).toBe(0);
    expect(Buffer.compare(read(z.bs, 0, 65536), new Uint8Array(65536).fill(5))).toBe(0);
    z.graph.close();
    const { graph, bs } = mustOpen(make());
    expect(bs.drv.writeCompressed!(bs.opaque, 512, new Uint8Array(65536), acct())?.errno).toBe('EINVAL');
    expect(bs.pwritev(0, new Uint8Array(1).fill(1), {}, acct())).toBeNull();
    expect(bs.drv.writeCompressed!(bs.opaque, 0, new Uint8Array(65536).fill(2), acct())?.message).toMatch(/can't overwrite/);
    // Data that does not compress is written as a normal cluster.
    let x = 2463534242;
    const noise = new Uint8Array(65536).map(() => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x & 0xff;
    });
    expect(bs.drv.writeCompressed!(bs.opaque, 65536, noise, acct())).toBeNull();
    expect(Buffer.compare(read(bs, 65536, 65536), noise)).toBe(0);
    expect(bs.blockStatus(65536, 65536).flags & 4).toBe(4);
    graph.close();
  });

  it('refuses bad cache options as QEMU does', () => {
    const f = make();
    expect(msg(open(f, { 'l2-cache-entry-size': 1000 }).r)).toBe('L2 cache entry size must be a power of two between 512 and the cluster size (65536)');
    expect(msg(open(f, { 'cache-size': '1M', 'l2-cache-size': '2M' }).r)).toBe('l2-cache-size may not exceed cache-size');
    expect(msg(open(f, { 'cache-size': '1M', 'l2-cache-size': '512k', 'refcount-cache-size': '256k' }).r)).toBe('cache-size, l2-cache-size and refcount-cache-size may not be set at the same time');
    const v2 = make({ compat: '0.10' });
    expect(msg(open(v2, { 'lazy-refcounts': true }).r)).toBe('Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level');
  });

  it('sizes the default L2 cache to cover the disk, up to 32 MiB', () => {
    const small = mustOpen(make({}, 1 << 30));
    // 1 GiB of 64 KiB clusters: 16384 entries of 8 bytes = 2 clusters of L2.
    expect([small.s.l2Cache.capacity, small.s.l2Cache.entrySize, small.s.refcountCache.capacity]).toEqual([2, 65536, 4]);
    small.graph.close();
    const big = mustOpen(make({ cluster_size: 4096 }, 2 ** 42));
    expect([big.s.l2Cache.capacity, big.s.l2Cache.entrySize]).toEqual([8192, 4096]);
    big.graph.close();
  });

  it('survives a power cut: what was flushed stays, the image is re-read from disk', () => {
    const f = make();
    const env = newBlockEnv();
    const { graph, bs } = mustOpen(f, {}, env);
    expect(bs.pwritev(0, new Uint8Array(1000).fill(5), {}, acct())).toBeNull();
    expect(bs.flush(acct())).toBeNull();
    expect(bs.pwritev(200000, new Uint8Array(1000).fill(6), {}, acct())).toBeNull();
    graph.powerCut();
    expect(read(bs, 0, 1000).every((b) => b === 5)).toBe(true);
    expect(read(bs, 200000, 1000).every((b) => b === 0)).toBe(true);
    expect(bs.pwritev(200000, new Uint8Array(10).fill(8), {}, acct())).toBeNull();
    expect(read(bs, 200000, 10).every((b) => b === 8)).toBe(true);
    graph.close();
  });

  it('grows and shrinks, refusing sizes that are not multiples of 512', () => {
    const f = make({}, 1 << 20);
    const { graph, bs } = mustOpen(f);
    expect(bs.truncate(1000)?.message).toMatch(/The new size must be a multiple of 512/);
    expect(bs.truncate(64 << 20)).toBeNull();
    expect(bs.pwritev((64 << 20) - 512, new Uint8Array(512).fill(9), {}, acct())).toBeNull();
    expect(bs.pwritev(0, new Uint8Array(512).fill(1), {}, acct())).toBeNull();
    expect(bs.truncate(1 << 20)).toBeNull();
    expect(bs.getLength()).toBe(1 << 20);
    expect(read(bs, 0, 1)[0]).toBe(1);
    graph.close();
    const again = mustOpen(f);
    expect(again.bs.getLength()).toBe(1 << 20);
    again.graph.close();
  });
});

describe('qcow2 write-zeroes at an unaligned image end', () => {
  it('zeroes the partial last cluster (standard and extended L2)', () => {
    for (const opts of [{}, { extended_l2: true }]) {
      const f = make(opts, (1 << 20) + 4096 + 512);
      const { graph, bs } = mustOpen(f);
      const len = bs.getLength();
      expect(bs.pwritev(len - 70000, new Uint8Array(70000).fill(3), {}, acct())).toBeNull();
      expect(bs.writeZeroes(1 << 20, len - (1 << 20), {}, acct())).toBeNull();
      expect(read(bs, 1 << 20, len - (1 << 20)).every((b) => b === 0)).toBe(true);
      expect(read(bs, len - 70000, 10).every((b) => b === 3)).toBe(true);
      graph.close();
    }
  });
});

describe('qcow2 against corrupted images', () => {
  it('never throws: random bytes in the header and metadata give errors, not exceptions (property)', () => {
    const f = make({ cluster_size: 512 }, 256 * 1024);
    {
      const { graph, bs } = mustOpen(f);
      for (let i = 0; i < 20; i++) expect(bs.pwritev(i * 9000, new Uint8Array(700).fill(i + 1), {}, acct())).toBeNull();
      graph.close();
    }
    const pristine = readFileSync(f);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(pristine.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), fc.boolean(), (edits, ro) => {
        const bytes = Buffer.from(pristine);
        for (const [at, v] of edits) bytes[at % Math.min(bytes.length, 12 * 512)] = v;
        const g = join(dir, `fuzz${n++}.qcow2`);
        writeFileSync(g, bytes);
        const { graph, r } = open(g, { 'read-only': ro });
        if (E.isRight(r)) {
          const bs = r.right;
          const len = Math.min(bs.getLength(), 1 << 20);
          const buf = new Uint8Array(4096);
          for (let off = 0; off + 4096 <= len; off += 4096) bs.preadv(off, buf, acct());
          if (!ro && len > 8192) {
            bs.pwritev(1000, new Uint8Array(5000).fill(9), {}, acct());
            bs.writeZeroes(0, 4096, { mayUnmap: true }, acct());
            bs.discard(0, 8192, acct());
            bs.flush(acct());
          }
          bs.blockStatus(0, Math.max(1, len));
        }
        graph.close();
        rmSync(g);
      }),
      { numRuns: runsFuzz },
    );
  });
});
