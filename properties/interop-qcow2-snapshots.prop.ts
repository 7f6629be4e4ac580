/**
 * qcow2 internal snapshots and check against the real qemu-img / qemu-io (qemu-utils 7.2):
 * - images qemu-img makes with snapshots (`snapshot -c`, qemu-io writes between them),
 *   cluster sizes 512 B and 64 KiB, refcount widths 4 and 16, with and without extended
 *   L2: iopath reads every snapshot (loadTmp) as `qemu-img convert -l` gives it, and the
 *   active layer as `convert` does; iopath's check finds them sound;
 * - snapshots iopath makes between random writes are listed by `qemu-img snapshot -l`,
 *   pass `qemu-img check`, and read back through qemu-img as the model says; qemu-img's
 *   snapshot -a / -d on them leave an image iopath reads and checks as sound;
 * - on images damaged on purpose (refcounts written by hand too high, too low, an
 *   unreferenced cluster) iopath's check finds as many corruptions and leaks as qemu-img's,
 *   and after iopath's `-r all` qemu-img finds the image clean (and the other way round).
 *
 * Runs: 4 (IOPATH_DEEP=1: 40).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage, createImage } from '../host/storage/index.js';
import type { CheckFix, ImageCheckResult } from '../host/storage/image-api.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';
import { openQcow2, qemuCheck, qemuRaw, readAll } from './support/qcow2-io.js';
import { firstDiff, runs } from './support/vm.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-snap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const fresh = (name: string): string => join(dir, `${seq++}-${name}`);
const acct = () => ({ ns: 0 });





function ourCheck(img: string, fix: CheckFix = { leaks: false, errors: false }): ImageCheckResult {
  const { bs, graph } = openQcow2(img, { 'read-only': !fix.leaks && !fix.errors });
  const r = bs.drv.check!(bs.opaque, fix, acct());
  graph.close();
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

const geometryArb = fc.record({
  cluster: fc.constantFrom(512, 65536),
  // 1-bit refcounts cannot count a second reference: no snapshot (tested on its own below).
  refcountBits: fc.constantFrom(4, 16),
  extendedL2: fc.boolean(),
});
const writeArb = fc.record({ off: fc.nat({ max: (1 << 20) - 1 }), len: fc.integer({ min: 1, max: 150_000 }), v: fc.integer({ min: 1, max: 255 }) });

describe.skipIf(!enabled)('qcow2 internal snapshots against qemu-img 7.2', () => {
  it('reads every snapshot of a qemu-img image as qemu-img convert -l does', () => {
    fc.assert(
      fc.property(geometryArb, fc.array(fc.array(writeArb, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 }), (g, rounds) => {
        if (g.extendedL2 && g.cluster < 16384) g = { ...g, cluster: 65536 };
        const img = fresh('theirs.qcow2');
        runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `cluster_size=${g.cluster},refcount_bits=${g.refcountBits},extended_l2=${g.extendedL2 ? 'on' : 'off'}`, img, '1M']);
        rounds.forEach((ws, i) => {
          const cmds = ws.flatMap((w) => ['-c', `write -P ${w.v} ${w.off} ${Math.min(w.len, (1 << 20) - w.off)}`]);
          runPeer('qemu-io', ['-f', 'qcow2', ...cmds, img]);
          runPeer('qemu-img', ['snapshot', '-c', `s${i}`, img]);
        });
        runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -z 4096 70000', img]);
        for (let i = 0; i < rounds.length; i++) {
          const { bs, graph } = openQcow2(img, { 'read-only': true });
          expect(bs.drv.snapshots!.loadTmp(bs.opaque, `s${i}`)).toBeNull();
          expect(firstDiff(readAll(bs), qemuRaw(img, `s${i}`))).toBe(-1);
          graph.close();
        }
        const { bs, graph } = openQcow2(img, { 'read-only': true });
        expect(firstDiff(readAll(bs), qemuRaw(img))).toBe(-1);
        expect(bs.drv.snapshots!.list(bs.opaque).map((s) => [s.id, s.name])).toEqual(rounds.map((_, i) => [String(i + 1), `s${i}`]));
        graph.close();
        const c = ourCheck(img);
        expect([c.corruptions, c.leaks, c.checkErrors, c.messages]).toEqual([0, 0, 0, []]);
      }),
      { numRuns: runs(4) },
    );
  });

  it('snapshots iopath makes are listed and read by qemu-img, pass its check, and survive its -a and -d', () => {
    fc.assert(
      fc.property(geometryArb, fc.array(fc.array(writeArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), (g, rounds) => {
        if (g.extendedL2 && g.cluster < 16384) g = { ...g, cluster: 65536 };
        const img = fresh('ours.qcow2');
        const made = createImage('qcow2', img, 1 << 20, { cluster_size: g.cluster, refcount_bits: g.refcountBits, extended_l2: g.extendedL2 });
        if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
        const model = new Uint8Array(1 << 20);
        const shots: Uint8Array[] = [];
        const { bs, graph } = openQcow2(img, { 'read-only': false });
        rounds.forEach((ws, i) => {
          for (const w of ws) {
            const n = Math.min(w.len, (1 << 20) - w.off);
            expect(bs.pwritev(w.off, new Uint8Array(n).fill(w.v), {}, acct())).toBeNull();
            model.fill(w.v, w.off, w.off + n);
          }
          expect(bs.drv.snapshots!.create(bs.opaque, { name: `n${i}`, vmStateSize: 0, dateSec: 1_700_000_000 + i, dateNsec: 0, vmClockNs: 0 })).toBeNull();
          shots.push(model.slice());
        });
        expect(bs.pwritev(0, new Uint8Array(1000).fill(0xee), {}, acct())).toBeNull();
        model.fill(0xee, 0, 1000);
        graph.close();
        const listed = runPeer('qemu-img', ['snapshot', '-l', img]).split('\n').slice(2).filter(Boolean).map((l) => l.split(/\s+/).slice(0, 2));
        expect(listed).toEqual(rounds.map((_, i) => [String(i + 1), `n${i}`]));
        expect(qemuCheck(img)).toEqual({ corruptions: 0, leaks: 0, 'check-errors': 0 });
        shots.forEach((want, i) => expect(firstDiff(qemuRaw(img, `n${i}`), want)).toBe(-1));
        expect(firstDiff(qemuRaw(img), model)).toBe(-1);
        runPeer('qemu-img', ['snapshot', '-a', 'n0', img]);
        runPeer('qemu-img', ['snapshot', '-d', `n${rounds.length - 1}`, img]);
        const after = openQcow2(img, { 'read-only': true });
        expect(firstDiff(readAll(after.bs), shots[0])).toBe(-1);
        after.graph.close();
        const c = ourCheck(img);
        expect([c.corruptions, c.leaks, c.checkErrors]).toEqual([0, 0, 0]);
      }),
      { numRuns: runs(4) },
    );
  });
});

describe.skipIf(!enabled)('qcow2 snapshots with 1-bit refcounts', () => {
  it('are refused as qemu-img refuses them (-22), leaking the same cluster', () => {
    const mk = (): string => {
      const img = fresh('rc1.qcow2');
      runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'refcount_bits=1', img, '1M']);
      runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write 0 512', img]);
      return img;
    };
    const theirs = mk();
    const r = spawnSync('qemu-img', ['snapshot', '-c', 's', theirs], { encoding: 'utf8' });
    expect(r.stderr.trim()).toBe("qemu-img: Could not create snapshot 's': -22 (Invalid argument)");
    const ours = mk();
    const { bs, graph } = openQcow2(ours, { 'read-only': false });
    const err = bs.drv.snapshots!.create(bs.opaque, { name: 's', vmStateSize: 0, dateSec: 0, dateNsec: 0, vmClockNs: 0 });
    graph.close();
    expect(err && blockErrorMessage(err)).toBe('-22 (Invalid argument)');
    expect(ourCheck(ours).messages).toEqual(ourCheck(theirs).messages);
    expect(qemuCheck(ours)).toEqual(qemuCheck(theirs));
  });
});

/** Set host cluster `index`'s 16-bit refcount in the first refcount block. */
function pokeRefcount(img: string, index: number, value: number): void {
  const b = readFileSync(img);
  const rb = Number(b.readBigUInt64BE(Number(b.readBigUInt64BE(48))));
  b.writeUInt16BE(value, rb + 2 * index);
  writeFileSync(img, b);
}

