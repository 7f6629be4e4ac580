/**
 * QEMU's cache modes (qemu-options.hx "-drive cache=", block.c bdrv_parse_cache_mode):
 * each is three independent switches.
 *
 * | mode         | cache.writeback | cache.direct | cache.no-flush |
 * |--------------|-----------------|--------------|----------------|
 * | writeback    | on              | off          | off            |  (the default)
 * | none (off)   | on              | on           | off            |
 * | writethrough | off             | off          | off            |
 * | directsync   | off             | on           | off            |
 * | unsafe       | on              | off          | on             |
 *
 * - `writeback` belongs to the BlockBackend: the guest sees a volatile write cache (and
 *   must flush); off, every write is made durable before it completes (FUA, which the
 *   generic layer emulates with a flush).
 * - `direct` and `noFlush` belong to the nodes (children inherit them): direct bypasses
 *   the host page cache (modelled cost, see drivers/file.ts); no-flush makes flushes do
 *   nothing, so nothing written is ever durable in the model.
 *
 * What a power cut loses: with writeback on, whatever was not flushed (everything, with
 * no-flush); with writeback off, nothing that completed.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { BlockError } from './errors.js';

export type CacheMode = 'writeback' | 'none' | 'writethrough' | 'directsync' | 'unsafe';

export interface CacheFlags {
  readonly writeback: boolean;
  readonly direct: boolean;
  readonly noFlush: boolean;
}

export const CACHE_MODES: Readonly<Record<CacheMode, CacheFlags>> = {
  writeback: { writeback: true, direct: false, noFlush: false },
  none: { writeback: true, direct: true, noFlush: false },
  writethrough: { writeback: false, direct: false, noFlush: false },
  directsync: { writeback: false, direct: true, noFlush: false },
  unsafe: { writeback: true, direct: false, noFlush: true },
};

export const DEFAULT_CACHE_MODE: CacheMode = 'writeback';

/** bdrv_parse_cache_mode: a mode name ('off' is QEMU's alias of 'none') → its switches. */
export function parseCacheMode(value: string): E.Either<BlockError, CacheFlags> {
  const mode = value === 'off' ? 'none' : value;
  return Object.hasOwn(CACHE_MODES, mode) ? E.right(CACHE_MODES[mode as CacheMode]) : E.left({ _tag: 'InvalidCacheMode', value });
}

/** The mode name of a combination of switches, if it is one of the five. */
export function cacheModeName(f: CacheFlags): CacheMode | undefined {
  return (Object.keys(CACHE_MODES) as CacheMode[]).find((m) => {
    const c = CACHE_MODES[m];
    return c.writeback === f.writeback && c.direct === f.direct && c.noFlush === f.noFlush;
  });
}
