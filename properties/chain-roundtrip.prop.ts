/**
 * Descriptor chains and virtio-blk requests, round trip (Firecracker's request-parsing
 * property: generate the expected result first, encode it, parse it, compare).
 *
 * Valid: a request (type, ioprio, sector, readable payload, writable payload length,
 * where each stream is cut into buffers, every buffer at its own guest address) is
 * encoded in guest memory either by the guest's own driver-side queue (Linux's
 * `virtqueue_add_sgs`: direct, or one indirect table when negotiated) or by the
 * device-test mock (direct, indirect, or direct descriptors ending in an indirect table,
 * from any starting ring index, across the 16-bit wrap). The device-side queue pops it,
 * the virtio-blk parser parses it, and the result is the request we generated: type,
 * sector, payload buffers after the 16-byte header, writable buffers before the status
 * byte, the status byte's address, the used length. Pushing it back gives the driver its
 * token (or head) and length, in order.
 *
 * Invalid: each malformed chain gives its expected error, at the level QEMU gives it:
 * - the queue (virtqueue_pop → virtio_error, `broken`): a readable buffer after a
 *   writable one, a loop (a chain longer than its table), `next` out of the table, a
 *   buffer or indirect table outside RAM, a zero-sized buffer (e.g. an empty status
 *   buffer), nested indirect, INDIRECT with NEXT, a table size that is not a multiple of
 *   16, INDIRECT without the feature, more than 1024 buffers, a head out of range, an
 *   avail index more than the queue size ahead, more chains in flight than the queue holds;
 * - the request (virtio-blk's virtio_error, the device needs a reset): no readable
 *   buffer, no writable buffer (no status byte), a header shorter than 16 bytes.
 * ("inhdr too short" — a last writable buffer of length 0 — cannot reach the parser:
 * the queue refuses zero-sized buffers first.) Both are checked directly (pop, parse)
 * and through the device model (handleOutput): the device stops, reports the message
 * once, and puts nothing in the used ring.
 *
 * Runs: 300 per valid property, 500 per invalid one; IOPATH_DEEP=1 gives ten times as many.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DmaAllocator } from '../guest/kernel/dma-alloc.js';
import { DriverVirtqueue } from '../guest/virtio-drivers/virtqueue.js';
import { createVirtioBlk } from '../host/devices/virtio-blk/index.js';
import { MSG_MISSING_HEADERS, MSG_OUTHDR_TOO_SHORT, parseBlkRequest } from '../host/devices/virtio-blk/request.js';
import { FakeBackend } from '../host/devices/virtio-blk/test-utils.js';
import { MockSplitQueue, standaloneQueue, type MockBuf } from '../host/devices/virtio/test-utils.js';
import type { VirtqElement } from '../host/devices/virtio/types.js';
import { GuestMemory, type SgElem } from '../hw/memory.js';
import { VIRTIO_BLK_OUTHDR_SIZE, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_WRITE_ZEROES, writeOutHdr } from '../hw/virtio/blk.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../hw/virtio/constants.js';
import { writeDesc } from '../hw/virtio/split-ring.js';
import { ExecutionContext } from '../sim/context.js';
import { CostModel } from '../sim/costs.js';
import { runs } from './support/vm.js';

const RAM = 16 * 1024 * 1024;
/** Data buffers live here, apart from rings and tables. */
const DATA_BASE = 8 * 1024 * 1024;
const sizeArb = fc.constantFrom(16, 32, 64, 128, 256);

/* ---------- building blocks ---------- */

/** A bump allocator for data buffers with a gap after each, so no two buffers touch. */
class Scatter {
  private next = DATA_BASE;
  constructor(private readonly gap: number) {}
  alloc(len: number): number {
    const a = this.next;
    this.next += len + this.gap + ((-(len + this.gap)) & 15);
    if (this.next > RAM) throw new Error('test: out of data memory');
    return a;
  }
}

/** A byte stream cut into buffers at `cuts`; each piece knows its place in the stream and in memory. */
interface Piece {
  start: number;
  end: number;
  addr: number;
}

