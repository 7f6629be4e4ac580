import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { CACHE_MODES, cacheModeName, parseCacheMode, type CacheMode } from './cache-mode.js';
import { blockErrorMessage } from './errors.js';

describe('cache modes (QEMU bdrv_parse_cache_mode)', () => {
  it.each<[CacheMode, boolean, boolean, boolean]>([
    ['writeback', true, false, false],
    ['none', true, true, false],
    ['writethrough', false, false, false],
    ['directsync', false, true, false],
    ['unsafe', true, false, true],
  ])('%s → writeback=%s direct=%s no-flush=%s', (mode, writeback, direct, noFlush) => {
    expect(parseCacheMode(mode)).toEqual(E.right({ writeback, direct, noFlush }));
    expect(cacheModeName(CACHE_MODES[mode])).toBe(mode);
  });

  it("accepts QEMU's alias 'off' for none", () => {
    expect(parseCacheMode('off')).toEqual(E.right(CACHE_MODES.none));
  });

  it('names a bad mode', () => {
    const r = parseCacheMode('fast');
    expect(E.isLeft(r) && blockErrorMessage(r.left)).toMatch(/^invalid cache option 'fast'/);
    expect(cacheModeName({ writeback: false, direct: false, noFlush: true })).toBeUndefined();
  });
});
