/**
 * A malicious guest: a VM boots normally (and maybe does some honest I/O), then arbitrary
 * bytes land in its rings and descriptor table — raw bytes anywhere in the three ring
 * areas, descriptors with any address, length, flags and next, avail ring entries and
 * avail index moves, indirect tables, and plausible-looking requests with random headers
 * — and the guest rings doorbells from a vCPU (an MMIO write, a real modelled exit).
 *
 * Properties (DESIGN.md, "Errors: three tiers": nothing a guest controls may reach a throw):
 * - nothing throws, anywhere (KVM, QEMU's device and block layer, the guest driver that
 *   then reads whatever the device wrote back);
 * - every guest memory access the simulation makes lies inside RAM (GuestMemory is
 *   spied: each access is checked against `contains` before it happens);
 * - every request the device completes has status OK, IOERR or UNSUPP;
 * - the device reports a broken ring (`device-error`) exactly when the transport shows
 *   DEVICE_NEEDS_RESET (status bit 0x40);
 * - a doorbell for a live queue with chains pending is answered: at least one completion
 *   on that queue, or NEEDS_RESET.
 *
 * Runs: 200 with an idle ring, 100 during a job; IOPATH_DEEP=1 gives ten times as many.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { DriverVirtqueue } from '../guest/virtio-drivers/virtqueue.js';
import type { GuestMemory } from '../hw/memory.js';
import { VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_WRITE_ZEROES } from '../hw/virtio/blk.js';
import { VIRTIO_CONFIG_S_NEEDS_RESET } from '../hw/virtio/constants.js';
import { availRingBytes, descTableBytes, usedRingBytes, type SplitRingAddrs } from '../hw/virtio/split-ring.js';
import type { TraceEvent } from '../sim/trace.js';
import { vmErrorMessage } from '../vm/errors.js';
import type { Machine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import { DEFAULT_JOB } from '../workload/index.js';
import { boot, knobsArb, runs, vmArgs, type Knobs } from './support/vm.js';

const MEM = 256 * 1024 * 1024;
/** Where plausible requests put their headers and buffers: high guest RAM nothing else uses. */
const SCRATCH = MEM - 8 * 1024 * 1024;

/* ---------- what the guest writes ---------- */

type Addr = { at: 'scratch'; off: number } | { at: 'ram'; addr: number } | { at: 'ring'; area: Area; off: number } | { at: 'raw'; v: number | bigint };
type Area = 'desc' | 'avail' | 'used';

const addrArb: fc.Arbitrary<Addr> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ at: fc.constant('scratch' as const), off: fc.nat(4 * 1024 * 1024) }) },
  { weight: 1, arbitrary: fc.record({ at: fc.constant('ram' as const), addr: fc.nat(MEM - 1) }) },
  { weight: 1, arbitrary: fc.record({ at: fc.constant('ring' as const), area: fc.constantFrom<Area>('desc', 'avail', 'used'), off: fc.nat(4096) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      at: fc.constant('raw' as const),
      v: fc.oneof(
        fc.integer({ min: MEM - 64, max: MEM + 64 }),
        fc.constantFrom<number | bigint>(0, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 60, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n),
        fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
      ),
    }),
  },
);

const lenArb = fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 512, 4096, 65536, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }), fc.nat(2048));
const flagsArb = fc.oneof({ weight: 4, arbitrary: fc.nat(7) }, { weight: 1, arbitrary: fc.nat(0xffff) });
const u16 = fc.nat(0xffff);

type Patch =
  | { kind: 'bytes'; area: Area; off: number; bytes: Uint8Array }
  | { kind: 'desc'; index: number; addr: Addr; len: number; flags: number; next: number }
  | { kind: 'table'; index: number; entries: { addr: Addr; len: number; flags: number; next: number }[]; lenSlack: number }
  | { kind: 'avail-ring'; slot: number; head: number }
  | { kind: 'avail-idx'; delta: number }
  | { kind: 'avail-flags'; v: number }
  | { kind: 'used-event'; v: number }
  | { kind: 'request'; head: number; type: number; sector: number; dataLens: number[]; writable: boolean[]; statusLen: number };

