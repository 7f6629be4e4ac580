/**
 * qcow2 against the real qemu-img / qemu-io (qemu-utils 7.2):
 * - images qemu-img makes (cluster sizes 512 B to 2 MiB, refcount widths 1 to 64 bits,
 *   compat 0.10 and 1.1, extended L2, backing chains, compressed clusters), written by
 *   qemu-io at unaligned offsets and with write -z, read back through iopath byte for
 *   byte as `qemu-img convert -O raw` gives them;
 * - images iopath makes and writes (random writes including partial clusters,
 *   write-zeroes, discards) pass `qemu-img check` without errors or leaks, and
 *   `qemu-img compare` finds them identical to a raw image of the same writes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage, createImage } from '../host/storage/index.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';
import { openQcow2, qemuRaw, readAll } from './support/qcow2-io.js';
import { runs } from './support/vm.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const acct = () => ({ ns: 0 });
/** The suites' qcow2 nodes pass discards down (discard=unmap). */
const UNMAP = { discard: 'unmap' };
let seq = 0;
const fresh = (name: string): string => join(dir, `${seq++}-${name}`);




function expectClean(img: string): void {
  const out = JSON.parse(runPeer('qemu-img', ['check', '--output=json', img])) as Record<string, unknown>;
  expect(out['check-errors'] ?? 0).toBe(0);
  expect(out.corruptions ?? 0).toBe(0);
  expect(out.leaks ?? 0).toBe(0);
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const SIZE = 8 << 20;

describe.skipIf(!enabled)('qcow2: images qemu made, read by iopath', () => {
  const cases: Array<[string, string[]]> = [
    ['512 B clusters', ['-o', 'cluster_size=512']],
    ['4 KiB clusters, refcount_bits=1', ['-o', 'cluster_size=4096,refcount_bits=1']],
    ['64 KiB clusters, compat 0.10', ['-o', 'compat=0.10']],
    ['64 KiB clusters, refcount_bits=64', ['-o', 'refcount_bits=64']],
    ['2 MiB clusters', ['-o', 'cluster_size=2M']],
    ['extended L2, 32 KiB clusters', ['-o', 'extended_l2=on,cluster_size=32k']],
  ];
  for (const [name, opts] of cases) {
    it(name, () => {
      const img = fresh('q.qcow2');
      runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', ...opts, img, String(SIZE)]);
      const zero = opts.join().includes('compat=0.10') ? [] : ['-c', 'write -z 1000000 300000'];
      runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 4097 70000', '-c', 'write -P 0x5c 1048063 1025', '-c', 'write -P 0x11 900000 500000', ...zero, '-c', 'write -P 0x77 7340032 1048576', img]);
      const { bs, graph } = openQcow2(img, UNMAP);
      const ours = readAll(bs);
      graph.close();
      expect(firstDiff(ours, qemuRaw(img))).toBe(-1);
    });
  }

  it('a backing chain qcow2 → qcow2 → raw, names relative to the image', () => {
    const base = fresh('base.raw');
    writeFileSync(base, new Uint8Array(SIZE).fill(0x42));
    const mid = fresh('mid.qcow2');
    const top = fresh('top.qcow2');
    runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base.split('/').pop()!, '-F', 'raw', mid]);
    runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x01 65535 3', '-c', 'write -z 2000000 65536', mid]);
    runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', mid.split('/').pop()!, '-F', 'qcow2', top]);
    runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x02 100 10', top]);
    const { bs, graph } = openQcow2(top, UNMAP);
    const ours = readAll(bs);
    graph.close();
    expect(firstDiff(ours, qemuRaw(top))).toBe(-1);
  });
});

interface Op {
  readonly kind: 'write' | 'zero' | 'discard';
  readonly offset: number;
  readonly bytes: number;
  readonly fill: number;
}

const opArb = (size: number): fc.Arbitrary<Op> =>
  fc.record({
    kind: fc.constantFrom<Op['kind']>('write', 'write', 'write', 'zero', 'discard'),
    offset: fc.integer({ min: 0, max: size - 1 }),
    bytes: fc.integer({ min: 1, max: 300_000 }),
    fill: fc.integer({ min: 1, max: 255 }),
  }).map((o) => ({ ...o, bytes: Math.min(o.bytes, size - o.offset) }));

