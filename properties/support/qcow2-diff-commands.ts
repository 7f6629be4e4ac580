/**
 * The commands of the qcow2-vs-raw differential property (fast-check's `fc.commands`
 * layout, after QEMU's blkverify): each runs one request on the qcow2 image and what the
 * qcow2 rules say it means on the raw image (qcow2-diff-model.ts), and a read compares
 * both sides byte for byte. The raw side's content is never computed from the qcow2 side.
 *
 * Ranges are drawn as plain numbers and placed when a command runs (`span`), since the
 * guest size is part of the drawn configuration.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { IoAcct } from '../../host/storage/driver.js';
import { expectSame, readAll, type ImagePair } from './qcow2-diff-images.js';
import {
  canEmpty,
  clusterExtent,
  compressedOutcome,
  findSnapshot,
  MAX_SNAPSHOTS,
  noteCompressed,
  noteDiscard,
  noteWrite,
  noteWriteZeroes,
  shrinks,
  snapshotFits,
  span,
  type DiffModel,
  type RangeDraw,
} from './qcow2-diff-model.js';
import { fillPattern } from './vm.js';

type Cmd = fc.Command<DiffModel, ImagePair>;

const acct = (): IoAcct => ({ ns: 0 });
const always = (): boolean => true;
const show = (d: RangeDraw): string => `${d.a}, ${d.b}, scale ${d.scale}, align ${d.align}`;

/** Zero [off, off + len) on the raw side (what a qcow2 request left reading as zeroes). */
function zeroRaw(p: ImagePair, off: number, len: number, what: string): void {
  expect(p.raw.writeZeroes(off, len, {}, acct()), `${what}: raw write-zeroes ${off}+${len}`).toBeNull();
}

export class WriteCommand implements Cmd {
  constructor(readonly r: RangeDraw, readonly seed: number) {}
  check = always;
  run(m: DiffModel, p: ImagePair): void {
    const [off, len] = span(m.cfg, this.r);
    const data = fillPattern(new Uint8Array(len), this.seed);
    expect(p.qcow2.pwritev(off, data, {}, acct()), `${this}: qcow2 ${off}+${len}`).toBeNull();
    expect(p.raw.pwritev(off, data, {}, acct()), `${this}: raw ${off}+${len}`).toBeNull();
    noteWrite(m, off, len);
  }
  toString = (): string => `write(${show(this.r)}, seed ${this.seed})`;
}

export class WriteZeroesCommand implements Cmd {
  constructor(readonly r: RangeDraw, readonly mayUnmap: boolean) {}
  check = always;
  run(m: DiffModel, p: ImagePair): void {
    const [off, len] = span(m.cfg, this.r);
    expect(p.qcow2.writeZeroes(off, len, { mayUnmap: this.mayUnmap }, acct()), `${this}: qcow2 ${off}+${len}`).toBeNull();
    zeroRaw(p, off, len, this.toString());
    noteWriteZeroes(m, off, len, this.mayUnmap);
  }
  toString = (): string => `write-zeroes(${show(this.r)}${this.mayUnmap ? ', may-unmap' : ''})`;
}

export class DiscardCommand implements Cmd {
  constructor(readonly r: RangeDraw) {}
  check = always;
  run(m: DiffModel, p: ImagePair): void {
    const [off, len] = span(m.cfg, this.r);
    expect(p.qcow2.discard(off, len, acct()), `${this}: qcow2 ${off}+${len}`).toBeNull();
    for (const [zo, zl] of noteDiscard(m, off, len)) zeroRaw(p, zo, zl, this.toString());
  }
  toString = (): string => `discard(${show(this.r)})`;
}

export class FlushCommand implements Cmd {
  check = always;
  run(_m: DiffModel, p: ImagePair): void {
    expect(p.qcow2.flush(acct()), 'flush qcow2').toBeNull();
    expect(p.raw.flush(acct()), 'flush raw').toBeNull();
  }
  toString = (): string => 'flush';
}

