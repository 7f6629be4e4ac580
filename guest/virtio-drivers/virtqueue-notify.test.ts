/**
 * DriverVirtqueue notification suppression, both directions (virtio 1.x §2.7.7/§2.7.10,
 * facts.md §1.3; Linux virtqueue_kick_prepare_split / disable_cb / enable_cb_prepare):
 * - kicks: with EVENT_IDX, vring_need_event(avail_event, new, old); without, used.flags NO_NOTIFY;
 * - interrupts: with EVENT_IDX, used_event (0 while disabled, last_used_idx when enabled);
 *   without, avail.flags NO_INTERRUPT;
 * - enableCb reports buffers that arrived while callbacks were off.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../hw/memory.js';
import { DmaAllocator } from '../kernel/dma-alloc.js';
import { DriverVirtqueue } from './virtqueue.js';

function setup(eventIdx: boolean, size = 8) {
  const mem = new GuestMemory(1 << 21);
  const calls = { notify: 0 };
  const vq = new DriverVirtqueue<number>(mem, new DmaAllocator(0x1000, 0x100000), 0, size, {
    eventIdx,
    indirect: true,
    chargeDescs: () => undefined,
    notify: () => void calls.notify++,
  });
  const r = vq.ring;
  const at = {
    availFlags: r.avail,
    usedEvent: r.avail + 4 + 2 * size,
    usedFlags: r.used,
    usedIdx: r.used + 2,
    availEvent: r.used + 4 + 8 * size,
  };
  let tok = 0;
  const add = (): boolean => vq.addSgs([{ addr: 0x180000, len: 16 }], [{ addr: 0x190000, len: 1 }], tok++);
  /** The device completes `id` (raw used-ring writes). */
  const push = (id: number): void => {
    const idx = mem.read16(at.usedIdx);
    mem.write32(r.used + 4 + 8 * (idx % size), id);
    mem.write32(r.used + 8 + 8 * (idx % size), 1);
    mem.write16(at.usedIdx, (idx + 1) & 0xffff);
  };
  /** Heads of what was published, in avail order. */
  const head = (slot: number): number => mem.read16(r.avail + 4 + 2 * (slot % size));
  return { mem, vq, calls, at, add, push, head };
}

/** facts.md §1.3, written out independently of the code under test. */
const needEvent = (event: number, newIdx: number, old: number): boolean => ((newIdx - event - 1) & 0xffff) < ((newIdx - old) & 0xffff);

describe('kickPrepare with EVENT_IDX', () => {
  it('kicks when the new avail idx passes avail_event', () => {
    const { vq, mem, at, add } = setup(true);
    add();
    add();
    add(); // old 0 → new 3
    mem.write16(at.availEvent, 3);
    expect(vq.kickPrepare()).toBe(false); // the device wants a kick only after index 3 is used
    add(); // old 3 → new 4: passes 3
    expect(vq.kickPrepare()).toBe(true);
    // Nothing added since the last kickPrepare: never kick.
    mem.write16(at.availEvent, 4);
    expect(vq.kickPrepare()).toBe(false);
  });

  it('counts the batch since the previous kickPrepare, not one buffer', () => {
    const { vq, mem, at, add } = setup(true);
    mem.write16(at.availEvent, 1);
    add();
    add();
    add(); // old 0, new 3, event 1 inside (0, 3]: kick
    expect(vq.kickPrepare()).toBe(true);
  });

  it('follows vring_need_event(avail_event, new, old) for any history (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffff })), { minLength: 1, maxLength: 12 }), (rounds) => {
        const { vq, mem, at, add, push, head } = setup(true);
        let avail = 0;
        let used = 0;
        for (const [n, event] of rounds) {
          // Complete everything, so there is room for n more.
          while (used < avail) push(head(used++));
          while (vq.getBuf());
          const old = avail;
          for (let i = 0; i < n; i++) expect(add()).toBe(true), avail++;
          mem.write16(at.availEvent, event);
          expect(vq.kickPrepare()).toBe(needEvent(event, avail & 0xffff, old & 0xffff));
        }
      }),
    );
  });

  it('ignores used.flags NO_NOTIFY', () => {
    const { vq, mem, at, add } = setup(true);
    mem.write16(at.usedFlags, 1);
    add();
    expect(vq.kickPrepare()).toBe(true); // avail_event 0, old 0 → new 1
  });
});

