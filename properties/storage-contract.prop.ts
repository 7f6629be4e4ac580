/**
 * The BlockDriver contract: every driver configuration in SUBJECTS passes the same suite,
 * through the BlockBackend a device model uses (QEMU's iotests run one test over every
 * format and protocol the same way). A new driver joins by adding a subject.
 *
 * - read-after-write at any offset and length, zeroes where nothing was written, discard
 *   and write-zeroes, flush, and range errors, against a flat byte-array model;
 * - block status is sound (a ZERO run reads as zeroes) and covers the disk;
 * - resize keeps what fits and reads zeroes in what is new;
 * - a power cut keeps exactly what the cache mode made durable.
 *
 * Runs: 50 per property; IOPATH_DEEP=1 raises them to 500.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { BlockCallback } from '../host/storage/block-backend-api.js';
import { CACHE_MODES, type CacheMode } from '../host/storage/cache-mode.js';
import { BDRV_BLOCK_EOF, BDRV_BLOCK_ZERO, type BlockEnv } from '../host/storage/driver.js';
import { blockErrorMessage } from '../host/storage/errors.js';
import { createImage, openBlockGraph, type OpenedDrive } from '../host/storage/open.js';
import type { DriveOptions } from '../host/storage/drive.js';
import { newBlockEnv } from '../host/storage/testing.js';

const RUNS = process.env.IOPATH_DEEP ? 500 : 50;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-storage-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileSeq = 0;

interface Subject {
  readonly name: string;
  /** -drive options for a fresh disk of `size` bytes. */
  drive(size: number): DriveOptions;
  /** Keeps what is written (null-co does not). */
  readonly stores: boolean;
  /** Has a volatile cache that a power cut empties. */
  readonly volatile: boolean;
  readonly resizable: boolean;
}

function imageFile(size: number): string {
  const f = path.join(tmp, `disk${fileSeq++}.img`);
  const r = createImage('raw', f, size);
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return f;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'memory', drive: (size) => ({ driver: 'memory', size }), stores: true, volatile: true, resizable: true },
  { name: 'raw over memory', drive: (size) => ({ format: 'raw', 'file.driver': 'memory', 'file.size': size }), stores: true, volatile: true, resizable: true },
  {
    name: 'raw offset=1536 over memory',
    drive: (size) => ({ format: 'raw', offset: 1536, 'file.driver': 'memory', 'file.size': size + 1536 }),
    stores: true,
    volatile: true,
    resizable: true,
  },
  { name: 'file', drive: (size) => ({ driver: 'file', file: imageFile(size) }), stores: true, volatile: true, resizable: true },
  { name: 'raw over file', drive: (size) => ({ format: 'raw', file: imageFile(size) }), stores: true, volatile: true, resizable: true },
  {
    name: 'raw over file, cache.direct (512-byte alignment)',
    drive: (size) => ({ format: 'raw', file: imageFile(size), 'cache.direct': 'on' }),
    stores: true,
    volatile: true,
    resizable: true,
  },
  { name: 'null-co read-zeroes', drive: (size) => ({ driver: 'null-co', size, 'read-zeroes': 'on' }), stores: false, volatile: false, resizable: false },
];