const descArb = fc.record({ addr: addrArb, len: lenArb, flags: flagsArb, next: fc.oneof(fc.nat(8), u16) });

const patchArb: fc.Arbitrary<Patch> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), area: fc.constantFrom<Area>('desc', 'avail', 'used'), off: fc.nat(8192), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('desc' as const), index: fc.oneof(fc.nat(8), u16), addr: addrArb, len: lenArb, flags: flagsArb, next: fc.oneof(fc.nat(8), u16) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('table' as const), index: fc.oneof(fc.nat(8), u16), entries: fc.array(descArb, { minLength: 1, maxLength: 6 }), lenSlack: fc.oneof(fc.constant(0), fc.integer({ min: -20, max: 20 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('avail-ring' as const), slot: u16, head: fc.oneof(fc.nat(8), u16) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('avail-idx' as const), delta: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: u16 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('avail-flags' as const), v: u16 }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('used-event' as const), v: u16 }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      head: fc.oneof(fc.nat(8), u16),
      type: fc.oneof(fc.constantFrom(VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, 2, 16), fc.nat(0xffffffff)),
      sector: fc.oneof(fc.nat(64), fc.constantFrom(2 ** 32, 2 ** 53 - 1)),
      dataLens: fc.array(fc.oneof(fc.constantFrom(1, 16, 511, 512, 4096), fc.nat(8192)), { maxLength: 3 }),
      writable: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      statusLen: fc.constantFrom(0, 1, 1, 1, 1, 1, 4),
    }),
  },
);

interface Scenario {
  knobs: Knobs;
  seed: number;
  /** Honest I/O before the attack (rings with history, indices not at 0). */
  warmup: number;
  queue: number;
  patches: Patch[];
  /** Doorbells rung afterwards: queue numbers (some beyond the device's queues). */
  doorbells: number[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  knobs: knobsArb,
  seed: fc.integer(),
  warmup: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
  queue: fc.nat(1),
  patches: fc.array(patchArb, { minLength: 1, maxLength: 12 }),
  doorbells: fc.array(fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(3) }), { minLength: 1, maxLength: 3 }),
});

/* ---------- access spy ---------- */

/** Check every GuestMemory access against `contains` before it happens; record the ones outside RAM. */
function spyMemory(mem: GuestMemory): string[] {
  const bad: string[] = [];
  const m = mem as unknown as Record<string, (...a: unknown[]) => unknown>;
  const wrap = (name: string, len: (args: unknown[]) => number): void => {
    const orig = m[name].bind(mem);
    m[name] = (...args: unknown[]) => {
      const addr = args[0] as number;
      const n = len(args);
      if (!mem.contains(addr, n)) bad.push(`${name}(0x${Number(addr).toString(16)}, ${n})`);
      return orig(...args);
    };
  };
  for (const [name, n] of [['read8', 1], ['write8', 1], ['read16', 2], ['write16', 2], ['read32', 4], ['write32', 4], ['read64', 8], ['read64Big', 8], ['write64', 8]] as const) wrap(name, () => n);
  wrap('readInto', (a) => (a[1] as Uint8Array).length);
  wrap('read', (a) => a[1] as number);
  wrap('write', (a) => (a[1] as Uint8Array).length);
  wrap('fill', (a) => a[1] as number);
  return bad;
}

/* ---------- the attack ---------- */

interface DriverInternals {
  vqs: DriverVirtqueue<unknown>[];
  doorbells: number[];
}

function areaOf(r: SplitRingAddrs, a: Area): { base: number; len: number } {
  return a === 'desc' ? { base: r.desc, len: descTableBytes(r.size) } : a === 'avail' ? { base: r.avail, len: availRingBytes(r.size) } : { base: r.used, len: usedRingBytes(r.size) };
}