function cutStream(total: number, cuts: readonly number[], sc: Scatter): Piece[] {
  const points = [...new Set(cuts.map((c) => c % (total + 1)).filter((c) => c > 0 && c < total))].sort((a, b) => a - b);
  const out: Piece[] = [];
  let prev = 0;
  for (const p of [...points, total]) {
    out.push({ start: prev, end: p, addr: sc.alloc(p - prev) });
    prev = p;
  }
  return out;
}

const sg = (ps: readonly Piece[]): SgElem[] => ps.map((p) => ({ addr: p.addr, len: p.end - p.start }));

/* ---------- valid requests ---------- */

interface ReqSpec {
  type: number;
  ioprio: number;
  sector: number;
  payload: Uint8Array;
  inLen: number;
  outCuts: number[];
  inCuts: number[];
  /** Mock encoder only: how the chain is laid out, and how many direct descriptors precede the table in `mixed`. */
  layout: 'direct' | 'indirect' | 'mixed';
  split: number;
}

const typeArb = fc.oneof(
  fc.constantFrom(VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, 0x80000001),
  fc.integer({ min: 0, max: 0xffffffff }),
);

const reqArb: fc.Arbitrary<ReqSpec> = fc.record({
  type: typeArb,
  ioprio: fc.integer({ min: 0, max: 0xffffffff }),
  sector: fc.oneof(fc.nat(1 << 20), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  payload: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 512, maxLength: 2048 })),
  inLen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2048 })),
  outCuts: fc.array(fc.nat(2100), { maxLength: 5 }),
  inCuts: fc.array(fc.nat(2100), { maxLength: 5 }),
  layout: fc.constantFrom<ReqSpec['layout']>('direct', 'indirect', 'mixed'),
  split: fc.nat(),
});

/** A request laid out in memory, and the parse we expect of it. */
interface Laid {
  spec: ReqSpec;
  out: Piece[];
  inn: Piece[];
  expected: { type: number; sector: number; out: SgElem[]; in: SgElem[]; statusAddr: number; inLen: number };
}

function layRequest(mem: GuestMemory, sc: Scatter, spec: ReqSpec): Laid {
  const stream = new Uint8Array(VIRTIO_BLK_OUTHDR_SIZE + spec.payload.length);
  const hdr = new GuestMemory(4096);
  writeOutHdr(hdr, 0, { type: spec.type, ioprio: spec.ioprio, sector: spec.sector });
  stream.set(hdr.read(0, VIRTIO_BLK_OUTHDR_SIZE));
  stream.set(spec.payload, VIRTIO_BLK_OUTHDR_SIZE);
  const out = cutStream(stream.length, spec.outCuts, sc);
  for (const p of out) mem.write(p.addr, stream.subarray(p.start, p.end));
  const inn = cutStream(spec.inLen + 1, spec.inCuts, sc);
  for (const p of inn) mem.fill(p.addr, p.end - p.start, 0xee);
  const last = inn[inn.length - 1];
  // Expected first, from the construction: header bytes dropped from the readable side,
  // the status byte (the last writable byte) dropped from the writable side.
  const expOut = out.filter((p) => p.end > VIRTIO_BLK_OUTHDR_SIZE).map((p) => {
    const from = Math.max(p.start, VIRTIO_BLK_OUTHDR_SIZE);
    return { addr: p.addr + (from - p.start), len: p.end - from };
  });
  const expIn = inn.filter((p) => p.start < spec.inLen).map((p) => ({ addr: p.addr, len: Math.min(p.end, spec.inLen) - p.start }));
  return {
    spec,
    out,
    inn,
    expected: { type: spec.type >>> 0, sector: spec.sector, out: expOut, in: expIn, statusAddr: last.addr + last.end - last.start - 1, inLen: spec.inLen + 1 },
  };
}

function elemOf(r: ReturnType<ReturnType<typeof standaloneQueue>['vq']['pop']>): VirtqElement {
  if (r.kind !== 'elem') throw new Error(`expected a chain, got ${JSON.stringify(r)}`);
  return r.elem;
}