function open(env: BlockEnv, subject: Subject, size: number, cache: CacheMode | Record<string, unknown> = 'writeback'): OpenedDrive {
  const r = openBlockGraph(env, { drive: { ...subject.drive(size), cache, discard: 'unmap' } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

/** Submit one request, check it does not complete inline, run the clock until it completes. */
function complete<T>(env: BlockEnv, d: OpenedDrive, submit: (cb: BlockCallback<T>) => void): { err: string | null; value?: T } {
  let res: { err: string | null; value?: T } | undefined;
  submit((err, value) => {
    res = { err: err ? err.errno : null, value };
  });
  if (res) throw new Error('request completed inline');
  const t0 = env.sim.now;
  env.sim.run({ stop: () => res !== undefined });
  if (!res) throw new Error('request never completed');
  if (!(env.sim.now > t0)) throw new Error('request completed in zero modelled time');
  return res;
}

/** Non-zero bytes depending on `seed`, so a write never looks like zeroes. */
function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = ((seed + i * 31) & 0xff) | 1;
  return b;
}

type Op =
  | { op: 'write'; off: number; len: number; seed: number; fua: boolean }
  | { op: 'read'; off: number; len: number }
  | { op: 'discard'; off: number; len: number }
  | { op: 'zero'; off: number; len: number }
  | { op: 'flush' };

const range = { off: fc.nat(), len: fc.nat({ max: 70_000 }) };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), ...range, seed: fc.nat(255), fua: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('read' as const), ...range }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('discard' as const), ...range }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('zero' as const), ...range }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
);
const sizeArb = fc.integer({ min: 1, max: 300_000 });

/** Offsets mostly inside the disk, sometimes just past it; lengths sometimes past the end. */
function place(size: number, o: { off: number; len: number }): { off: number; len: number } {
  const off = o.off % (size + 64);
  return { off, len: o.len % 8 === 0 ? o.len : o.len % Math.max(1, size - off + 16) };
}

/** Run one op against the drive and the model; returns the bytes it changed (0 if it failed or was empty). */
function apply(env: BlockEnv, d: OpenedDrive, model: Uint8Array, s: Subject, raw: Op): number {
  const size = model.length;
  if (raw.op === 'flush') {
    expect(complete(env, d, (cb) => d.blk.flush(cb)).err).toBeNull();
    return 0;
  }
  const { off, len } = place(size, raw);
  const inRange = off + len <= size;
  const expectErr = inRange ? null : 'EIO';
  switch (raw.op) {
    case 'write': {
      const data = pattern(len, raw.seed);
      expect(complete(env, d, (cb) => d.blk.write(off, data, { fua: raw.fua }, cb)).err).toBe(expectErr);
      if (inRange && s.stores) model.set(data, off);
      return inRange ? len : 0;
    }
    case 'read': {
      const r = complete<Uint8Array>(env, d, (cb) => d.blk.read(off, len, cb));
      expect(r.err).toBe(expectErr);
      if (inRange) expect(Buffer.from(r.value!).equals(model.subarray(off, off + len))).toBe(true);
      return 0;
    }
    case 'discard':
    case 'zero': {
      const r = complete(env, d, (cb) => (raw.op === 'discard' ? d.blk.discard(off, len, cb) : d.blk.writeZeroes(off, len, { mayUnmap: true }, cb)));
      expect(r.err).toBe(expectErr);
      // Our drivers zero exactly on discard (like a punched hole); QEMU allows any content.
      if (inRange) model.fill(0, off, off + len);
      return inRange ? len : 0;
    }
  }
}

function readAll(env: BlockEnv, d: OpenedDrive): Uint8Array {
  const r = complete<Uint8Array>(env, d, (cb) => d.blk.read(0, d.blk.length(), cb));
  expect(r.err).toBeNull();
  return r.value!;
}