describe.skipIf(!enabled)('qcow2: images iopath made and wrote, checked by qemu-img', () => {
  const configs: Array<[string, Record<string, unknown>]> = [
    ['64k', {}],
    ['4k refcount_bits=2', { cluster_size: 4096, refcount_bits: 2 }],
    ['512', { cluster_size: 512 }],
    ['compat 0.10', { compat: '0.10' }],
    ['extended L2', { extended_l2: true }],
    ['lazy refcounts', { lazy_refcounts: true }],
  ];
  for (const [name, opts] of configs) {
    it(`${name}: random writes, zeroes and discards (property)`, () => {
      fc.assert(
        fc.property(fc.array(opArb(SIZE), { minLength: 1, maxLength: 20 }), (ops) => {
          const img = fresh('w.qcow2');
          const r = createImage('qcow2', img, SIZE, opts);
          if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
          const model = new Uint8Array(SIZE);
          const { bs, graph } = openQcow2(img, UNMAP);
          for (const op of ops) {
            let err;
            if (op.kind === 'write') {
              const data = new Uint8Array(op.bytes).fill(op.fill);
              err = bs.pwritev(op.offset, data, {}, acct());
              model.fill(op.fill, op.offset, op.offset + op.bytes);
            } else if (op.kind === 'zero') {
              err = bs.writeZeroes(op.offset, op.bytes, { mayUnmap: op.fill % 2 === 0 }, acct());
              model.fill(0, op.offset, op.offset + op.bytes);
            } else {
              err = bs.discard(op.offset, op.bytes, acct());
              // Discarded whole clusters read as zeroes (v3: zero flag; v2: unallocated, no backing file).
              const cs = (opts.cluster_size as number | undefined) ?? 65536;
              const a = Math.ceil(op.offset / cs) * cs;
              const b = op.offset + op.bytes === SIZE ? SIZE : Math.floor((op.offset + op.bytes) / cs) * cs;
              if (b > a) model.fill(0, a, b);
            }
            expect(err).toBeNull();
          }
          expect(firstDiff(readAll(bs), model)).toBe(-1);
          expect(bs.flush(acct())).toBeNull();
          graph.close();
          expectClean(img);
          const raw = `${img}.model`;
          writeFileSync(raw, model);
          runPeer('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', img, raw]);
        }),
        { numRuns: runs(4), endOnFailure: true },
      );
    });
  }
});

