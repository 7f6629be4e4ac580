/**
 * `memory`: iopath's own protocol driver, a sparse disk in host memory (no QEMU
 * counterpart; QEMU's tests use null-co or a tmpfs file for this). It is the default
 * backing store of tests and benchmarks, so its read and write paths are a few array
 * copies per 4 KiB chunk.
 *
 * It has a volatile cache like a real disk: a write is kept apart from stable storage
 * until a flush, and `powerCut` forgets it. Discard and write-zeroes zero exactly (like a
 * punched hole) and free whole chunks.
 *
 * Modelled time: 'backend.memory.latency' per request, flush included.
 *
 * Options: `size` (required).
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  BDRV_BLOCK_DATA,
  BDRV_BLOCK_OFFSET_VALID,
  BDRV_BLOCK_ZERO,
  type BlockDriver,
  type BlockStatus,
} from '../driver.js';
import { CHUNK, VolatileCache } from '../host-cache.js';
import type { OptionTable } from '../options.js';
import { registerBlockDriver } from '../registry.js';
import { MemoryStore } from './memory-store.js';

const OPTIONS = {
  size: { type: 'size', required: true, help: 'disk size in bytes (suffixes k, M, G, T allowed)' },
} as const satisfies OptionTable;

export interface MemoryState {
  readonly store: MemoryStore;
  readonly cache: VolatileCache;
  readonly latencyNs: number;
}

/** Host memory the node holds for data: stable chunks plus dirty ones. */
export function memoryBytesUsed(s: MemoryState): number {
  return (s.store.chunks.size + s.cache.dirtyChunks) * CHUNK;
}

function hasData(s: MemoryState, idx: number): boolean {
  const c = s.cache.peek(idx);
  return c === undefined ? s.store.chunks.has(idx) : c === 'data';
}

/** The first chunk in [from, to) holding data, or `to`: scans what is allocated, not the range. */
function nextDataChunk(s: MemoryState, from: number, to: number): number {
  let best = to;
  for (const k of s.store.chunks.keys()) if (k >= from && k < best && hasData(s, k)) best = k;
  for (const k of s.cache.dataChunks()) if (k >= from && k < best) best = k;
  return best;
}

export const memoryDriver: BlockDriver<MemoryState, typeof OPTIONS> = {
  formatName: 'memory',
  protocol: true,
  protocolName: 'memory',
  options: OPTIONS,

  open(opts, ctx) {
    const store = new MemoryStore(opts.size);
    return E.right({ store, cache: new VolatileCache(store), latencyNs: ctx.env.costs.ns('backend.memory.latency') });
  },

  preadv(s, offset, buf, acct) {
    s.cache.read(offset, buf);
    acct.ns += s.latencyNs;
    return null;
  },

  pwritev(s, offset, data, _flags, acct) {
    s.cache.write(offset, data);
    acct.ns += s.latencyNs;
    return null;
  },

  pwritevParts(s, offset, data, _flags, acct) {
    let at = offset;
    for (const p of data.parts) {
      s.cache.write(at, p);
      at += p.length;
    }
    acct.ns += s.latencyNs;
    return null;
  },

  flush(s, acct) {
    s.cache.flush();
    acct.ns += s.latencyNs;
    return null;
  },

  discard(s, offset, bytes, acct) {
    s.cache.zero(offset, bytes);
    acct.ns += s.latencyNs;
    return null;
  },

  writeZeroes(s, offset, bytes, _flags, acct) {
    s.cache.zero(offset, bytes);
    acct.ns += s.latencyNs;
    return null;
  },

  blockStatus(s, offset, bytes): BlockStatus {
    const end = offset + bytes;
    const idx = Math.floor(offset / CHUNK);
    const endIdx = Math.ceil(end / CHUNK);
    const data = hasData(s, idx);
    let runEnd = idx + 1;
    if (data) while (runEnd < endIdx && hasData(s, runEnd)) runEnd++;
    else runEnd = nextDataChunk(s, runEnd, endIdx);
    const pnum = Math.min(runEnd * CHUNK, end) - offset;
    return { flags: (data ? BDRV_BLOCK_DATA : BDRV_BLOCK_ZERO) | BDRV_BLOCK_OFFSET_VALID, pnum, map: offset };
  },

  truncate(s, size) {
    s.cache.truncate(size);
    return null;
  },

  getLength(s) {
    return s.store.length;
  },

  close() {},

  powerCut(s) {
    s.cache.drop();
  },
};

registerBlockDriver(memoryDriver);
