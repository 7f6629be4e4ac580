import { describe, expect, it } from 'vitest';
import { freeze, isFrozen } from './frozen.js';

describe('frozen pages', () => {
  it('belong to the memory: every whole view of a frozen page is frozen, its neighbours and parts are not', () => {
    const slab = new ArrayBuffer(4 * 4096);
    const page = new Uint8Array(slab, 4096, 4096);
    expect(isFrozen(page)).toBe(false);
    freeze(page);
    expect(isFrozen(page)).toBe(true);
    expect(isFrozen(new Uint8Array(slab, 4096, 4096))).toBe(true);
    expect(isFrozen(new Uint8Array(slab, 0, 4096))).toBe(false);
    expect(isFrozen(new Uint8Array(slab, 8192, 4096))).toBe(false);
    expect(isFrozen(new Uint8Array(slab, 4096, 512))).toBe(false);
    expect(isFrozen(new Uint8Array(4096))).toBe(false);
  });

  it('refuses anything but a whole aligned page', () => {
    expect(() => freeze(new Uint8Array(100))).toThrow(/whole 4 KiB page/);
    expect(() => freeze(new Uint8Array(new ArrayBuffer(8192), 16, 4096))).toThrow(/whole 4 KiB page/);
  });
});