describe.skipIf(!enabled)('qcow2: compressed clusters', () => {
  for (const type of ['zlib', 'zstd']) {
    it(`${type}: clusters qemu-io and qemu-img convert -c compressed read back`, () => {
      const img = fresh(`c-${type}.qcow2`);
      runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compression_type=${type},cluster_size=4096`, img, String(SIZE)]);
      runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -c -P 0x3c 0 8192', '-c', 'write -c -P 0x3d 16384 4096', '-c', 'write -P 0x01 20000 100', img]);
      const src = fresh('src.raw');
      const text = new Uint8Array(SIZE);
      for (let i = 0; i < text.length; i++) text[i] = (i * 7) % 13 === 0 ? i & 0xff : 0x61 + (i % 5);
      writeFileSync(src, text);
      const conv = fresh(`conv-${type}.qcow2`);
      runPeer('qemu-img', ['convert', '-c', '-O', 'qcow2', '-o', `compression_type=${type}`, src, conv]);
      for (const f of [img, conv]) {
        const { bs, graph } = openQcow2(f, UNMAP);
        const ours = readAll(bs);
        graph.close();
        expect(firstDiff(ours, qemuRaw(f))).toBe(-1);
      }
    });
  }

  it('iopath writes zlib-compressed clusters that qemu-img checks and reads', () => {
    const img = fresh('wc.qcow2');
    const r = createImage('qcow2', img, SIZE, { cluster_size: 4096 });
    if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
    const { bs, graph } = openQcow2(img, UNMAP);
    const data = new Uint8Array(3 * 4096);
    for (let i = 0; i < data.length; i++) data[i] = i % 3 === 0 ? 0x20 : i % 251;
    const random = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    const write = bs.drv.writeCompressed!;
    expect(write(bs.opaque, 8192, data, acct())).toBeNull();
    expect(write(bs.opaque, 65536, random, acct())).toBeNull();
    expect(write(bs.opaque, 8192, data.subarray(0, 4096), acct())?.message).toMatch(/can't overwrite/);
    expect(bs.pwritev(8192 + 100, new Uint8Array([9, 9, 9]), {}, acct())).toBeNull();
    const model = new Uint8Array(SIZE);
    model.set(data, 8192);
    model.set(random, 65536);
    model.set([9, 9, 9], 8292);
    expect(firstDiff(readAll(bs), model)).toBe(-1);
    graph.close();
    expectClean(img);
    expect(firstDiff(qemuRaw(img), model)).toBe(-1);
    const map = JSON.parse(runPeer('qemu-img', ['map', '--output=json', img])) as Array<{ start: number; data: boolean; offset?: number }>;
    // Compressed clusters have data but no plain host offset.
    expect(map.some((e) => e.start === 12288 && e.data && e.offset === undefined)).toBe(true);
  });
});

describe.skipIf(!enabled)('qcow2: over a backing file, external data files, preallocation', () => {
  for (const ext of [false, true]) {
    it(`${ext ? 'extended L2' : 'standard L2'}: partial writes over a backing file copy the rest from it (property)`, () => {
      fc.assert(
        fc.property(fc.array(opArb(SIZE), { minLength: 1, maxLength: 12 }), (ops) => {
          const base = fresh('base.raw');
          const model = new Uint8Array(SIZE).map((_, i) => (i >> 9) & 0xff);
          writeFileSync(base, model);
          const img = fresh('over.qcow2');
          const r = createImage('qcow2', img, SIZE, { backing_file: base.split('/').pop(), backing_fmt: 'raw', extended_l2: ext, cluster_size: 32768 });
          if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
          const { bs, graph } = openQcow2(img, UNMAP);
          for (const op of ops) {
            if (op.kind === 'discard') continue;
            if (op.kind === 'write') expect(bs.pwritev(op.offset, new Uint8Array(op.bytes).fill(op.fill), {}, acct())).toBeNull();
            else expect(bs.writeZeroes(op.offset, op.bytes, {}, acct())).toBeNull();
            model.fill(op.kind === 'write' ? op.fill : 0, op.offset, op.offset + op.bytes);
          }
          expect(firstDiff(readAll(bs), model)).toBe(-1);
          graph.close();
          expectClean(img);
          expect(firstDiff(qemuRaw(img), model)).toBe(-1);
        }),
        { numRuns: runs(4), endOnFailure: true },
      );
    });
  }

  it('reads subclusters qemu-io allocated over a backing file', () => {
    const base = fresh('b.raw');
    writeFileSync(base, new Uint8Array(SIZE).fill(0xee));
    const img = fresh('sub.qcow2');
    runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', '-b', base.split('/').pop()!, '-F', 'raw', img]);
    runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x01 2048 100', '-c', 'write -z 8192 4096', '-c', 'write -P 0x02 70000 5000', img]);
    const { bs, graph } = openQcow2(img, UNMAP);
    const ours = readAll(bs);
    graph.close();
    expect(firstDiff(ours, qemuRaw(img))).toBe(-1);
  });

  it('external data files: qemu-made ones read, iopath-made ones (raw too) pass check and hold the guest bytes', () => {
    const img = fresh('ext.qcow2');
    runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${img}.data`, img, String(SIZE)]);
    runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x21 1000 70000', img]);
    const q = openQcow2(img, UNMAP);
    const theirs = readAll(q.bs);
    q.graph.close();
    expect(firstDiff(theirs, qemuRaw(img))).toBe(-1);

    const ours = fresh('ours.qcow2');
    const r = createImage('qcow2', ours, SIZE, { data_file: `${ours}.data`, data_file_raw: true });
    if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
    const info = JSON.parse(runPeer('qemu-img', ['info', '--output=json', ours])) as { 'format-specific': { data: Record<string, unknown> } };
    expect(info['format-specific'].data).toMatchObject({ 'data-file': `${ours}.data`, 'data-file-raw': true });
    const o = openQcow2(ours, UNMAP);
    const model = new Uint8Array(SIZE);
    expect(o.bs.pwritev(5000, new Uint8Array(100000).fill(0x33), {}, acct())).toBeNull();
    model.fill(0x33, 5000, 105000);
    expect(o.bs.writeZeroes(6000, 1000, {}, acct())).toBeNull();
    model.fill(0, 6000, 7000);
    o.graph.close();
    expectClean(ours);
    expect(firstDiff(qemuRaw(ours), model)).toBe(-1);
    expect(firstDiff(new Uint8Array(readFileSync(`${ours}.data`)), model)).toBe(-1);
  });

  for (const mode of ['metadata', 'falloc', 'full']) {
    it(`preallocation=${mode}: every cluster mapped, check clean, reads zeroes`, () => {
      const img = fresh(`pre-${mode}.qcow2`);
      const r = createImage('qcow2', img, SIZE, { preallocation: mode });
      if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
      expectClean(img);
      const map = JSON.parse(runPeer('qemu-img', ['map', '--output=json', img])) as Array<{ data: boolean; zero: boolean; length: number }>;
      expect(map.every((e) => e.data)).toBe(true);
      const { bs, graph } = openQcow2(img, UNMAP);
      expect(readAll(bs).every((b) => b === 0)).toBe(true);
      graph.close();
    });
  }

  it('qemu-img info shows the options asked for; shrinking and growing keep the image clean', () => {
    const img = fresh('info.qcow2');
    const r = createImage('qcow2', img, SIZE, { cluster_size: 16384, refcount_bits: 8, lazy_refcounts: true, extended_l2: true, compression_type: 'zstd' });
    if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
    const info = JSON.parse(runPeer('qemu-img', ['info', '--output=json', img])) as Record<string, unknown> & { 'format-specific': { data: unknown } };
    expect(info['cluster-size']).toBe(16384);
    expect(info['format-specific'].data).toEqual({ compat: '1.1', 'compression-type': 'zstd', 'lazy-refcounts': true, 'refcount-bits': 8, corrupt: false, 'extended-l2': true });
    const { bs, graph } = openQcow2(img, UNMAP);
    expect(bs.drv.info!(bs.opaque).formatSpecific).toEqual({ type: 'qcow2', data: info['format-specific'].data });
    expect(bs.pwritev(SIZE - 70000, new Uint8Array(70000).fill(4), {}, acct())).toBeNull();
    expect(bs.truncate(SIZE / 2)).toBeNull();
    expect(bs.truncate(SIZE * 4)).toBeNull();
    expect(bs.pwritev(SIZE * 3, new Uint8Array(1000).fill(5), {}, acct())).toBeNull();
    graph.close();
    expectClean(img);
    const raw = qemuRaw(img);
    expect(raw.length).toBe(SIZE * 4);
    expect(raw.subarray(0, SIZE * 3).every((b) => b === 0)).toBe(true);
    expect(raw.subarray(SIZE * 3, SIZE * 3 + 1000).every((b) => b === 5)).toBe(true);
  });
});