function resolve(r: SplitRingAddrs, a: Addr): number | bigint {
  switch (a.at) {
    case 'scratch':
      return SCRATCH + a.off;
    case 'ram':
      return a.addr;
    case 'ring': {
      const { base, len } = areaOf(r, a.area);
      return base + (a.off % len);
    }
    case 'raw':
      return a.v;
  }
}

function writeRawDesc(mem: GuestMemory, table: number, i: number, d: { addr: number | bigint; len: number; flags: number; next: number }): void {
  const at = table + 16 * i;
  mem.write64(at, d.addr);
  mem.write32(at + 8, d.len >>> 0);
  mem.write16(at + 12, d.flags & 0xffff);
  mem.write16(at + 14, d.next & 0xffff);
}

/** Apply the guest's scribbles (the test's own writes go around the spy: they are the guest's, not the simulation's). */
function attack(mem: GuestMemory, r: SplitRingAddrs, patches: readonly Patch[]): void {
  const size = r.size;
  let scratch = SCRATCH + 4 * 1024 * 1024;
  const alloc = (n: number): number => {
    const a = scratch;
    scratch += Math.ceil(Math.max(n, 1) / 16) * 16 + 16;
    return a;
  };
  const availIdx = (): number => mem.read16(r.avail + 2);
  for (const p of patches) {
    switch (p.kind) {
      case 'bytes': {
        const { base, len } = areaOf(r, p.area);
        const off = p.off % len;
        mem.write(base + off, p.bytes.subarray(0, len - off));
        break;
      }
      case 'desc':
        writeRawDesc(mem, r.desc, p.index % size, { ...p, addr: resolve(r, p.addr) });
        break;
      case 'table': {
        const t = alloc(16 * p.entries.length);
        p.entries.forEach((e, i) => writeRawDesc(mem, t, i, { ...e, addr: resolve(r, e.addr) }));
        writeRawDesc(mem, r.desc, p.index % size, { addr: t, len: Math.max(0, 16 * p.entries.length + p.lenSlack), flags: 4, next: 0 });
        break;
      }
      case 'avail-ring':
        mem.write16(r.avail + 4 + 2 * (p.slot % size), p.head);
        break;
      case 'avail-idx':
        mem.write16(r.avail + 2, (availIdx() + p.delta) & 0xffff);
        break;
      case 'avail-flags':
        mem.write16(r.avail, p.v);
        break;
      case 'used-event':
        mem.write16(r.avail + 4 + 2 * size, p.v);
        break;
      case 'request': {
        // A header, some data buffers, a status buffer, chained from `head`, published.
        const hdr = alloc(16);
        mem.write32(hdr, p.type >>> 0);
        mem.write32(hdr + 4, 0);
        mem.write64(hdr + 8, p.sector);
        const bufs = [{ addr: hdr, len: 16, write: false }, ...p.dataLens.map((n, i) => ({ addr: alloc(n), len: n, write: p.writable[i] }))];
        bufs.push({ addr: alloc(p.statusLen), len: p.statusLen, write: true });
        const head = p.head % size;
        bufs.forEach((b, i) => {
          const last = i === bufs.length - 1;
          writeRawDesc(mem, r.desc, (head + i) % size, { addr: b.addr, len: b.len, flags: (b.write ? 2 : 0) | (last ? 0 : 1), next: (head + i + 1) % size });
        });
        const idx = availIdx();
        mem.write16(r.avail + 4 + 2 * (idx % size), head);
        mem.write16(r.avail + 2, (idx + 1) & 0xffff);
        break;
      }
    }
  }
}

const QUIET_NS = 1_000_000_000;

type Completion = Extract<TraceEvent, { kind: 'device-complete' }>;

