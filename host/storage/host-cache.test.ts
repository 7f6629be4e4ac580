import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { freeze } from '../../hw/frozen.js';
import { FileStore } from './drivers/file-store.js';
import { MemoryStore } from './drivers/memory-store.js';
import { CHUNK, VolatileCache, type StableStore } from './host-cache.js';

const RUNS = process.env.IOPATH_DEEP ? 300 : 40;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-cache-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Store {
  store: StableStore;
  close(): void;
}

const stores: Array<[string, (size: number) => Store]> = [
  ['memory store', (size) => ({ store: new MemoryStore(size), close: () => {} })],
  [
    'file store',
    (size) => {
      const f = path.join(tmp, `c${Math.random().toString(36).slice(2)}`);
      const fd = fs.openSync(f, 'w+');
      fs.ftruncateSync(fd, size);
      return { store: new FileStore(fd, size), close: () => fs.closeSync(fd) };
    },
  ],
];

type Op =
  | { op: 'write'; a: number; b: number; v: number }
  | { op: 'zero'; a: number; b: number }
  | { op: 'flush' }
  | { op: 'drop' }
  | { op: 'truncate'; n: number }
  /** A whole chunk of frozen bytes (a lent guest page), which the cache may keep instead of copying. */
  | { op: 'lend'; i: number; v: number };

/** Ranges up to 3 MiB, so zeroing takes both the chunk-by-chunk and the pending-range path. */
const MAX = 3 << 20;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('write' as const), a: fc.nat(MAX), b: fc.nat(3 * CHUNK), v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('zero' as const), a: fc.nat(MAX), b: fc.nat(MAX) }),
  fc.constant({ op: 'flush' as const }),
  fc.constant({ op: 'drop' as const }),
  fc.record({ op: fc.constant('truncate' as const), n: fc.nat(MAX) }),
  fc.record({ op: fc.constant('lend' as const), i: fc.nat(MAX / CHUNK), v: fc.integer({ min: 1, max: 255 }) }),
);

function resized(a: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(a.subarray(0, Math.min(n, a.length)));
  return out;
}

