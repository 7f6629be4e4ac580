import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../../../errors.js';
import { BlockGraph } from '../../../graph.js';
import type { ImageCheckResult } from '../../../image-api.js';
import type { BlockDriverState } from '../../../node.js';
import { createImage } from '../../../open.js';
import { newBlockEnv } from '../../../testing.js';
import type { Qcow2Node } from '../driver.js';
import { decodeKnownExtra, decodeName, decodeSnapshotHeader, encodeSnapshot, findByIdOrName, newSnapshotId, SNAPSHOT_HEADER_SIZE, type QcowSnapshot } from './format.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-qcow2-snap-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const acct = () => ({ ns: 0 });

function image(opts: Record<string, unknown> = {}, size = 4 << 20): string {
  const f = path.join(tmp, `${seq++}.qcow2`);
  const r = createImage('qcow2', f, size, opts);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return f;
}

function open(file: string, readOnly = false): { bs: BlockDriverState; graph: BlockGraph } {
  const graph = new BlockGraph(newBlockEnv());
  const r = graph.blockdevAdd({ driver: 'qcow2', 'read-only': readOnly, file: { driver: 'file', filename: file } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return { bs: r.right, graph };
}

const ops = (bs: BlockDriverState) => bs.drv.snapshots!;
const create = (bs: BlockDriverState, name: string) => ops(bs).create(bs.opaque, { name, vmStateSize: 0, dateSec: 1700000000, dateNsec: 5, vmClockNs: 7e9 });
const fill = (bs: BlockDriverState, off: number, n: number, v: number) => expect(bs.pwritev(off, new Uint8Array(n).fill(v), {}, acct())).toBeNull();
function read(bs: BlockDriverState, off: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  expect(bs.preadv(off, b, acct())).toBeNull();
  return b;
}
function check(bs: BlockDriverState): ImageCheckResult {
  const r = bs.drv.check!(bs.opaque, { leaks: false, errors: false }, acct());
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}
const sound = (bs: BlockDriverState): void => {
  const r = check(bs);
  expect({ c: r.corruptions, l: r.leaks, e: r.checkErrors, m: r.messages }).toEqual({ c: 0, l: 0, e: 0, m: [] });
};
const allBytes = (b: Uint8Array, v: number): boolean => b.every((x) => x === v);

const snapArb: fc.Arbitrary<QcowSnapshot> = fc.record({
  l1TableOffset: fc.nat({ max: 2 ** 40 }).map((n) => n * 512),
  l1Size: fc.nat({ max: 2 ** 20 }),
  id: fc.stringMatching(/^[0-9a-z]{0,8}$/),
  name: fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0')),
  dateSec: fc.nat({ max: 2 ** 32 - 1 }),
  dateNsec: fc.nat({ max: 999_999_999 }),
  vmClockNs: fc.nat({ max: 2 ** 50 }),
  vmStateSize: fc.nat({ max: 2 ** 40 }),
  diskSize: fc.nat({ max: 2 ** 40 }).map((n) => n * 512),
  icount: fc.oneof(fc.constant(-1), fc.nat({ max: 2 ** 50 })),
  extraDataSize: fc.constantFrom(24, 32, 100),
  unknownExtra: fc.constant(new Uint8Array(0)),
}).map((sn) => ({ ...sn, unknownExtra: new Uint8Array(sn.extraDataSize - 24).fill(0xab) }));

describe('qcow2 snapshot table codec', () => {
  it('decodes what it encodes, field for field', () => {
    fc.assert(
      fc.property(snapArb, (sn) => {
        const b = encodeSnapshot(sn);
        const h = decodeSnapshotHeader(b.subarray(0, SNAPSHOT_HEADER_SIZE));
        expect(h.l1TableOffset).toBe(sn.l1TableOffset);
        expect(h.l1Size).toBe(sn.l1Size);
        expect(h.extraDataSize).toBe(sn.extraDataSize);
        expect(h.vmStateSize).toBe(sn.vmStateSize <= 0xffffffff ? sn.vmStateSize : 0);
        const x = decodeKnownExtra(b.subarray(SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE + 24));
        expect(x).toEqual({ vmStateSizeLarge: sn.vmStateSize, diskSize: sn.diskSize, icount: sn.icount });
        const p = SNAPSHOT_HEADER_SIZE + h.extraDataSize;
        expect(decodeName(b.subarray(p, p + h.idSize))).toBe(sn.id);
        expect(decodeName(b.subarray(p + h.idSize, p + h.idSize + h.nameSize))).toBe(sn.name);
        expect(b.length).toBe(p + h.idSize + h.nameSize);
      }),
      { numRuns: 100 },
    );
  });

  it('new IDs are one more than the largest numeric one; lookups try the ID before the name', () => {
    const mk = (id: string, name: string) => ({ id, name }) as QcowSnapshot;
    expect(newSnapshotId([])).toBe('1');
    expect(newSnapshotId([mk('3', 'a'), mk('x', 'b'), mk('10abc', 'c')])).toBe('11');
    const list = [mk('1', '2'), mk('2', '1')];
    expect(findByIdOrName(list, '1')).toBe(0);
    expect(findByIdOrName(list, '2')).toBe(1);
    expect(findByIdOrName([mk('1', 'a')], 'a')).toBe(0);
    expect(findByIdOrName([mk('1', 'a')], 'b')).toBe(-1);
  });
});

describe('qcow2 internal snapshots', () => {
  it('create keeps each snapshot’s content; loadTmp shows it read-only; goto brings it back', () => {
    const f = image();
    const { bs, graph } = open(f);
    fill(bs, 0, 131072, 0x11);
    expect(create(bs, 'one')).toBeNull();
    fill(bs, 65536, 100000, 0x22);
    expect(create(bs, 'two')).toBeNull();
    fill(bs, 0, 4096, 0x33);
    const list = ops(bs).list(bs.opaque);
    expect(list.map((s) => [s.id, s.name, s.diskSize, s.icount, s.vmClockNs, s.dateSec])).toEqual([
      ['1', 'one', 4 << 20, 0, 7e9, 1700000000],
      ['2', 'two', 4 << 20, 0, 7e9, 1700000000],
    ]);
    sound(bs);
    graph.close();

    const ro = open(f, true);
    expect(ops(ro.bs).loadTmp(ro.bs.opaque, 'one')).toBeNull();
    expect(allBytes(read(ro.bs, 0, 131072), 0x11)).toBe(true);
    expect(ops(ro.bs).loadTmp(ro.bs.opaque, '2')).toBeNull();
    expect(allBytes(read(ro.bs, 65536, 100000), 0x22)).toBe(true);
    expect(allBytes(read(ro.bs, 0, 65536), 0x11)).toBe(true);
    const miss = ops(ro.bs).loadTmp(ro.bs.opaque, 'three');
    expect(miss && blockErrorMessage(miss)).toBe("Can't find snapshot");
    ro.graph.close();

    const rw = open(f);
    const notRo = ops(rw.bs).loadTmp(rw.bs.opaque, 'one');
    expect(notRo && blockErrorMessage(notRo)).toBe('Device is not readonly');
    expect(ops(rw.bs).goto(rw.bs.opaque, 'one')).toBeNull();
    expect(allBytes(read(rw.bs, 0, 131072), 0x11)).toBe(true);
    expect(allBytes(read(rw.bs, 131072, 65536), 0)).toBe(true);
    sound(rw.bs);
    const bad = ops(rw.bs).goto(rw.bs.opaque, 'nope');
    expect(bad && blockErrorMessage(bad)).toBe('Failed to load snapshot: No such file or directory');
    rw.graph.close();
  });

  it('delete frees what only the snapshot held, by ID or name; names may repeat, IDs never', () => {
    const f = image();
    const { bs, graph } = open(f);
    fill(bs, 0, 65536, 0x44);
    expect(create(bs, 'same')).toBeNull();
    fill(bs, 0, 65536, 0x55);
    expect(create(bs, 'same')).toBeNull();
    expect(ops(bs).list(bs.opaque).map((s) => s.id)).toEqual(['1', '2']);
    fill(bs, 0, 65536, 0x66);
    const before = check(bs).imageEndOffset;
    expect(ops(bs).delete(bs.opaque, '1', undefined)).toBeNull();
    expect(ops(bs).delete(bs.opaque, undefined, 'same')).toBeNull();
    expect(ops(bs).list(bs.opaque)).toEqual([]);
    const missing = ops(bs).delete(bs.opaque, '9', undefined);
    expect(missing && blockErrorMessage(missing)).toBe("Can't find the snapshot");
    sound(bs);
    expect(check(bs).allocatedClusters).toBe(1);
    expect(check(bs).imageEndOffset).toBeLessThanOrEqual(before);
    expect(allBytes(read(bs, 0, 65536), 0x66)).toBe(true);
    expect(create(bs, 'again')).toBeNull();
    expect(ops(bs).list(bs.opaque).map((s) => s.id)).toEqual(['1']);
    graph.close();
  });

  it('goto restores the disk size the snapshot was taken at', () => {
    const f = image({}, 1 << 20);
    const { bs, graph } = open(f);
    fill(bs, 0, 4096, 0x77);
    expect(create(bs, 'small')).toBeNull();
    expect(bs.truncate(2 << 20)).toBeNull();
    fill(bs, 1 << 20, 4096, 0x78);
    expect(ops(bs).goto(bs.opaque, 'small')).toBeNull();
    expect(bs.getLength()).toBe(1 << 20);
    expect(allBytes(read(bs, 0, 4096), 0x77)).toBe(true);
    sound(bs);
    graph.close();
  });

  it('a v3 image with snapshots resizes (each keeps its size); a v2 one is refused as QEMU 7.2 refuses it', () => {
    const f = image({}, 1 << 20);
    const { bs, graph } = open(f);
    fill(bs, 0, 4096, 0x11);
    expect(create(bs, 'a')).toBeNull();
    expect(bs.truncate(3 << 20)).toBeNull();
    fill(bs, (3 << 20) - 4096, 4096, 0x12);
    expect(bs.truncate(512 << 10)).toBeNull();
    expect(ops(bs).list(bs.opaque)[0].diskSize).toBe(1 << 20);
    sound(bs);
    graph.close();
    const v2 = image({ compat: '0.10' }, 1 << 20);
    const o2 = open(v2);
    expect(create(o2.bs, 'a')).toBeNull();
    expect(o2.bs.truncate(2 << 20)?.message).toMatch(/Can't resize a v2 image which has snapshots$/);
    o2.graph.close();
  });

  it('a snapshot operation cut short by a dead disk leaves an image the next open repairs (dirty bit)', () => {
    for (const [event, op] of [['l2_update', 'create'], ['refblock_update_part', 'create'], ['l2_update', 'delete'], ['l1_update', 'goto']] as const) {
      const f = image({ cluster_size: 512 });
      const pre = open(f);
      fill(pre.bs, 0, 2048, 0x21);
      if (op !== 'create') expect(create(pre.bs, 'old')).toBeNull();
      if (op === 'goto') fill(pre.bs, 0, 2048, 0x22);
      pre.graph.close();
      const graph = new BlockGraph(newBlockEnv());
      const image0 = { driver: 'file', filename: f };
      const r = graph.blockdevAdd({ driver: 'qcow2', file: { driver: 'blkdebug', image: image0, 'inject-error': [{ event, errno: 5, once: false }] } });
      if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
      const bs = r.right;
      const err = op === 'create' ? create(bs, 'new') : op === 'delete' ? ops(bs).delete(bs.opaque, undefined, 'old') : ops(bs).goto(bs.opaque, 'old');
      expect(err, `${op} with ${event} failing`).not.toBeNull();
      graph.close();
      // Left dirty: what QEMU 7.2 leaves here (refcount 2 on disk, COPIED still set) is a corruption to check.
      expect(fs.readFileSync(f)[79] & 1, `${op}/${event}: dirty`).toBe(1);
      const again = open(f);
      sound(again.bs);
      expect(allBytes(read(again.bs, 0, 2048), 0x21) || allBytes(read(again.bs, 0, 2048), 0x22)).toBe(true);
      again.graph.close();
      expect(fs.readFileSync(f)[79] & 1).toBe(0);
    }
  });

  it('a successful snapshot operation leaves the header as it was (no trace of the dirty bit)', () => {
    const f = image();
    const { bs, graph } = open(f);
    fill(bs, 0, 4096, 0x31);
    const header = () => fs.readFileSync(f).subarray(72, 80).toString('hex');
    const before = header();
    expect(create(bs, 'a')).toBeNull();
    expect(header()).toBe(before);
    expect(ops(bs).goto(bs.opaque, 'a')).toBeNull();
    expect(ops(bs).delete(bs.opaque, undefined, 'a')).toBeNull();
    expect(header()).toBe(before);
    sound(bs);
    graph.close();
  });

  it('an image whose snapshot table QEMU would refuse does not open', () => {
    const f = image();
    const { bs, graph } = open(f);
    expect(create(bs, 'x')).toBeNull();
    graph.close();
    const buf = fs.readFileSync(f);
    const table = Number(buf.readBigUInt64BE(64));
    buf.writeUInt32BE(2000, table + 36);
    fs.writeFileSync(f, buf);
    const g = new BlockGraph(newBlockEnv());
    const r = g.blockdevAdd({ driver: 'qcow2', 'read-only': true, file: { driver: 'file', filename: f } });
    expect(E.isLeft(r) && blockErrorMessage(r.left)).toBe(
      'Too much extra metadata in snapshot table entry 0\nYou can force-remove this extra metadata with qemu-img check -r all',
    );
  });

  it('nothing is written through a read-only node', () => {
    const f = image();
    const ro = open(f, true);
    const err = create(ro.bs, 'x');
    expect(err && blockErrorMessage(err)).toBe('-30 (Read-only file system)');
    ro.graph.close();
  });
});