describe.skipIf(!enabled)('qcow2: block status and power cuts', () => {
  it('block status matches qemu-img map (data, zero, host offsets)', () => {
    const base = fresh('bs-base.raw');
    writeFileSync(base, new Uint8Array(SIZE).fill(1));
    const img = fresh('bs.qcow2');
    runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base.split('/').pop()!, '-F', 'raw', img]);
    runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x01 0 100000', '-c', 'write -z 300000 200000', '-c', 'write -c -P 0x02 1048576 65536', img]);
    const { bs, graph } = openQcow2(img, UNMAP);
    const ours: Array<{ start: number; length: number; zero: boolean; data: boolean; offset?: number }> = [];
    for (let off = 0; off < SIZE; ) {
      const st = bs.blockStatus(off, SIZE - off);
      if (st.flags & 0x10) ours.push({ start: off, length: st.pnum, zero: (st.flags & 2) !== 0, data: (st.flags & 1) !== 0, offset: st.flags & 4 ? st.map : undefined });
      off += st.pnum;
    }
    graph.close();
    const theirs = (JSON.parse(runPeer('qemu-img', ['map', '--output=json', img])) as Array<{ start: number; length: number; depth: number; zero: boolean; data: boolean; offset?: number }>)
      .filter((e) => e.depth === 0)
      .map(({ start, length, zero, data, offset }) => ({ start, length, zero, data, offset }));
    // qemu-img map merges runs whose host offsets continue; merge ours the same way.
    const merged: typeof ours = [];
    for (const e of ours) {
      const p = merged[merged.length - 1];
      const contiguous = p && p.start + p.length === e.start && p.zero === e.zero && p.data === e.data && (p.offset === undefined ? e.offset === undefined : e.offset === p.offset + p.length);
      if (contiguous) p.length += e.length;
      else merged.push({ ...e });
    }
    expect(merged).toEqual(theirs);
  });

  it('after a power cut the image has no corruption and keeps what was flushed (property)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.oneof(opArb(SIZE), fc.constant('flush' as const)), { minLength: 1, maxLength: 25 }),
        (lazy, ops) => {
          const img = fresh('cut.qcow2');
          const r = createImage('qcow2', img, SIZE, { cluster_size: 4096, lazy_refcounts: lazy });
          if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
          const { bs, graph } = openQcow2(img, UNMAP);
          const durable = new Uint8Array(SIZE);
          const current = new Uint8Array(SIZE);
          const touched = new Uint8Array(SIZE);
          for (const op of ops) {
            if (op === 'flush') {
              expect(bs.flush(acct())).toBeNull();
              durable.set(current);
              touched.fill(0);
              continue;
            }
            if (op.kind === 'discard') continue;
            const fill = op.kind === 'write' ? op.fill : 0;
            expect(op.kind === 'write' ? bs.pwritev(op.offset, new Uint8Array(op.bytes).fill(fill), {}, acct()) : bs.writeZeroes(op.offset, op.bytes, {}, acct())).toBeNull();
            current.fill(fill, op.offset, op.offset + op.bytes);
            touched.fill(1, op.offset, op.offset + op.bytes);
          }
          graph.powerCut();
          const after = readAll(bs);
          graph.close();
          for (let i = 0; i < SIZE; i++) if (!touched[i] && after[i] !== durable[i]) expect(`byte ${i}: ${after[i]}`).toBe(`byte ${i}: ${durable[i]}`);
          // Exit status 3 (leaked clusters) is allowed after a power cut; corruption is not.
          const chk = spawnSync('qemu-img', ['check', '--output=json', img], { encoding: 'utf8' });
          expect([0, 3]).toContain(chk.status);
          const out = JSON.parse(chk.stdout) as Record<string, number>;
          expect(out.corruptions ?? 0).toBe(0);
          expect(out['check-errors'] ?? 0).toBe(0);
        },
      ),
      { numRuns: runs(6), endOnFailure: true },
    );
  });
});

describe.skipIf(!enabled)('qcow2: create', () => {
  const combos = ['', 'compat=0.10', 'cluster_size=512', 'cluster_size=4096,refcount_bits=1', 'cluster_size=2M', 'refcount_bits=64', 'extended_l2=on,lazy_refcounts=on', 'compression_type=zstd', 'preallocation=metadata'];
  for (const o of combos) {
    it(`is byte for byte qemu-img create ${o || '(defaults)'}`, () => {
      const opts: Record<string, unknown> = {};
      for (const kv of o ? o.split(',') : []) {
        const [k, v] = kv.split('=');
        opts[k] = v === 'on' ? true : v;
      }
      const ours = fresh('ours.qcow2');
      const theirs = fresh('theirs.qcow2');
      const r = createImage('qcow2', ours, 1 << 30, opts);
      if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
      runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', ...(o ? ['-o', o] : []), theirs, '1G']);
      expect(firstDiff(new Uint8Array(readFileSync(ours)), new Uint8Array(readFileSync(theirs)))).toBe(-1);
      expectClean(ours);
    });
  }
});