/**
 * A compressed write of one whole guest cluster (the short last one included); the raw
 * side gets a plain write of the same bytes. With `empty`, the cluster is first left
 * without a host offset where the image can do that (write-zeroes with may-unmap on v3,
 * a discard on v2 without a backing file), so that the write must be stored. Otherwise a
 * cluster with a host offset must refuse compressible data (EIO, nothing changes), and
 * one whose state the rules leave open is not written; random data filling the cluster,
 * which does not shrink, is written as a normal cluster wherever it goes.
 */
export class CompressedWriteCommand implements Cmd {
  constructor(readonly cluster: number, readonly seed: number, readonly compressible: boolean, readonly empty: boolean) {}
  check = always;
  run(m: DiffModel, p: ImagePair): void {
    const k = this.cluster % m.alloc.length;
    const [off, len] = clusterExtent(m.cfg, k);
    const what = `${this} on guest cluster ${k} (${off}+${len})`;
    if (this.empty && canEmpty(m)) {
      if (m.cfg.compat === '1.1') {
        expect(p.qcow2.writeZeroes(off, len, { mayUnmap: true }, acct()), `${what}: emptying write-zeroes`).toBeNull();
        zeroRaw(p, off, len, what);
        noteWriteZeroes(m, off, len, true);
      } else {
        expect(p.qcow2.discard(off, len, acct()), `${what}: emptying discard`).toBeNull();
        for (const [zo, zl] of noteDiscard(m, off, len)) zeroRaw(p, zo, zl, what);
      }
    }
    const data = this.data(len);
    const kind = shrinks(m.cfg, len, this.compressible);
    const outcome = compressedOutcome(m, k, kind);
    if (outcome === 'unknown') return;
    const err = p.qcow2.writeCompressed(off, data, acct());
    if (outcome === 'refused') {
      expect(err?.errno, `${what}: the cluster has a host offset, so QEMU refuses`).toBe('EIO');
      expect(err?.message).toMatch(/can't overwrite/);
      return;
    }
    expect(err, what).toBeNull();
    expect(p.raw.pwritev(off, data, {}, acct()), `${what}: raw`).toBeNull();
    noteCompressed(m, k, kind);
  }
  /** Compressible: a 64-byte pattern repeated; otherwise random bytes. */
  private data(len: number): Uint8Array {
    const out = new Uint8Array(len);
    if (!this.compressible) return fillPattern(out, this.seed);
    const unit = fillPattern(new Uint8Array(64), this.seed);
    for (let i = 0; i < len; i += 64) out.set(unit.subarray(0, Math.min(64, len - i)), i);
    return out;
  }
  toString = (): string => `compressed-write(cluster ${this.cluster}, seed ${this.seed}${this.compressible ? '' : ', random'}${this.empty ? ', emptied first' : ''})`;
}

/** Snapshot create: the raw side keeps a copy of its bytes under the name. Only where no refcount can overflow. */
export class SnapshotCreateCommand implements Cmd {
  constructor(readonly name: string) {}
  check = (m: Readonly<DiffModel>): boolean => m.snapshots.length < MAX_SNAPSHOTS && snapshotFits(m);
  run(m: DiffModel, p: ImagePair): void {
    const err = p.qcow2.drv.snapshots!.create(p.qcow2.opaque, { name: this.name, vmStateSize: 0, dateSec: 0, dateNsec: 0, vmClockNs: 0 });
    expect(err, this.toString()).toBeNull();
    m.snapshots.push({ name: this.name, data: readAll(p.raw), alloc: m.alloc.slice() });
  }
  toString = (): string => `snapshot-create(${this.name})`;
}

/** Snapshot apply (qemu-img snapshot -a): the raw side gets its copy back; then both sides read the same everywhere. */
export class SnapshotApplyCommand implements Cmd {
  constructor(readonly name: string) {}
  check = (m: Readonly<DiffModel>): boolean => findSnapshot(m, this.name) !== undefined && snapshotFits(m);
  run(m: DiffModel, p: ImagePair): void {
    const sn = findSnapshot(m, this.name)!;
    expect(p.qcow2.drv.snapshots!.goto(p.qcow2.opaque, this.name), this.toString()).toBeNull();
    expect(p.raw.pwritev(0, sn.data, {}, acct()), `${this}: raw`).toBeNull();
    m.alloc = sn.alloc.slice();
    expectSame(p, 0, m.cfg.size, this.toString());
  }
  toString = (): string => `snapshot-apply(${this.name})`;
}

export class SnapshotDeleteCommand implements Cmd {
  constructor(readonly name: string) {}
  check = (m: Readonly<DiffModel>): boolean => findSnapshot(m, this.name) !== undefined;
  run(m: DiffModel, p: ImagePair): void {
    expect(p.qcow2.drv.snapshots!.delete(p.qcow2.opaque, undefined, this.name), this.toString()).toBeNull();
    m.snapshots.splice(m.snapshots.indexOf(findSnapshot(m, this.name)!), 1);
  }
  toString = (): string => `snapshot-delete(${this.name})`;
}

/** Close both, check the qcow2 file, open both again from their files: every byte the same. */
export class ReopenCommand implements Cmd {
  check = always;
  run(m: DiffModel, p: ImagePair): void {
    p.reopen();
    expectSame(p, 0, m.cfg.size, 'after reopen');
  }
  toString = (): string => 'reopen';
}

export class ReadCommand implements Cmd {
  constructor(readonly r: RangeDraw) {}
  check = always;
  run(m: DiffModel, p: ImagePair): void {
    const [off, len] = span(m.cfg, this.r);
    expectSame(p, off, len, this.toString());
  }
  toString = (): string => `read(${show(this.r)})`;
}

const n = fc.nat();
const rangeArb: fc.Arbitrary<RangeDraw> = fc.record({
  a: n,
  b: n,
  scale: fc.constantFrom<RangeDraw['scale']>(0, 1, 2),
  align: fc.constantFrom<RangeDraw['align']>(0, 1, 2, 3),
});
const nameArb = fc.constantFrom('a', 'b', 'c');

/** Every command, weighted towards the requests that change data (an entry per weight). */
export const diffCommands: fc.Arbitrary<Cmd>[] = [
  fc.tuple(rangeArb, fc.nat(255)).map(([r, s]) => new WriteCommand(r, s)),
  fc.tuple(rangeArb, fc.nat(255)).map(([r, s]) => new WriteCommand(r, s)),
  fc.tuple(rangeArb, fc.nat(255)).map(([r, s]) => new WriteCommand(r, s)),
  fc.tuple(rangeArb, fc.boolean()).map(([r, u]) => new WriteZeroesCommand(r, u)),
  fc.tuple(rangeArb, fc.boolean()).map(([r, u]) => new WriteZeroesCommand(r, u)),
  rangeArb.map((r) => new DiscardCommand(r)),
  rangeArb.map((r) => new DiscardCommand(r)),
  fc.tuple(n, fc.nat(255), fc.boolean(), fc.boolean()).map(([k, s, c, e]) => new CompressedWriteCommand(k, s, c, e)),
  fc.tuple(n, fc.nat(255), fc.boolean(), fc.boolean()).map(([k, s, c, e]) => new CompressedWriteCommand(k, s, c, e)),
  fc.constant(new FlushCommand()),
  // A command whose precondition fails is dropped: apply and delete need a snapshot first.
  nameArb.map((s) => new SnapshotCreateCommand(s)),
  nameArb.map((s) => new SnapshotCreateCommand(s)),
  nameArb.map((s) => new SnapshotApplyCommand(s)),
  nameArb.map((s) => new SnapshotApplyCommand(s)),
  nameArb.map((s) => new SnapshotDeleteCommand(s)),
  fc.constant(new ReopenCommand()),
  rangeArb.map((r) => new ReadCommand(r)),
  rangeArb.map((r) => new ReadCommand(r)),
];