describe.each(SUBJECTS)('BlockDriver contract: $name', (s) => {
  it('reads back what was written, zeroes elsewhere; discard, write-zeroes, flush and range errors', () => {
    fc.assert(
      fc.property(sizeArb, fc.array(opArb, { maxLength: 25 }), (size, ops) => {
        const env = newBlockEnv();
        const d = open(env, s, size);
        try {
          expect(d.blk.length()).toBe(size);
          const model = new Uint8Array(size);
          for (const op of ops) apply(env, d, model, s, op);
          expect(Buffer.from(readAll(env, d)).equals(model)).toBe(true);
        } finally {
          d.graph.close();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('block status is sound (ZERO runs read as zeroes) and its runs cover the disk', () => {
    fc.assert(
      fc.property(sizeArb, fc.array(opArb, { maxLength: 12 }), (size, ops) => {
        const env = newBlockEnv();
        const d = open(env, s, size);
        try {
          const model = new Uint8Array(size);
          for (const op of ops) apply(env, d, model, s, op);
          let off = 0;
          while (off < size) {
            const st = d.blk.root.blockStatus(off, size - off);
            expect(st.pnum).toBeGreaterThan(0);
            expect(off + st.pnum).toBeLessThanOrEqual(size);
            if (st.flags & BDRV_BLOCK_ZERO) expect(model.subarray(off, off + st.pnum).every((b) => b === 0)).toBe(true);
            off += st.pnum;
          }
          expect(d.blk.root.blockStatus(size, 1).flags & BDRV_BLOCK_EOF).toBeTruthy();
        } finally {
          d.graph.close();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it.runIf(s.resizable)('resize keeps what fits and reads zeroes where the disk grew', () => {
    fc.assert(
      fc.property(sizeArb, fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 4 }), fc.nat(255), (size, sizes, seed) => {
        const env = newBlockEnv();
        const d = open(env, s, size);
        try {
          let model = pattern(size, seed);
          expect(complete(env, d, (cb) => d.blk.write(0, model, {}, cb)).err).toBeNull();
          for (const n of sizes) {
            expect(d.blk.root.truncate(n)).toBeNull();
            expect(d.blk.length()).toBe(n);
            const next = new Uint8Array(n);
            next.set(model.subarray(0, Math.min(n, model.length)));
            model = next;
            if (s.stores) expect(Buffer.from(readAll(env, d)).equals(model)).toBe(true);
          }
        } finally {
          d.graph.close();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it.runIf(s.volatile).each(Object.keys(CACHE_MODES) as CacheMode[])('a power cut keeps exactly what cache=%s made durable', (mode) => {
    const { writeback, noFlush } = CACHE_MODES[mode];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.array(opArb, { maxLength: 20 }), (size, ops) => {
        const env = newBlockEnv();
        const d = open(env, s, size, mode);
        try {
          const model = new Uint8Array(size);
          let durable = new Uint8Array(size);
          for (const op of ops) {
            const changed = apply(env, d, model, s, op);
            // A flush, or a write carrying FUA (which the block layer emulates by flushing
            // the whole node). Writes carry FUA when the guest asks or cache.writeback is
            // off; a discard never does. Empty and failed requests do nothing.
            const fua = op.op === 'write' ? op.fua || !writeback : op.op === 'zero' && !writeback;
            if (!noFlush && (op.op === 'flush' || (changed > 0 && fua))) durable = model.slice();
          }
          d.blk.powerCut();
          expect(Buffer.from(readAll(env, d)).equals(durable)).toBe(true);
        } finally {
          d.graph.close();
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

describe('power cut on a real file', () => {
  it('the host file holds exactly the flushed data afterwards, also after reopening', () => {
    const env = newBlockEnv();
    const subject = SUBJECTS.find((x) => x.name === 'raw over file')!;
    const file = imageFile(8192);
    const d = open(env, { ...subject, drive: () => ({ format: 'raw', file }) }, 8192);
    expect(complete(env, d, (cb) => d.blk.write(0, pattern(4096, 1), {}, cb)).err).toBeNull();
    expect(complete(env, d, (cb) => d.blk.flush(cb)).err).toBeNull();
    expect(complete(env, d, (cb) => d.blk.write(4096, pattern(4096, 2), {}, cb)).err).toBeNull();
    d.blk.powerCut();
    const onDisk = fs.readFileSync(file);
    expect(onDisk.subarray(0, 4096).equals(pattern(4096, 1))).toBe(true);
    expect(onDisk.subarray(4096).every((b) => b === 0)).toBe(true);
    d.graph.close();
    const again = openBlockGraph(env, { drive: { format: 'raw', file } });
    if (E.isLeft(again)) throw new Error(blockErrorMessage(again.left));
    expect(Buffer.from(readAll(env, again.right)).equals(onDisk)).toBe(true);
    again.right.graph.close();
  });
});