function checkParse(vq: ReturnType<typeof standaloneQueue>['vq'], elem: VirtqElement, l: Laid): void {
  // The chain is exactly the buffers we wrote, in order, indirect tables unwrapped.
  expect(elem.out).toEqual(sg(l.out));
  expect(elem.in).toEqual(sg(l.inn));
  const req = parseBlkRequest(vq, elem, 0);
  if (typeof req === 'string') throw new Error(`a valid request was refused: ${req}`);
  expect({ type: req.type, sector: req.sector, out: req.out, in: req.in, statusAddr: req.statusAddr, inLen: req.inLen }).toEqual(l.expected);
}

describe('valid chains round-trip', () => {
  it("the guest driver's virtqueue (direct or indirect) → pop → parse gives the generated request; push gives each token back", () => {
    fc.assert(
      fc.property(
        sizeArb,
        fc.boolean(),
        fc.array(fc.array(reqArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        fc.nat(64),
        (size, indirect, rounds, gap) => {
          const mem = new GuestMemory(RAM);
          const alloc = new DmaAllocator(0x10000, DATA_BASE);
          const drv = new DriverVirtqueue<number>(mem, alloc, 0, size, { eventIdx: false, indirect, chargeDescs: () => undefined, notify: () => undefined });
          const { vq, errors } = standaloneQueue(mem, drv.ring, { features: { indirectDesc: indirect } });
          const sc = new Scatter(gap);
          let token = 0;
          for (const round of rounds) {
            const laid: { l: Laid; token: number }[] = [];
            for (const spec of round) {
              const l = layRequest(mem, sc, spec);
              // -ENOSPC (ring full) is the driver's answer, not an error: the request is simply not queued.
              if (!drv.addSgs(sg(l.out), sg(l.inn), token)) break;
              laid.push({ l, token: token++ });
            }
            const popped = laid.map(({ l }) => {
              const e = elemOf(vq.pop());
              checkParse(vq, e, l);
              return e;
            });
            expect(vq.pop()).toEqual({ kind: 'empty' });
            popped.forEach((e, i) => vq.push(e, i % (laid[i].l.spec.inLen + 2)));
            for (let i = 0; i < laid.length; i++) expect(drv.getBuf()).toEqual({ token: laid[i].token, len: i % (laid[i].l.spec.inLen + 2) });
            expect(drv.getBuf()).toBeUndefined();
          }
          expect(errors).toEqual([]);
          expect(drv.numFree).toBe(size);
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it('the mock driver (direct, indirect, direct + indirect), from any ring index → pop → parse gives the generated request', () => {
    fc.assert(
      fc.property(
        sizeArb,
        fc.oneof(fc.constant(0), fc.integer({ min: 0xfff0, max: 0xffff }), fc.nat(0xffff)),
        fc.array(fc.array(reqArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        fc.nat(64),
        (size, startIdx, rounds, gap) => {
          const mem = new GuestMemory(RAM);
          const drv = new MockSplitQueue(mem, { size });
          const { vq, errors } = standaloneQueue(mem, drv.ring, { features: { indirectDesc: true } });
          drv.startAt(startIdx);
          vq.lastAvailIdx = vq.shadowAvailIdx = vq.usedIdx = startIdx;
          const sc = new Scatter(gap);
          for (const round of rounds) {
            const laid: { l: Laid; head: number }[] = [];
            let descs = 0;
            for (const spec of round) {
              const l = layRequest(mem, sc, spec);
              const bufs: MockBuf[] = [...l.out.map((p) => ({ addr: p.addr, len: p.end - p.start })), ...l.inn.map((p) => ({ addr: p.addr, len: p.end - p.start, write: true }))];
              const nDirect = spec.layout === 'direct' ? bufs.length : spec.layout === 'indirect' || bufs.length < 2 ? 0 : 1 + (spec.split % (bufs.length - 1));
              const need = spec.layout === 'direct' ? bufs.length : nDirect + 1;
              // The mock reuses descriptors round-robin: a round must fit in the table.
              if (descs + need > size) break;
              descs += need;
              const head = spec.layout === 'direct' ? drv.addChain(bufs) : drv.addIndirect(bufs.slice(nDirect), bufs.slice(0, nDirect));
              laid.push({ l, head });
            }
            drv.publish(...laid.map((x) => x.head));
            const popped = laid.map(({ l, head }) => {
              const e = elemOf(vq.pop());
              expect(e.head).toBe(head);
              checkParse(vq, e, l);
              return e;
            });
            expect(vq.pop()).toEqual({ kind: 'empty' });
            popped.forEach((e) => vq.push(e, 1));
            expect(drv.takeUsed()).toEqual(laid.map((x) => ({ id: x.head, len: 1 })));
          }
          expect(errors).toEqual([]);
        },
      ),
      { numRuns: runs(300) },
    );
  });
});

/* ---------- invalid chains ---------- */

type Bad =
  | { case: 'short-header'; hdrLen: number; cuts: number[] }
  | { case: 'no-readable'; inLens: number[] }
  | { case: 'no-writable'; payloadLen: number; cuts: number[] }
  | { case: 'zero-sized-status'; inIndirect: boolean }
  | { case: 'readable-after-writable'; nReadable: number; nWritable: number; inIndirect: boolean }
  | { case: 'loop'; chainLen: number; backTo: number; inIndirect: boolean }
  | { case: 'next-out-of-table'; chainLen: number; over: number; inIndirect: boolean }
  | { case: 'buffer-outside-ram'; where: 'past-end' | 'straddles' | 'beyond-2^53'; at: number; inIndirect: boolean }
  | { case: 'table-outside-ram'; straddle: boolean }
  | { case: 'nested-indirect' }
  | { case: 'indirect-with-next' }
  | { case: 'table-size'; len: number }
  | { case: 'indirect-not-negotiated' }
  | { case: 'more-than-1024-buffers'; extra: number }
  | { case: 'head-out-of-range'; over: number }
  | { case: 'avail-idx-ahead'; over: number }
  | { case: 'more-chains-than-queue' };

const badArb: fc.Arbitrary<Bad> = fc.oneof(
  fc.record({ case: fc.constant('short-header' as const), hdrLen: fc.integer({ min: 1, max: 15 }), cuts: fc.array(fc.nat(15), { maxLength: 3 }) }),
  fc.record({ case: fc.constant('no-readable' as const), inLens: fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 3 }) }),
  fc.record({ case: fc.constant('no-writable' as const), payloadLen: fc.nat(1024), cuts: fc.array(fc.nat(1040), { maxLength: 3 }) }),
  fc.record({ case: fc.constant('zero-sized-status' as const), inIndirect: fc.boolean() }),
  fc.record({ case: fc.constant('readable-after-writable' as const), nReadable: fc.integer({ min: 1, max: 3 }), nWritable: fc.integer({ min: 1, max: 3 }), inIndirect: fc.boolean() }),
  fc.record({ case: fc.constant('loop' as const), chainLen: fc.integer({ min: 1, max: 8 }), backTo: fc.nat(), inIndirect: fc.boolean() }),
  fc.record({ case: fc.constant('next-out-of-table' as const), chainLen: fc.integer({ min: 1, max: 6 }), over: fc.nat(0xffff), inIndirect: fc.boolean() }),
  fc.record({ case: fc.constant('buffer-outside-ram' as const), where: fc.constantFrom('past-end' as const, 'straddles' as const, 'beyond-2^53' as const), at: fc.nat(2), inIndirect: fc.boolean() }),
  fc.record({ case: fc.constant('table-outside-ram' as const), straddle: fc.boolean() }),
  fc.constant({ case: 'nested-indirect' as const }),
  fc.constant({ case: 'indirect-with-next' as const }),
  fc.record({ case: fc.constant('table-size' as const), len: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4096 }).filter((n) => n % 16 !== 0)) }),
  fc.constant({ case: 'indirect-not-negotiated' as const }),
  fc.record({ case: fc.constant('more-than-1024-buffers' as const), extra: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ case: fc.constant('head-out-of-range' as const), over: fc.nat(0xffff) }),
  fc.record({ case: fc.constant('avail-idx-ahead' as const), over: fc.nat(0xffff) }),
  fc.constant({ case: 'more-chains-than-queue' as const }),
);

interface Expected {
  /** `queue`: pop answers broken; `request`: pop gives a chain the parser refuses. */
  level: 'queue' | 'request';
  message: string;
  /** Valid chains popped before the bad one. */
  prePops: number;
  /** Something the guest does after those pops (publish one more). */
  after?: () => void;
  indirectDesc: boolean;
}

const HDR = (() => {
  const m = new GuestMemory(4096);
  writeOutHdr(m, 0, { type: VIRTIO_BLK_T_IN, ioprio: 0, sector: 0 });
  return m.read(0, VIRTIO_BLK_OUTHDR_SIZE);
})();

/** Write a table of raw descriptors at `table` (for the indirect variants). */
function rawTable(mem: GuestMemory, table: number, descs: { addr: number; len: number; flags: number; next: number }[]): void {
  descs.forEach((d, i) => writeDesc(mem, table, i, d));
}

/**
 * Lay out the bad chain `b` on a fresh mock ring of `size` entries starting at ring
 * index `startIdx`, publish it, and say what must happen.
 */
function layBad(mem: GuestMemory, drv: MockSplitQueue, size: number, b: Bad): Expected {
  const sc = new Scatter(16);
  const buf = (len: number, write = false, data?: Uint8Array): MockBuf => ({ addr: sc.alloc(len), len, write, data });
  const hdr = (): MockBuf => buf(16, false, HDR);
  const status = (): MockBuf => buf(1, true);
  /** Direct chain, or one indirect table holding `bufs` (raw descriptors allowed through `raw`). */
  const publishChain = (bufs: MockBuf[], inIndirect: boolean): void => drv.publish(inIndirect ? drv.addIndirect(bufs) : drv.addChain(bufs));
  const queue = (message: string, indirectDesc = true): Expected => ({ level: 'queue', message, prePops: 0, indirectDesc });
  switch (b.case) {
    case 'short-header': {
      const pieces = [...new Set(b.cuts.filter((c) => c > 0 && c < b.hdrLen)), b.hdrLen].sort((x, y) => x - y);
      let prev = 0;
      const bufs = pieces.map((p) => {
        const r = buf(p - prev, false, HDR.subarray(prev, p));
        prev = p;
        return r;
      });
      publishChain([...bufs, status()], false);
      return { level: 'request', message: MSG_OUTHDR_TOO_SHORT, prePops: 0, indirectDesc: true };
    }
    case 'no-readable':
      publishChain(b.inLens.map((n) => buf(n, true)), false);
      return { level: 'request', message: MSG_MISSING_HEADERS, prePops: 0, indirectDesc: true };
    case 'no-writable': {
      const stream = new Uint8Array(16 + b.payloadLen);
      stream.set(HDR);
      const points = [...new Set(b.cuts.filter((c) => c > 0 && c < stream.length)), stream.length].sort((x, y) => x - y);
      let prev = 0;
      publishChain(
        points.map((p) => {
          const r = buf(p - prev, false, stream.subarray(prev, p));
          prev = p;
          return r;
        }),
        false,
      );
      return { level: 'request', message: MSG_MISSING_HEADERS, prePops: 0, indirectDesc: true };
    }
    case 'zero-sized-status':
      publishChain([hdr(), buf(512, true), { ...buf(1, true), len: 0 }], b.inIndirect);
      return queue('virtio: zero sized buffers are not allowed');
    case 'readable-after-writable': {
      const bufs = [hdr(), ...Array.from({ length: b.nWritable }, () => buf(64, true)), ...Array.from({ length: b.nReadable }, () => buf(64)), status()];
      publishChain(bufs, b.inIndirect);
      return queue('Incorrect order for descriptors');
    }
    case 'loop': {
      // All readable, so nothing but the loop is wrong; the last descriptor points back into the chain.
      const n = Math.min(b.chainLen, size);
      const back = b.backTo % n;
      const descs = Array.from({ length: n }, (_, i) => ({ addr: sc.alloc(16), len: 16, flags: VIRTQ_DESC_F_NEXT, next: i + 1 < n ? i + 1 : back }));
      if (b.inIndirect) {
        const table = drv.alloc(16 * n);
        rawTable(mem, table, descs);
        drv.writeDesc(0, { addr: table, len: 16 * n, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      } else descs.forEach((d, i) => drv.writeDesc(i, d));
      drv.publish(0);
      return queue('Looped descriptor');
    }
    case 'next-out-of-table': {
      const n = Math.min(b.chainLen, size);
      const tableLen = b.inIndirect ? n : size;
      const next = tableLen + (b.over % (0x10000 - tableLen));
      const descs = Array.from({ length: n }, (_, i) => ({ addr: sc.alloc(16), len: 16, flags: VIRTQ_DESC_F_NEXT, next: i + 1 < n ? i + 1 : next }));
      if (b.inIndirect) {
        const table = drv.alloc(16 * n);
        rawTable(mem, table, descs);
        drv.writeDesc(0, { addr: table, len: 16 * n, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      } else descs.forEach((d, i) => drv.writeDesc(i, d));
      drv.publish(0);
      return queue(`Desc next is ${next}`);
    }
    case 'buffer-outside-ram': {
      const bufs = [hdr(), buf(512, true), status()];
      const bad = bufs[b.at];
      bad.addr = b.where === 'past-end' ? RAM : b.where === 'straddles' ? RAM - 8 : 2 ** 60;
      bad.len = 16;
      bad.data = undefined;
      publishChain(bufs, b.inIndirect);
      return queue('virtio: bogus descriptor or out of resources');
    }
    case 'table-outside-ram':
      drv.writeDesc(0, { addr: b.straddle ? RAM - 32 : RAM + 4096, len: 48, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      drv.publish(0);
      return queue('Cannot map indirect buffer');
    case 'nested-indirect': {
      const inner = drv.alloc(32);
      rawTable(mem, inner, [{ addr: sc.alloc(16), len: 16, flags: 0, next: 0 }]);
      const outer = drv.alloc(32);
      rawTable(mem, outer, [
        { addr: sc.alloc(16), len: 16, flags: VIRTQ_DESC_F_NEXT, next: 1 },
        { addr: inner, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 },
      ]);
      drv.writeDesc(0, { addr: outer, len: 32, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      drv.publish(0);
      return queue('Nested indirect descriptor');
    }
    case 'indirect-with-next': {
      const table = drv.alloc(16);
      rawTable(mem, table, [{ addr: sc.alloc(16), len: 16, flags: 0, next: 0 }]);
      drv.writeDesc(0, { addr: table, len: 16, flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, next: 1 });
      drv.writeDesc(1, { addr: sc.alloc(1), len: 1, flags: VIRTQ_DESC_F_WRITE, next: 0 });
      drv.publish(0);
      return queue('Indirect descriptor with VIRTQ_DESC_F_NEXT set');
    }
    case 'table-size':
      drv.writeDesc(0, { addr: drv.alloc(Math.max(b.len, 1)), len: b.len, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      drv.publish(0);
      return queue('Invalid size for indirect buffer table');
    case 'indirect-not-negotiated':
      publishChain([hdr(), status()], true);
      return queue('Indirect descriptor but VIRTIO_F_INDIRECT_DESC was not negotiated', false);
    case 'more-than-1024-buffers': {
      // An indirect table may be longer than the queue (QEMU only bounds it by its sg limit).
      const n = 1024 + b.extra;
      publishChain([hdr(), ...Array.from({ length: n - 2 }, () => buf(16)), status()], true);
      return queue('More than 1024 buffers in one chain');
    }
    case 'head-out-of-range': {
      const head = size + (b.over % (0x10000 - size));
      drv.publish(head);
      return queue(`Guest says index ${head} is available`);
    }
    case 'avail-idx-ahead': {
      const start = drv.usedIdx();
      const to = (start + size + 1 + (b.over % (0xffff - size))) & 0xffff;
      drv.setAvailIdx(to);
      return queue(`Guest moved index from ${start} to ${to}`);
    }
    case 'more-chains-than-queue': {
      // `size` valid flushes (one chain, published size times), all popped and none pushed; then one more.
      const flushHdr = new GuestMemory(4096);
      writeOutHdr(flushHdr, 0, { type: VIRTIO_BLK_T_FLUSH, ioprio: 0, sector: 0 });
      const head = drv.addChain([buf(16, false, flushHdr.read(0, 16)), status()]);
      drv.publish(...Array.from({ length: size }, () => head));
      return { level: 'queue', message: 'Virtqueue size exceeded', prePops: size, after: () => drv.publish(head), indirectDesc: true };
    }
  }
}

const startIdxArb = fc.oneof(fc.constant(0), fc.integer({ min: 0xfff0, max: 0xffff }), fc.nat(0xffff));

function setupBad(size: number, startIdx: number, b: Bad) {
  const mem = new GuestMemory(RAM);
  const drv = new MockSplitQueue(mem, { size });
  drv.startAt(startIdx);
  const exp = layBad(mem, drv, size, b);
  const q = standaloneQueue(mem, drv.ring, { features: { indirectDesc: exp.indirectDesc } });
  q.vq.lastAvailIdx = q.vq.shadowAvailIdx = q.vq.usedIdx = startIdx;
  return { mem, drv, exp, ...q };
}

describe('invalid chains give the expected error', () => {
  it('pop / parse: the queue breaks (virtio_error) or the parser refuses, with the expected message', () => {
    fc.assert(
      fc.property(sizeArb, startIdxArb, badArb, (size, startIdx, b) => {
        const { vq, exp, errors } = setupBad(size, startIdx, b);
        for (let i = 0; i < exp.prePops; i++) elemOf(vq.pop());
        exp.after?.();
        const r = vq.pop();
        if (exp.level === 'queue') {
          expect(r).toEqual({ kind: 'broken', message: exp.message });
          expect(errors).toEqual([exp.message]);
          // Broken for good: nothing more is popped, nothing is pushed, no second report.
          expect(vq.pop()).toEqual({ kind: 'broken', message: exp.message });
          expect(errors).toHaveLength(1);
        } else {
          expect(errors).toEqual([]);
          expect(parseBlkRequest(vq, elemOf(r), 0)).toBe(exp.message);
        }
      }),
      { numRuns: runs(500) },
    );
  });

  it('through the device model: virtio_error once with the message, device broken, nothing in the used ring', () => {
    fc.assert(
      fc.property(sizeArb, startIdxArb, badArb, (size, startIdx, b) => {
        const { vq, exp, errors, sim, trace, drv } = setupBad(size, startIdx, b);
        const onError: string[] = [];
        const ctx = new ExecutionContext(sim, trace, 'main-loop', 'main-loop');
        const dev = createVirtioBlk({ sim, trace, costs: new CostModel(), context: ctx, backend: new FakeBackend(sim, 1 << 20), devName: 'vda', onError: (m) => onError.push(m) });
        if (dev._tag === 'Left') throw new Error(JSON.stringify(dev.left));
        dev.right.setFeatures(dev.right.hostFeatures());
        dev.right.start([vq]);
        dev.right.handleOutput(vq);
        if (exp.after) {
          exp.after();
          dev.right.handleOutput(vq);
        }
        sim.run();
        expect(dev.right.broken).toBe(true);
        // A ring error is reported by the queue (the transport's virtio_error); a request error by the device.
        expect(exp.level === 'queue' ? errors : onError).toEqual([exp.message]);
        expect(exp.level === 'queue' ? onError : errors).toEqual([]);
        expect(drv.takeUsed()).toEqual([]);
      }),
      { numRuns: runs(500) },
    );
  });
});
