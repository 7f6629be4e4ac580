/**
 * The block options `-drive` and `-blockdev` share: cache modes and their three flags
 * (block.c `bdrv_parse_cache_mode`), aio (`bdrv_parse_aio`) and discard
 * (`bdrv_parse_discard_flags`), with the check file-posix.c makes on aio=native.
 *
 * | cache=       | cache.writeback | cache.direct | cache.no-flush |
 * |--------------|-----------------|--------------|----------------|
 * | writeback    | on              | off          | off            |
 * | none         | on              | on           | off            |
 * | writethrough | off             | off          | off            |
 * | directsync   | off             | on           | off            |
 * | unsafe       | on              | off          | on             |
 *
 * cache.writeback belongs to the BlockBackend (the guest-visible write cache); a
 * `-blockdev` node has only direct and no-flush, and its device's write cache is on.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AioMode, CacheMode, DiscardMode } from '../spec.js';
import type { CmdlineError } from './errors.js';

export interface CacheFlags {
  writeback: boolean;
  direct: boolean;
  noFlush: boolean;
}

export const CACHE_MODES: Record<CacheMode, CacheFlags> = {
  writeback: { writeback: true, direct: false, noFlush: false },
  none: { writeback: true, direct: true, noFlush: false },
  writethrough: { writeback: false, direct: false, noFlush: false },
  directsync: { writeback: false, direct: true, noFlush: false },
  unsafe: { writeback: true, direct: false, noFlush: true },
};

export function isCacheMode(s: string): s is CacheMode {
  return Object.hasOwn(CACHE_MODES, s);
}

/** The named mode with exactly these flags; the two no-flush combinations without a name are not modelled. */
export function cacheModeOf(f: CacheFlags, loc: string): E.Either<CmdlineError, CacheMode> {
  for (const [mode, g] of Object.entries(CACHE_MODES) as [CacheMode, CacheFlags][]) {
    if (g.writeback === f.writeback && g.direct === f.direct && g.noFlush === f.noFlush) return E.right(mode);
  }
  const flags = `cache.writeback=${f.writeback ? 'on' : 'off'}, cache.direct=${f.direct ? 'on' : 'off'}, cache.no-flush=on`;
  return E.left({ _tag: 'NotModelled', loc, what: `the cache combination ${flags}` });
}

const AIO_MODES: readonly AioMode[] = ['threads', 'native', 'io_uring'];

/** aio=, checked against the cache mode: Linux AIO needs O_DIRECT (file-posix.c). */
export function parseAio(v: string | undefined, direct: boolean, loc: string): E.Either<CmdlineError, AioMode> {
  const aio = (v ?? 'threads') as AioMode;
  if (!AIO_MODES.includes(aio)) return E.left({ _tag: 'BadDriveOption', loc, option: 'aio' });
  if (aio === 'native' && !direct) return E.left({ _tag: 'AioNativeNeedsDirect', loc });
  return E.right(aio);
}

/** discard=: ignore/off or unmap/on. */
export function parseDiscard(v: string | undefined, loc: string): E.Either<CmdlineError, DiscardMode> {
  if (v === undefined || v === 'ignore' || v === 'off') return E.right('ignore');
  if (v === 'unmap' || v === 'on') return E.right('unmap');
  return E.left({ _tag: 'BadDriveOption', loc, option: 'discard' });
}