/** A 64 KiB-cluster image with a snapshot and data: clusters 0-3 metadata, then L2 and data. */
function damagedBase(): string {
  const img = fresh('damaged.qcow2');
  runPeer('qemu-img', ['create', '-q', '-f', 'qcow2', img, '4M']);
  runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 200k', img]);
  runPeer('qemu-img', ['snapshot', '-c', 'base', img]);
  runPeer('qemu-io', ['-f', 'qcow2', '-c', 'write -P 2 64k 64k', '-c', 'write -P 3 1M 64k', img]);
  return img;
}

const DAMAGE: ReadonlyArray<[string, (img: string) => void]> = [
  ['refcount too high', (img) => pokeRefcount(img, 5, 3)],
  ['refcount too low', (img) => pokeRefcount(img, 5, 1)],
  ['refcount of a used cluster 0', (img) => pokeRefcount(img, 6, 0)],
  [
    'an unreferenced cluster',
    (img) => {
      const b = readFileSync(img);
      const end = b.length;
      writeFileSync(img, Buffer.concat([b, Buffer.alloc(65536)]));
      pokeRefcount(img, end / 65536, 1);
    },
  ],
];

describe.skipIf(!enabled)('qcow2 check agrees with qemu-img check 7.2', () => {
  for (const [what, damage] of DAMAGE) {
    it(`${what}: same counts; each tool's -r all leaves an image the other finds clean`, () => {
      const a = damagedBase();
      damage(a);
      const b = fresh('copy.qcow2');
      copyFileSync(a, b);
      const theirs = qemuCheck(a);
      const ours = ourCheck(a);
      expect(theirs.corruptions + theirs.leaks).toBeGreaterThan(0);
      expect({ corruptions: ours.corruptions, leaks: ours.leaks, 'check-errors': ours.checkErrors }).toEqual(theirs);
      const fixed = ourCheck(a, { leaks: true, errors: true });
      expect(fixed.checkErrors).toBe(0);
      expect(qemuCheck(a)).toEqual({ corruptions: 0, leaks: 0, 'check-errors': 0 });
      qemuCheck(b, 'all');
      const again = ourCheck(b);
      expect([again.corruptions, again.leaks, again.checkErrors, again.messages]).toEqual([0, 0, 0, []]);
      expect(firstDiff(qemuRaw(a), qemuRaw(b))).toBe(-1);
      expect(firstDiff(qemuRaw(a, 'base'), qemuRaw(b, 'base'))).toBe(-1);
    });
  }
});
