/**
 * qcow2 persistent dirty bitmaps against the real qemu-img / qemu-io (qemu-utils 7.2):
 * - on images qemu-img gives bitmaps (`bitmap --add` with granularities, `--disable`,
 *   `--enable`, `--clear`, `--merge`, `--remove`, qemu-io writes between them), cluster
 *   sizes 512 B and 64 KiB: iopath's check finds them as sound as qemu-img's does (the
 *   bitmap directory, tables and data are referenced), iopath's info lists the bitmaps
 *   qemu-img info lists, and after iopath's `check -r leaks` and `-r all` qemu-img still
 *   finds the image clean with the same bitmaps;
 * - the same image after a program without bitmap support wrote it (autoclear bit clear):
 *   both find the bitmap clusters leaked, and after iopath's `-r leaks` qemu-img finds it clean;
 * - iopath keeps them true while it writes (write, write-zeroes, discard): the same bits
 *   as qemu-io sets for the same requests on a copy (read back by iopath's bitmap reader,
 *   which also agrees with the ranges written, at each bitmap's granularity), the same
 *   bitmaps in qemu-img info, qemu-img check clean, the same guest data.
 *
 * Runs: 4 (IOPATH_DEEP=1: 40).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../host/storage/index.js';
import type { CheckFix, ImageCheckResult } from '../host/storage/image-api.js';
import { openImage } from '../host/storage/img/image.js';
import { DirtyBitmap, infoFlags, loadBitmapData, loadBitmaps } from '../host/storage/drivers/qcow2/bitmaps/index.js';
import type { Qcow2Node } from '../host/storage/drivers/qcow2/driver.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';
import { openQcow2, qemuCheck } from './support/qcow2-io.js';
import { runs } from './support/vm.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-bitmaps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const fresh = (name: string): string => join(dir, `${seq++}-${name}`);
const acct = () => ({ ns: 0 });
const DISK = 4 << 20;


/** iopath's check, opened as qemu-img check opens (BDRV_O_CHECK, writable to repair). */
function ourCheck(img: string, fix: CheckFix = { leaks: false, errors: false }): ImageCheckResult {
  const opened = openImage(img, { format: 'qcow2', writable: fix.leaks || fix.errors, check: true });
  if (E.isLeft(opened)) throw new Error(opened.left._tag);
  const { bs } = opened.right;
  const r = bs.drv.check!(bs.opaque, fix, acct());
  expect(opened.right.close()).toBeNull();
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

interface BitmapInfo {
  flags: string[];
  name: string;
  granularity: number;
}
function qemuBitmaps(img: string): BitmapInfo[] | undefined {
  const j = JSON.parse(runPeer('qemu-img', ['info', '--output=json', img])) as { 'format-specific': { data: { bitmaps?: BitmapInfo[] } } };
  return j['format-specific'].data.bitmaps;
}
function ourBitmaps(img: string): BitmapInfo[] | undefined {
  const { bs, graph } = openQcow2(img, { 'read-only': true });
  const info = bs.drv.info!(bs.opaque);
  graph.close();
  return info.formatSpecific?.data.bitmaps as BitmapInfo[] | undefined;
}

/** Clear the bitmaps autoclear bit by hand, as a program without bitmap support does. */
function clearAutoclear(img: string): void {
  const fd = openSync(img, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, 95);
  b[0] &= ~1;
  writeSync(fd, b, 0, 1, 95);
  closeSync(fd);
}

const NAMES = ['b0', 'b1', 'b2'];
const opArb = fc.oneof(
  fc.record({ op: fc.constant('write' as const), off: fc.nat({ max: DISK - 1 }), len: fc.integer({ min: 1, max: 300_000 }), v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('add' as const), name: fc.constantFrom(...NAMES), gbits: fc.integer({ min: 9, max: 20 }), disable: fc.boolean() }),
  fc.record({ op: fc.constantFrom('remove' as const, 'clear' as const, 'enable' as const, 'disable' as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ op: fc.constant('merge' as const), name: fc.constantFrom(...NAMES), from: fc.constantFrom(...NAMES) }),
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** Apply `op` with qemu-io / qemu-img bitmap; an operation on a bitmap that is not there just fails. */
function apply(img: string, op: Op): void {
  if (op.op === 'write') {
    runPeer('qemu-io', ['-f', 'qcow2', '-c', `write -P ${op.v} ${op.off} ${Math.min(op.len, DISK - op.off)}`, img]);
    return;
  }
  const args = ['bitmap'];
  if (op.op === 'add') args.push('--add', '-g', String(2 ** op.gbits), ...(op.disable ? ['--disable'] : []));
  else if (op.op === 'merge') args.push('--merge', op.from);
  else args.push(`--${op.op}`);
  spawnSync('qemu-img', [...args, '-f', 'qcow2', img, op.name], { encoding: 'utf8' });
}

const clean = { corruptions: 0, leaks: 0, 'check-errors': 0 };
const counts = (r: ImageCheckResult) => ({ corruptions: r.corruptions, leaks: r.leaks, 'check-errors': r.checkErrors });

/** Each bitmap of `img` as iopath's reader finds it: [name, info flags, dirty granules as [start, end) ranges]. */
function bitmapContents(img: string): Array<[string, string[], Array<[number, number]>]> {
  const { bs, graph } = openQcow2(img, { 'read-only': true });
  const s = (bs.opaque as Qcow2Node).s;
  const at = { file: s.file, clusterSize: s.clusterSize, diskSize: s.size };
  const loaded = s.bitmaps ? loadBitmaps(at, s.bitmaps, acct()) : E.right([]);
  if (E.isLeft(loaded)) throw new Error(loaded.left);
  const out = loaded.right.map((l): [string, string[], Array<[number, number]>] => {
    const bm = loadBitmapData(at, l, acct());
    if (!(bm instanceof DirtyBitmap)) throw new Error(bm.message);
    return [new TextDecoder().decode(l.entry.name), infoFlags(l.entry.flags), dirtyRuns(bm)];
  });
  graph.close();
  return out;
}

function dirtyRuns(bm: DirtyBitmap): Array<[number, number]> {
  const g = 2 ** bm.granularityBits;
  const runs: Array<[number, number]> = [];
  for (let o = 0; o < bm.diskSize; o += g) {
    if (!bm.isDirty(o)) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === o) last[1] = Math.min(o + g, bm.diskSize);
    else runs.push([o, Math.min(o + g, bm.diskSize)]);
  }
  return runs;
}

const ioArb = fc.record({
  kind: fc.constantFrom('write' as const, 'zero' as const, 'discard' as const),
  off: fc.nat({ max: DISK - 1 }),
  len: fc.integer({ min: 1, max: 300_000 }),
  v: fc.integer({ min: 1, max: 255 }),
});

describe.skipIf(!enabled)('qcow2 persistent bitmaps against qemu-img 7.2', () => {
  it('bitmaps stay true when iopath writes: the same bits as qemu-io sets, stored so that qemu-img check is clean', () => {
    fc.assert(
      fc.property(fc.constantFrom(512, 65536), fc.integer({ min: 9, max: 20 }), fc.array(ioArb, { minLength: 1, maxLength: 6 }), (cluster, gbits, ios) => {
        const base = fresh('base.qcow2');
        runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `cluster_size=${cluster}`, base, String(DISK)]);
        runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 9 1M 100k', base]);
        runPeer('qemu-img', ['bitmap', '--add', base, 'on']);
        runPeer('qemu-img', ['bitmap', '--add', '--disable', base, 'off']);
        runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 8 2M 4k', base]);
        runPeer('qemu-img', ['bitmap', '--add', '-g', String(2 ** gbits), base, 'fine']);
        const theirs = fresh('theirs.qcow2');
        const ours = fresh('ours.qcow2');
        copyFileSync(base, theirs);
        copyFileSync(base, ours);
        const lens = ios.map((io) => Math.min(io.len, DISK - io.off));
        runPeer('qemu-io', ['-f', 'qcow2', ...ios.flatMap((io, i) => ['-c', io.kind === 'write' ? `write -P ${io.v} ${io.off} ${lens[i]}` : io.kind === 'zero' ? `write -z ${io.off} ${lens[i]}` : `discard ${io.off} ${lens[i]}`]), theirs]);
        // As qemu-io opens: discard=unmap.
        const { bs, graph } = openQcow2(ours, { 'read-only': false, discard: 'unmap', file: { driver: 'file', filename: ours, discard: 'unmap' } });
        ios.forEach((io, i) => {
          const r =
            io.kind === 'write' ? bs.pwritev(io.off, new Uint8Array(lens[i]).fill(io.v), {}, acct()) : io.kind === 'zero' ? bs.writeZeroes(io.off, lens[i], {}, acct()) : bs.discard(io.off, lens[i], acct());
          expect(r).toBeNull();
        });
        graph.close();
        expect(qemuCheck(ours)).toEqual(clean);
        expect(qemuBitmaps(ours)).toEqual(qemuBitmaps(theirs));
        const want = bitmapContents(theirs);
        expect(bitmapContents(ours)).toEqual(want);
        // The reader agrees with the model too: 'fine' (added after the last qemu-io write of
        // the base) holds exactly the granules touched, 'on' covers them, 'off' holds nothing.
        const g = 2 ** gbits;
        const granules = new Set<number>();
        ios.forEach((io, i) => {
          for (let k = Math.floor(io.off / g); k <= Math.floor((io.off + lens[i] - 1) / g); k++) granules.add(k);
        });
        const expected: Array<[number, number]> = [];
        for (const k of [...granules].sort((a, b) => a - b)) {
          const last = expected[expected.length - 1];
          if (last && last[1] === k * g) last[1] = Math.min((k + 1) * g, DISK);
          else expected.push([k * g, Math.min((k + 1) * g, DISK)]);
        }
        const byName = new Map(want.map(([name, , r]) => [name, r]));
        expect(byName.get('fine')).toEqual(expected);
        expect(byName.get('off')).toEqual([]);
        const on = byName.get('on')!;
        const covered = (o: number): boolean => on.some(([a, b]) => a <= o && o < b);
        ios.forEach((io, i) => expect([covered(io.off), covered(io.off + lens[i] - 1)]).toEqual([true, true]));
        expect(spawnSync('qemu-img', ['compare', '-q', theirs, ours]).status).toBe(0);
      }),
      { numRuns: runs(4) },
    );
  });

  it('check and info agree with qemu-img, and iopath repairs keep the bitmaps', () => {
    fc.assert(
      fc.property(fc.constantFrom(512, 65536), fc.array(opArb, { minLength: 1, maxLength: 8 }), (cluster, ops) => {
        const img = fresh('b.qcow2');
        runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `cluster_size=${cluster}`, img, String(DISK)]);
        runPeer('qemu-img', ['bitmap', '--add', img, 'b0']);
        for (const op of ops) apply(img, op);
        const bitmaps = qemuBitmaps(img);
        expect(qemuCheck(img)).toEqual(clean);
        const c = ourCheck(img);
        expect([counts(c), c.messages]).toEqual([clean, []]);
        expect(ourBitmaps(img)).toEqual(bitmaps);
        // A repair of a sound image changes no bitmap.
        for (const fix of [{ leaks: true, errors: false }, { leaks: true, errors: true }]) {
          expect(counts(ourCheck(img, fix))).toEqual(clean);
          expect(qemuCheck(img)).toEqual(clean);
          expect(qemuBitmaps(img)).toEqual(bitmaps);
        }
        // Written by a program that does not know bitmaps: their clusters are leaks to both.
        if (bitmaps) {
          clearAutoclear(img);
          const theirs = qemuCheck(img);
          expect(theirs.leaks).toBeGreaterThan(0);
          expect(counts(ourCheck(img))).toEqual(theirs);
          expect(ourBitmaps(img)).toBeUndefined();
          expect(ourCheck(img, { leaks: true, errors: false }).leaksFixed).toBe(theirs.leaks);
          expect(qemuCheck(img)).toEqual(clean);
          expect(qemuBitmaps(img)).toBeUndefined();
        }
      }),
      { numRuns: runs(4) },
    );
  });
});
