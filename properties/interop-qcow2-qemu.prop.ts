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
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage, BlockGraph, createImage, type BlockDriverState } from '../host/storage/index.js';
import { newBlockEnv } from '../host/storage/testing.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';
import { runs } from './support/vm.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const acct = () => ({ ns: 0 });
let seq = 0;
const fresh = (name: string): string => join(dir, `${seq++}-${name}`);

/** Open `file` as qcow2 in a new graph; returns the node and the graph to close. */
function openQcow2(file: string, extra: Record<string, unknown> = {}): { bs: BlockDriverState; graph: BlockGraph } {
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'qcow2', discard: 'unmap', file: { driver: 'file', filename: file }, ...extra });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bs: r.right, graph };
}

function readAll(bs: BlockDriverState): Uint8Array {
  const out = new Uint8Array(bs.getLength());
  const err = bs.preadv(0, out, acct());
  if (err) throw new Error(err.message);
  return out;
}

/** What qemu-img sees as the guest disk. */
function qemuRaw(img: string): Uint8Array {
  const raw = `${img}.raw`;
  runPeer('qemu-img', ['convert', '-O', 'raw', img, raw]);
  return new Uint8Array(readFileSync(raw));
}

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
      const { bs, graph } = openQcow2(img);
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
    const { bs, graph } = openQcow2(top);
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
          const { bs, graph } = openQcow2(img);
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
        { numRuns: runs(4) },
      );
    });
  }
});
