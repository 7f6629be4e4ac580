/**
 * Properties over whatever a guest can put in a chain: header bytes, payloads and buffer
 * layouts are arbitrary. The device never throws; each request either completes with
 * OK, IOERR or UNSUPP and a used length of every writable byte, or the device reports
 * virtio_error() and stops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SgElem } from '../../../hw/memory.js';
import { VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, encodeDwzSegments } from '../../../hw/virtio/blk.js';
import type { VirtqElement } from '../virtio/types.js';
import { MSG_DWZ_HEADER_TOO_SHORT, MSG_ZONE_REPORT_TOO_SMALL } from './handle.js';
import { MSG_INHDR_TOO_SHORT, MSG_MISSING_HEADERS, MSG_OUTHDR_TOO_SHORT } from './request.js';
import { makeRig, type GuestAlloc, type Rig } from './test-utils.js';

const DISK = 64 * 1024;
const KNOWN_ERRORS = [MSG_MISSING_HEADERS, MSG_OUTHDR_TOO_SHORT, MSG_INHDR_TOO_SHORT, MSG_DWZ_HEADER_TOO_SHORT, MSG_ZONE_REPORT_TOO_SMALL];

const interestingType = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 26, 0x80000000, 0x80000001, 0x80000004),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const sector = fc.oneof(fc.integer({ min: 0, max: 140 }), fc.integer({ min: 0, max: 16 }).map((n) => n * 8), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(2 ** 53, 2 ** 63, 2 ** 64 - 1));
const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(v / 2 ** (8 * i)) % 256);

const header = fc.oneof(
  fc.record({ type: interestingType, ioprio: fc.integer({ min: 0, max: 0xffffffff }), sector }).map((h) => Uint8Array.from([...le(h.type, 4), ...le(h.ioprio, 4), ...le(h.sector, 8)])),
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.uint8Array({ minLength: 0, maxLength: 15 }),
);
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 1100 }),
  fc.constantFrom(0, 512, 1024, 4096).map((n) => new Uint8Array(n)),
  fc.array(fc.record({ sector: fc.integer({ min: 0, max: 200 }), numSectors: fc.integer({ min: 0, max: 200 }), flags: fc.integer({ min: 0, max: 3 }) }), { maxLength: 2 }).map(encodeDwzSegments),
);

/** A chain: readable bytes cut at arbitrary points, writable buffers of arbitrary sizes. */
const chainSpec = fc.record({
  readable: fc.tuple(header, payload).map(([h, p]) => Uint8Array.from([...h, ...p])),
  cuts: fc.array(fc.integer({ min: 0, max: 1200 }), { maxLength: 4 }),
  noReadable: fc.nat(9).map((n) => n === 0),
  writable: fc.oneof(
    { arbitrary: fc.array(fc.oneof(fc.constantFrom(1, 21, 81, 513, 1025, 4097), fc.integer({ min: 0, max: 1100 })), { minLength: 1, maxLength: 4 }), weight: 9 },
    { arbitrary: fc.constant<number[]>([]), weight: 1 },
  ),
});
type ChainSpec = typeof chainSpec extends fc.Arbitrary<infer T> ? T : never;

interface Laid {
  elem: VirtqElement;
  statusAddr: number | null;
  inLen: number;
}

function layOut(a: GuestAlloc, head: number, s: ChainSpec): Laid {
  const out: SgElem[] = [];
  if (!(s.noReadable && s.readable.length < 40)) {
    const base = a.alloc(s.readable.length);
    a.mem.write(base, s.readable);
    const points = [...new Set(s.cuts.filter((c) => c <= s.readable.length))].sort((x, y) => x - y);
    let prev = 0;
    for (const p of [...points, s.readable.length]) {
      out.push({ addr: base + prev, len: p - prev });
      prev = p;
    }
  }
  const inn: SgElem[] = s.writable.map((len) => ({ addr: a.alloc(len), len }));
  const last = inn[inn.length - 1];
  const statusAddr = last && last.len > 0 ? last.addr + last.len - 1 : null;
  if (statusAddr !== null) a.mem.write8(statusAddr, 0xee);
  return { elem: { head, out, in: inn, ndescs: out.length + inn.length }, statusAddr, inLen: s.writable.reduce((x, y) => x + y, 0) };
}

function runChains(specs: ChainSpec[], rig: Rig): Laid[] {
  const laid = specs.map((s, i) => layOut(rig.alloc, i, s));
  rig.vq.avail.push(...laid.map((l) => l.elem));
  rig.kick();
  return laid;
}