describe.each(stores)('VolatileCache over a %s', (_name, make) => {
  it('reads the latest data; a flush makes it stable; a drop returns to the last flush', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX }), fc.array(opArb, { maxLength: 30 }), (size, ops) => {
        const { store, close } = make(size);
        const cache = new VolatileCache(store);
        let cur: Uint8Array = new Uint8Array(size);
        let stable: Uint8Array = new Uint8Array(size);
        // Every frozen buffer handed over, with the bytes it must keep whatever happens to the chunk.
        const lent: Array<[Uint8Array, Uint8Array]> = [];
        try {
          for (const o of ops) {
            const len = cur.length;
            switch (o.op) {
              case 'write': {
                const a = o.a % (len + 1);
                const b = Math.min(o.b, len - a);
                cache.write(a, new Uint8Array(b).fill(o.v));
                cur.fill(o.v, a, a + b);
                break;
              }
              case 'zero': {
                const a = o.a % (len + 1);
                const b = Math.min(o.b, len - a);
                cache.zero(a, b);
                cur.fill(0, a, a + b);
                break;
              }
              case 'flush':
                cache.flush();
                stable = cur.slice();
                break;
              case 'drop':
                cache.drop();
                cur = stable.slice();
                break;
              case 'truncate':
                cache.truncate(o.n);
                cur = resized(cur, o.n);
                stable = resized(stable, o.n);
                break;
              case 'lend': {
                const a = ((o.i * CHUNK) % (len + 1)) - (((o.i * CHUNK) % (len + 1)) % CHUNK);
                if (a + CHUNK > len) break;
                const page = new Uint8Array(CHUNK).map((_, j) => (j * 13 + o.v) & 0xff);
                freeze(page);
                cache.write(a, page);
                cur.set(page, a);
                lent.push([page, page.slice()]);
                break;
              }
            }
            for (const [page, bytes] of lent) expect(Buffer.from(page).equals(bytes)).toBe(true);
            const got = new Uint8Array(cur.length);
            cache.read(0, got);
            expect(Buffer.from(got).equals(cur)).toBe(true);
          }
          cache.flush();
          const onStore = new Uint8Array(cur.length);
          store.read(0, onStore);
          expect(Buffer.from(onStore).equals(cur)).toBe(true);
        } finally {
          close();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('VolatileCache', () => {
  it('keeps a frozen whole chunk as it is and never writes into it', () => {
    const store = new MemoryStore(4 * CHUNK);
    const cache = new VolatileCache(store);
    const page = new Uint8Array(CHUNK).fill(7);
    const other = new Uint8Array(CHUNK).fill(8);
    freeze(page);
    freeze(other);
    const read = (at: number, n: number): number[] => {
      const b = new Uint8Array(n);
      cache.read(at, b);
      return [...b];
    };
    // Written into while still dirty, then cut by a truncate: both go to a copy.
    cache.write(CHUNK, page);
    cache.write(CHUNK + 10, new Uint8Array([1, 2, 3]));
    cache.write(2 * CHUNK, other);
    cache.truncate(2 * CHUNK + 100);
    expect(read(CHUNK + 8, 6)).toEqual([7, 7, 1, 2, 3, 7]);
    expect(read(2 * CHUNK + 98, 2)).toEqual([8, 8]);
    // Kept by the store after a flush, and cut there.
    cache.write(CHUNK, page);
    cache.flush();
    expect(store.chunks.get(1)).toBe(page);
    store.truncate(CHUNK + 50);
    expect(read(CHUNK + 48, 2)).toEqual([7, 7]);
    // A power cut does not hand a kept page out again for another chunk.
    cache.write(0, other);
    cache.drop();
    cache.write(0, new Uint8Array(CHUNK).fill(1));
    expect(page.every((b) => b === 7)).toBe(true);
    expect(other.every((b) => b === 8)).toBe(true);
  });

  it('keeps a terabyte-sized discard as one pending range, costing no chunks', () => {
    const store = new MemoryStore(2 ** 40);
    const cache = new VolatileCache(store);
    cache.write(2 ** 39, new Uint8Array(CHUNK).fill(9));
    cache.flush();
    cache.zero(0, 2 ** 40);
    expect(cache.dirtyChunks).toBe(0);
    expect(cache.peek(2 ** 39 / CHUNK)).toBe('zero');
    const b = new Uint8Array(CHUNK);
    cache.read(2 ** 39, b);
    expect(b.every((x) => x === 0)).toBe(true);
    cache.drop();
    cache.read(2 ** 39, b);
    expect(b[0]).toBe(9);
    cache.zero(0, 2 ** 40);
    cache.flush();
    expect(store.chunks.size).toBe(0);
  });

  it('counts dirty bytes for the flush cost and forgets them on flush', () => {
    const cache = new VolatileCache(new MemoryStore(1 << 20));
    cache.write(100, new Uint8Array(CHUNK));
    expect(cache.dirtyBytes).toBe(2 * CHUNK);
    cache.flush();
    expect(cache.dirtyBytes).toBe(0);
  });

  it('finds dirty chunks far apart and next to each other, and forgets the ones zeroing or a shrink removes', () => {
    const store = new MemoryStore(1 << 30);
    const cache = new VolatileCache(store);
    // Chunks in one index leaf, at its edges, in the next, and far away (1000 and 200,000).
    const idxs = [0, 1, 63, 64, 127, 1000, 200_000];
    for (const i of idxs) cache.write(i * CHUNK, new Uint8Array(CHUNK).fill((i % 250) + 1));
    expect(idxs.map((i) => cache.peek(i))).toEqual(idxs.map(() => 'data'));
    expect([2, 62, 65, 999, 199_999].map((i) => cache.peek(i))).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect([...cache.dataChunks()].sort((a, b) => a - b)).toEqual(idxs);
    // Zero chunks 63..64 (across a leaf boundary): they read as zeroes and are no longer data.
    cache.zero(63 * CHUNK, 2 * CHUNK);
    expect([cache.peek(63), cache.peek(64), cache.peek(1), cache.peek(127)]).toEqual(['zero', 'zero', 'data', 'data']);
    const out = new Uint8Array(CHUNK);
    cache.read(64 * CHUNK, out);
    expect(out.every((b) => b === 0)).toBe(true);
    // Shrinking below chunk 1000 drops it and 200,000; what is left is still found.
    cache.truncate(500 * CHUNK);
    expect([cache.peek(1000), cache.peek(200_000), cache.peek(127)]).toEqual([undefined, undefined, 'data']);
    cache.read(127 * CHUNK, out);
    expect(out[0]).toBe(128);
    cache.flush();
    expect(cache.dirtyChunks).toBe(0);
    expect(cache.peek(127)).toBeUndefined();
    store.read(127 * CHUNK, out);
    expect(out[CHUNK - 1]).toBe(128);
  });
});
