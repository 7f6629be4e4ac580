/**
 * DriverVirtqueue against the device-side SplitVirtqueue (QEMU's virtqueue_pop/push,
 * host/devices/virtio/virtqueue.ts), which refuses any malformed chain. Random add /
 * pop / push / collect sequences must never leak or double-use a descriptor or an
 * indirect table, every chain must reach the device exactly as added, and every token
 * must come back exactly once, in used order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { standaloneQueue } from '../../host/devices/virtio/test-utils.js';
import type { VirtqElement } from '../../host/devices/virtio/types.js';
import { GuestMemory, type SgElem } from '../../hw/memory.js';
import { DmaAllocator } from '../kernel/dma-alloc.js';
import { DriverVirtqueue } from './virtqueue.js';

class TrackingAlloc extends DmaAllocator {
  readonly live = new Map<number, number>();
  override alloc(bytes: number, align = 8): number {
    const a = super.alloc(bytes, align);
    for (const [b, n] of this.live) if (a < b + n && b < a + bytes) throw new Error(`allocator handed out 0x${a.toString(16)} twice`);
    this.live.set(a, bytes);
    return a;
  }
  override free(addr: number, bytes: number, align = 8): void {
    if (this.live.get(addr) !== bytes) throw new Error(`free of 0x${addr.toString(16)} (${bytes} bytes) that is not live`);
    this.live.delete(addr);
    super.free(addr, bytes, align);
  }
}

type Op =
  | { kind: 'add'; out: number[]; in: number[] }
  | { kind: 'pop'; n: number }
  | { kind: 'push'; pick: number; len: number }
  | { kind: 'collect' };

const lens = fc.array(fc.integer({ min: 1, max: 8192 }), { maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), out: lens, in: lens }).filter((o) => o.out.length + o.in.length > 0) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const), n: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('push' as const), pick: fc.nat(), len: fc.nat({ max: 0xffff }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('collect' as const) }) },
);

function harness(size: number, eventIdx: boolean, indirect: boolean) {
  const mem = new GuestMemory(1 << 23);
  const alloc = new TrackingAlloc(0x1000, 0x200000);
  const vq = new DriverVirtqueue<number>(mem, alloc, 0, size, { eventIdx, indirect, chargeDescs: () => undefined, notify: () => undefined });
  const baseline = alloc.live.size;
  const dev = standaloneQueue(mem, vq.ring, { features: { eventIdx, indirectDesc: indirect } });
  return { mem, alloc, vq, dev, baseline };
}

describe('DriverVirtqueue ↔ device SplitVirtqueue', () => {
  it('never leaks or double-uses descriptors; tokens come back once, in used order (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 4, 8, 16), fc.boolean(), fc.boolean(), fc.array(opArb, { maxLength: 80 }), (size, eventIdx, indirect, ops) => {
        const { mem, alloc, vq, dev, baseline } = harness(size, eventIdx, indirect);
        let nextToken = 0;
        let modelFree = size;
        // token → what was added and the descriptors it holds
        const inflight = new Map<number, { out: SgElem[]; in: SgElem[]; descs: number[]; needed: number }>();
        const headToken = new Map<number, number>();
        const popped: { elem: VirtqElement; token: number }[] = [];
        const expectedUsed: { token: number; len: number }[] = [];
        let dataAt = 0x400000;
        const sg = (ls: number[]): SgElem[] => ls.map((len) => ({ addr: (dataAt += 0x2000) % 0x400000 + 0x400000, len }));

        const collect = (): void => {
          for (let b = vq.getBuf(); b; b = vq.getBuf()) {
            expect(b).toEqual(expectedUsed.shift());
            const f = inflight.get(b.token);
            expect(f, `token ${b.token} returned twice`).toBeDefined();
            inflight.delete(b.token);
            modelFree += f!.needed;
          }
          expect(expectedUsed).toEqual([]);
        };

        for (const op of ops) {
          if (op.kind === 'add') {
            const out = sg(op.out);
            const inb = sg(op.in);
            const total = out.length + inb.length;
            const needed = indirect && total > 1 ? 1 : total;
            const token = nextToken++;
            const ok = vq.addSgs(out, inb, token);
            expect(ok).toBe(modelFree >= needed);
            if (!ok) continue;
            modelFree -= needed;
            const availIdx = mem.read16(vq.ring.avail + 2);
            const head = mem.read16(vq.ring.avail + 4 + 2 * ((availIdx - 1) % size));
            // Walk the ring descriptors this chain holds; none may belong to another chain.
            const descs = [head];
            for (let i = head; mem.read16(vq.ring.desc + 16 * i + 12) & 1; ) descs.push((i = mem.read16(vq.ring.desc + 16 * i + 14)));
            expect(descs.length).toBe(needed);
            for (const f of inflight.values()) for (const d of descs) expect(f.descs).not.toContain(d);
            inflight.set(token, { out, in: inb, descs, needed });
            headToken.set(head, token);
          } else if (op.kind === 'pop') {
            for (let i = 0; i < op.n; i++) {
              const r = dev.vq.pop();
              if (r.kind === 'empty') break;
              expect(r.kind).toBe('elem');
              if (r.kind !== 'elem') return;
              const token = headToken.get(r.elem.head)!;
              const f = inflight.get(token)!;
              expect({ out: r.elem.out, in: r.elem.in }).toEqual({ out: f.out, in: f.in });
              popped.push({ elem: r.elem, token });
            }
          } else if (op.kind === 'push') {
            if (popped.length === 0) continue;
            const [p] = popped.splice(op.pick % popped.length, 1);
            dev.vq.push(p.elem, op.len);
            expectedUsed.push({ token: p.token, len: op.len });
          } else collect();
          expect(vq.numFree).toBe(modelFree);
          expect(dev.errors).toEqual([]);
          expect(vq.isBroken()).toBe(false);
          // Live indirect tables: exactly one per in-flight indirect chain.
          const indirectChains = [...inflight.values()].filter((f) => indirect && f.out.length + f.in.length > 1).length;
          expect(alloc.live.size - baseline).toBe(indirectChains);
        }

        // Drain: the device completes everything, the driver collects everything.
        for (let r = dev.vq.pop(); r.kind === 'elem'; r = dev.vq.pop()) popped.push({ elem: r.elem, token: headToken.get(r.elem.head)! });
        for (const p of popped.splice(0)) {
          dev.vq.push(p.elem, 1);
          expectedUsed.push({ token: p.token, len: 1 });
        }
        collect();
        expect(inflight.size).toBe(0);
        expect(vq.numFree).toBe(size);
        expect(alloc.live.size).toBe(baseline);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps working as avail and used indices wrap past 2^16', () => {
    const { mem, vq, dev } = harness(4, true, false);
    for (let i = 0; i < 0x10000 + 300; i++) {
      expect(vq.addSgs([{ addr: 0x400000, len: 16 }], [{ addr: 0x500000, len: 1 }], i)).toBe(true);
      // The device keeps avail_event at its last_avail_idx, so every single add needs a kick.
      if (!vq.kickPrepare()) throw new Error(`no kick at ${i}`);
      const r = dev.vq.pop();
      if (r.kind !== 'elem') throw new Error(`pop ${i}: ${r.kind}`);
      dev.vq.push(r.elem, 1);
      const b = vq.getBuf();
      if (b?.token !== i) throw new Error(`getBuf ${i}: ${JSON.stringify(b)}`);
    }
    expect(mem.read16(vq.ring.avail + 2)).toBe(300);
    expect(mem.read16(vq.ring.used + 2)).toBe(300);
    expect(vq.numFree).toBe(4);
    expect(dev.errors).toEqual([]);
  });
});