describe('virtio-blk: arbitrary chains (fast-check)', () => {
  it('never throws; completes with OK/IOERR/UNSUPP and used len = writable bytes, or reports virtio_error', () => {
    fc.assert(
      fc.property(fc.array(chainSpec, { minLength: 1, maxLength: 4 }), fc.boolean(), (specs, merging) => {
        const rig = makeRig({ diskBytes: DISK, props: { 'request-merging': merging } });
        const laid = runChains(specs, rig);
        expect(rig.errors.length).toBeLessThanOrEqual(1);
        if (rig.errors.length === 0) {
          expect(rig.dev.broken).toBe(false);
          expect(rig.vq.used.map((u) => u.head).sort((x, y) => x - y)).toEqual(laid.map((_, i) => i));
          for (const u of rig.vq.used) {
            const l = laid[u.head];
            expect(u.len).toBe(l.inLen);
            expect([0, 1, 2]).toContain(rig.mem.read8(l.statusAddr!));
          }
          return;
        }
        expect(KNOWN_ERRORS).toContain(rig.errors[0]);
        expect(rig.dev.broken).toBe(true);
        // The bad chain is the first one never completed; none after it was touched.
        const bad = laid.findIndex((l) => l.statusAddr === null || rig.mem.read8(l.statusAddr) === 0xee);
        expect(bad).toBeGreaterThanOrEqual(0);
        for (const l of laid.slice(bad + 1)) if (l.statusAddr !== null) expect(rig.mem.read8(l.statusAddr)).toBe(0xee);
        for (const l of laid.slice(0, bad)) expect([0, 1, 2]).toContain(rig.mem.read8(l.statusAddr!));
        expect(rig.vq.used.every((u) => u.head < bad)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('well-formed reads and writes: OK exactly when whole sectors inside the disk; data round-trips', () => {
    const io = fc.record({
      write: fc.boolean(),
      sector: fc.integer({ min: 0, max: 140 }),
      bytes: fc.oneof(fc.integer({ min: 0, max: 8 }).map((n) => n * 512), fc.integer({ min: 0, max: 4200 })),
      chunk: fc.integer({ min: 1, max: 5000 }),
      seed: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(fc.array(io, { minLength: 1, maxLength: 6 }), (ios) => {
        const rig = makeRig({ diskBytes: DISK });
        for (let i = 0; i < DISK; i++) rig.backend.data[i] = (i * 13) & 0xff;
        const before = rig.backend.data.slice();
        const model = before.slice();
        const specs: ChainSpec[] = ios.map((x) => {
          const hdr = Uint8Array.from([...le(x.write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, 4), 0, 0, 0, 0, ...le(x.sector, 8)]);
          const data = x.write ? Uint8Array.from({ length: x.bytes }, (_, i) => (i + x.seed) & 0xff) : new Uint8Array(0);
          const cuts = x.write ? [16, ...Array.from({ length: Math.ceil(x.bytes / x.chunk) }, (_, i) => 16 + i * x.chunk)] : [];
          return { readable: Uint8Array.from([...hdr, ...data]), cuts, noReadable: false, writable: x.write ? [1] : [x.bytes + 1] };
        });
        const laid = runChains(specs, rig);
        expect(rig.errors).toEqual([]);
        const okIo = (x: (typeof ios)[number]) => x.bytes % 512 === 0 && x.sector * 512 + x.bytes <= DISK;
        const span = (x: (typeof ios)[number]) => [x.sector * 512, x.sector * 512 + x.bytes] as const;
        const overlaps = (a: (typeof ios)[number], b: (typeof ios)[number]) => span(a)[0] < span(b)[1] && span(b)[0] < span(a)[1];
        const writes = ios.filter((x) => x.write && okIo(x));
        ios.forEach((x, i) => {
          expect(rig.mem.read8(laid[i].statusAddr!)).toBe(okIo(x) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
          if (!okIo(x)) return;
          if (x.write) model.set(specs[i].readable.subarray(16), x.sector * 512);
          else if (!writes.some((w) => overlaps(w, x))) {
            // A read no write of the batch touches sees the disk as it was.
            const got = rig.mem.read(laid[i].elem.in[0].addr, x.bytes);
            expect(Buffer.compare(got, before.subarray(span(x)[0], span(x)[1]))).toBe(0);
          }
        });
        // With no two writes overlapping, the order they reach the disk does not matter.
        if (!writes.some((a, j) => writes.some((b, k) => j < k && overlaps(a, b)))) expect(Buffer.compare(rig.backend.data, model)).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
