/**
 * Interrupt and kick suppression on the device side: virtio_split_should_notify and
 * virtio_queue_set_notification, with and without VIRTIO_F_EVENT_IDX.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../hw/memory.js';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_USED_F_NO_NOTIFY } from '../../../hw/virtio/constants.js';
import { Recorder } from '../../../sim/trace.js';
import { MockSplitQueue, standaloneQueue } from './test-utils.js';

function setup(eventIdx: boolean, size = 8) {
  const mem = new GuestMemory(1 << 20);
  const drv = new MockSplitQueue(mem, { size });
  const q = standaloneQueue(mem, drv.ring, { features: { eventIdx }, devName: 'vda', index: 0 });
  const rec = new Recorder();
  q.trace.attach(rec.sink);
  /** Publish one chain, pop it, push it; returns nothing. */
  const complete = (): void => {
    drv.publish(drv.addChain([{ len: 8 }, { len: 1, write: true }]));
    const r = q.vq.pop();
    if (r.kind !== 'elem') throw new Error('expected an element');
    q.vq.push(r.elem, 1);
  };
  return { mem, drv, ...q, rec, complete };
}

describe('without EVENT_IDX', () => {
  it('interrupts unless the driver set VIRTQ_AVAIL_F_NO_INTERRUPT, and records each decision', () => {
    const s = setup(false);
    s.complete();
    s.vq.notify();
    s.drv.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    s.complete();
    s.complete();
    s.vq.notify();
    s.drv.setAvailFlags(0);
    s.vq.notify();
    expect(s.interrupts).toHaveLength(2);
    const used = s.rec.events.filter((e) => e.kind === 'used');
    expect(used.map((e) => e.kind === 'used' && [e.n, e.interrupt])).toEqual([[1, true], [2, false], [0, true]]);
    expect(used[0]).toMatchObject({ dev: 'vda', vq: 0 });
  });

  it('setNotification toggles VIRTQ_USED_F_NO_NOTIFY in used.flags', () => {
    const s = setup(false);
    s.vq.setNotification(false);
    expect(s.drv.usedFlags()).toBe(VIRTQ_USED_F_NO_NOTIFY);
    s.vq.setNotification(true);
    expect(s.drv.usedFlags()).toBe(0);
  });
});

describe('with EVENT_IDX', () => {
  it('the first notify always interrupts (signalled_used not yet valid)', () => {
    const s = setup(true);
    s.drv.setUsedEvent(100);
    s.complete();
    s.vq.notify();
    expect(s.interrupts).toHaveLength(1);
  });

  it('interrupts only when the used index crosses used_event', () => {
    const s = setup(true);
    s.drv.setUsedEvent(0);
    s.complete(); // used 1
    s.vq.notify(); // first: yes
    s.drv.setUsedEvent(3); // "tell me after the 4th"
    s.complete(); // used 2
    s.vq.notify(); // need_event(3, 2, 1): no
    s.complete(); // used 3
    s.vq.notify(); // need_event(3, 3, 2): no
    s.complete(); // used 4
    s.vq.notify(); // need_event(3, 4, 3): yes
    expect(s.rec.events.filter((e) => e.kind === 'used').map((e) => e.kind === 'used' && e.interrupt)).toEqual([true, false, false, true]);
    expect(s.interrupts).toHaveLength(2);
  });

  it('a batch that jumps over used_event still interrupts once', () => {
    const s = setup(true);
    s.complete();
    s.vq.notify();
    s.drv.setUsedEvent(2);
    s.complete();
    s.complete();
    s.complete(); // used idx 1 → 4 passes 2
    s.vq.notify();
    s.vq.notify(); // nothing new since: need_event(2, 4, 4) is false
    expect(s.interrupts).toHaveLength(2);
  });

  it('ignores VIRTQ_AVAIL_F_NO_INTERRUPT (flags are not used with EVENT_IDX)', () => {
    const s = setup(true);
    s.drv.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    s.drv.setUsedEvent(0);
    s.complete();
    s.vq.notify();
    expect(s.interrupts).toHaveLength(1);
  });

  it('pop publishes avail_event = last_avail_idx while notifications are on', () => {
    const s = setup(true);
    s.drv.publish(s.drv.addChain([{ len: 8 }]), s.drv.addChain([{ len: 8 }]));
    s.vq.pop();
    expect(s.drv.availEvent()).toBe(1);
    s.vq.setNotification(false);
    s.vq.pop();
    expect(s.drv.availEvent()).toBe(1); // disabled: the event index stays behind
    s.drv.publish(s.drv.addChain([{ len: 8 }]));
    s.vq.setNotification(true);
    expect(s.drv.availEvent()).toBe(3); // re-enabled: the current avail idx
    expect(s.drv.usedFlags()).toBe(0); // flags untouched with EVENT_IDX
  });

  it('wraps at 2^16 like vring_need_event', () => {
    const s = setup(true);
    s.vq.usedIdx = 0xfffe;
    s.vq.signalledUsed = 0xfffe;
    s.vq.signalledUsedValid = true;
    s.drv.setUsedEvent(0xffff);
    s.complete(); // used idx 0xffff: need_event(0xffff, 0xffff, 0xfffe) false
    s.vq.notify();
    s.complete(); // used idx 0: need_event(0xffff, 0, 0xffff) true
    s.vq.notify();
    expect(s.rec.events.filter((e) => e.kind === 'used').map((e) => e.kind === 'used' && e.interrupt)).toEqual([false, true]);
  });
});