describe('kickPrepare without EVENT_IDX', () => {
  it('kicks unless the device set VIRTQ_USED_F_NO_NOTIFY', () => {
    const { vq, mem, at, add } = setup(false);
    add();
    expect(vq.kickPrepare()).toBe(true);
    mem.write16(at.usedFlags, 1);
    add();
    expect(vq.kickPrepare()).toBe(false);
    // avail_event means nothing without the feature.
    mem.write16(at.usedFlags, 0);
    mem.write16(at.availEvent, 100);
    add();
    expect(vq.kickPrepare()).toBe(true);
  });

  it('kick() notifies exactly when kickPrepare says so', () => {
    const { vq, mem, at, add, calls } = setup(false);
    add();
    expect(vq.kick()).toBe(true);
    expect(calls.notify).toBe(1);
    mem.write16(at.usedFlags, 1);
    add();
    expect(vq.kick()).toBe(false);
    expect(calls.notify).toBe(1);
  });
});

describe('disableCb / enableCb with EVENT_IDX', () => {
  it('keeps used_event at last_used_idx while enabled, parks it at 0 while disabled, never writes avail.flags', () => {
    const { vq, mem, at, add, push, head } = setup(true);
    for (let i = 0; i < 4; i++) add();
    for (let i = 0; i < 4; i++) push(head(i));
    expect(vq.getBuf()).toBeDefined();
    expect(mem.read16(at.usedEvent)).toBe(1);
    vq.disableCb();
    expect(mem.read16(at.usedEvent)).toBe(0);
    expect(vq.getBuf()).toBeDefined();
    expect(mem.read16(at.usedEvent)).toBe(0); // not moved while disabled
    expect(vq.enableCb()).toBe(false); // two more are waiting
    expect(mem.read16(at.usedEvent)).toBe(2);
    vq.disableCb();
    while (vq.getBuf());
    expect(vq.enableCb()).toBe(true);
    expect(mem.read16(at.usedEvent)).toBe(4);
    expect(mem.read16(at.availFlags)).toBe(0);
  });

  it('enableCb returns false when a buffer arrived after the drain (the lost-interrupt race)', () => {
    const { vq, mem, at, add, push, head } = setup(true);
    add();
    add();
    vq.disableCb();
    push(head(0));
    while (vq.getBuf());
    push(head(1)); // the device completes just before callbacks come back on
    expect(vq.enableCb()).toBe(false);
    expect(mem.read16(at.usedEvent)).toBe(1);
    expect(vq.getBuf()?.token).toBe(1);
    expect(vq.enableCb()).toBe(true);
    expect(mem.read16(at.usedEvent)).toBe(2);
  });
});

describe('disableCb / enableCb without EVENT_IDX', () => {
  it('sets and clears VIRTQ_AVAIL_F_NO_INTERRUPT', () => {
    const { vq, mem, at, add, push, head } = setup(false);
    expect(mem.read16(at.availFlags)).toBe(0);
    vq.disableCb();
    expect(mem.read16(at.availFlags)).toBe(1);
    vq.disableCb(); // idempotent
    expect(mem.read16(at.availFlags)).toBe(1);
    add();
    push(head(0));
    expect(vq.enableCb()).toBe(false);
    expect(mem.read16(at.availFlags)).toBe(0);
    expect(vq.getBuf()?.token).toBe(0);
    expect(vq.enableCb()).toBe(true);
    expect(mem.read16(at.availFlags)).toBe(0);
  });

  it('enableCb on an idle, enabled queue reports nothing pending', () => {
    const { vq } = setup(false);
    expect(vq.enableCb()).toBe(true);
  });
});