/** What must hold of the events after an attack, whatever the guest wrote. */
function checkAftermath(m: Machine, events: readonly TraceEvent[], bad: readonly string[]): Completion[] {
  expect(bad).toEqual([]);
  const completions = events.filter((e): e is Completion => e.kind === 'device-complete');
  for (const c of completions) expect(['OK', 'IOERR', 'UNSUPP']).toContain(c.status);
  const needsReset = (m.host.devices[0].transport.status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0;
  expect(needsReset, 'NEEDS_RESET exactly when the device reported a broken ring').toBe(events.some((e) => e.kind === 'device-error'));
  return completions;
}

describe('a malicious guest', () => {
  it('arbitrary ring contents + doorbells: no throw, no access outside RAM, each request OK/IOERR/UNSUPP or NEEDS_RESET', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const m: Machine = boot(vmArgs(sc.knobs, `if=none,id=d0,driver=memory,size=8M,discard=unmap`), { seed: sc.seed, record: true });
        expect(m.mem.size).toBe(MEM);
        if (sc.warmup > 0) {
          const r = runJobs(m, [{ ...DEFAULT_JOB, rw: 'randrw', iodepth: 4, size: 1 << 20, numberIos: sc.warmup, ioSize: sc.warmup * 4096 }]);
          if (E.isLeft(r)) throw new Error(vmErrorMessage(r.left));
        }
        const driver = m.guest.disks[0] as unknown as DriverInternals;
        const q = sc.queue % driver.vqs.length;
        const ring = driver.vqs[q].ring;
        const transport = m.host.devices[0].transport;
        const hostVq = transport.queues[q];
        attack(m.mem, ring, sc.patches);

        const bad = spyMemory(m.mem);
        const from = m.recorder!.events.length;
        // What the device will find when the doorbell rings (read before any of it runs).
        const pending = hostVq.ready && !hostVq.broken ? (m.mem.read16(ring.avail + 2) - hostVq.lastAvailIdx) & 0xffff : 0;
        const doorbellBase = driver.doorbells[0];
        const rung = sc.doorbells.map((d) => (d < 0 ? q : d));
        const vcpu = m.host.kvm.vcpus[0];
        vcpu.run('malicious notify', () => {
          for (const d of rung) vcpu.mmioWrite(doorbellBase + 4 * d, 2, d);
        });
        m.sim.run({ until: m.sim.now + QUIET_NS });

        const completions = checkAftermath(m, m.recorder!.events.slice(from), bad);
        const needsReset = (transport.status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0;
        if (pending !== 0 && rung.includes(q)) expect(needsReset || completions.some((c) => c.vq === q), `${pending} chains pending on queue ${q}, no completion and no NEEDS_RESET`).toBe(true);
      }),
      { numRuns: runs(200) },
    );
  });

  it('the same scribbles in the middle of a running job (requests in flight): no throw, no access outside RAM', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 1, max: 32 }), (sc, delayNs, iodepth) => {
        const m: Machine = boot(vmArgs(sc.knobs, `if=none,id=d0,driver=memory,size=8M,discard=unmap`), { seed: sc.seed, record: true });
        const driver = m.guest.disks[0] as unknown as DriverInternals;
        const q = sc.queue % driver.vqs.length;
        const ring = driver.vqs[q].ring;
        const bad = spyMemory(m.mem);
        const from = m.recorder!.events.length;
        const vcpu = m.host.kvm.vcpus[0];
        m.sim.at(m.sim.now + delayNs, () => {
          // The scribbling guest code runs on vCPU 0, between the job's own work.
          vcpu.run('malicious guest', () => {
            attack(m.mem, ring, sc.patches);
            for (const d of sc.doorbells) vcpu.mmioWrite(driver.doorbells[0] + 4 * (d < 0 ? q : d), 2, d < 0 ? q : d);
          });
        });
        // A device that needs a reset never completes what it holds: the job may not finish (Linux would time out).
        runJobs(m, [{ ...DEFAULT_JOB, rw: 'randrw', iodepth, size: 4 << 20, numberIos: 200, ioSize: 200 * 4096 }], { maxVirtualNs: 20_000_000 });
        m.sim.run({ until: m.sim.now + QUIET_NS });
        checkAftermath(m, m.recorder!.events.slice(from), bad);
      }),
      { numRuns: runs(100) },
    );
  });
});
