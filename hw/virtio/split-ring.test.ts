import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory.js';
import * as R from './split-ring.js';

describe('split ring layout', () => {
  it('has the spec sizes', () => {
    expect(R.descTableBytes(256)).toBe(4096);
    expect(R.availRingBytes(256)).toBe(6 + 512);
    expect(R.usedRingBytes(256)).toBe(6 + 2048);
  });

  it('puts used_event after the avail ring and avail_event after the used ring', () => {
    const m = new GuestMemory(1 << 20);
    const r = { size: 8, desc: 0x1000, avail: 0x2000, used: 0x3000 };
    R.setUsedEvent(m, r, 0x1234);
    expect(m.read16(0x2000 + 4 + 16)).toBe(0x1234);
    R.setAvailEvent(m, r, 0x4321);
    expect(m.read16(0x3000 + 4 + 64)).toBe(0x4321);
    R.setAvailRing(m, r, 9, 5); // slot 9 wraps to 1
    expect(m.read16(0x2000 + 4 + 2)).toBe(5);
    R.writeDesc(m, r.desc, 3, { addr: 0xdead000, len: 512, flags: 3, next: 4 });
    expect(m.read64(0x1000 + 48)).toBe(0xdead000);
    expect(m.read32(0x1000 + 56)).toBe(512);
    expect(m.read16(0x1000 + 60)).toBe(3);
    expect(m.read16(0x1000 + 62)).toBe(4);
    expect(R.readDesc(m, r.desc, 3)).toEqual({ addr: 0xdead000, len: 512, flags: 3, next: 4 });
  });

  it('vring_need_event matches the spec examples', () => {
    // used_event = 0: notify after the first buffer (old 0 → new 1).
    expect(R.vringNeedEvent(0, 1, 0)).toBe(true);
    // ...and not for the next ones until the index wraps past 0 again.
    expect(R.vringNeedEvent(0, 2, 1)).toBe(false);
    expect(R.vringNeedEvent(0, 0, 65535)).toBe(false);
    expect(R.vringNeedEvent(0, 1, 65535)).toBe(true);
    // a batch that crosses the event index notifies once.
    expect(R.vringNeedEvent(5, 10, 3)).toBe(true);
    expect(R.vringNeedEvent(5, 5, 3)).toBe(false);
  });

  it('accepts only power-of-two queue sizes up to 32768', () => {
    expect([1, 2, 256, 32768].every(R.isValidQueueSize)).toBe(true);
    expect([0, 3, 100, 65536].some(R.isValidQueueSize)).toBe(false);
  });
});
