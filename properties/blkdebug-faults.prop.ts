/**
 * Fault injection through the whole host block path: a drive `raw → blkdebug → file`
 * (a real temp file) behind the BlockBackend a device uses, with one blkdebug rule that
 * fails the k-th write (at raw's 'write_aio') or the k-th flush that reaches the disk
 * (at the generic layer's 'flush_to_disk'), once or from then on. The k-th event is
 * picked with blkdebug's own state machine: set-state rules step the state 1 → 2 → … on
 * each event, and the inject-error rule waits for state k.
 *
 * - every request completes through its callback, never inline, and nothing throws;
 * - exactly the requests the rule targets fail, with its errno and a blkdebug message;
 * - a failed write changes nothing; what did not fail reads back, through the drive and
 *   from the host file after closing it (a failed flush loses no data already written).
 *
 * Runs: 40 (IOPATH_DEEP=1: 400). Failures print fast-check's seed and path.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { BlockCallback } from '../host/storage/block-backend-api.js';
import type { BlockEnv } from '../host/storage/driver.js';
import { blockErrorMessage } from '../host/storage/errors.js';
import { createImage, openBlockGraph, type OpenedDrive } from '../host/storage/open.js';
import { newBlockEnv } from '../host/storage/testing.js';
import { fillPattern, firstDiff, runs } from './support/vm.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-blkdebug-faults-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let seq = 0;

const ERRNOS = { 5: 'EIO', 28: 'ENOSPC' } as const;

interface Fault {
  readonly event: 'write_aio' | 'flush_to_disk';
  /** Fail at the k-th such event. */
  readonly k: number;
  readonly errno: 5 | 28;
  /** Only that request (once=on), or every targeted request from then on. */
  readonly once: boolean;
}

type Op = { op: 'write'; a: number; b: number; seed: number } | { op: 'read'; a: number; b: number } | { op: 'flush' };

const faultArb: fc.Arbitrary<Fault> = fc.record({
  event: fc.constantFrom('write_aio' as const, 'flush_to_disk' as const),
  k: fc.integer({ min: 1, max: 8 }),
  errno: fc.constantFrom(5 as const, 28 as const),
  once: fc.boolean(),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), a: fc.nat(), b: fc.nat(), seed: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), a: fc.nat(), b: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ op: 'flush' as const }) },
);

/** The blkdebug options for `f`: set-state rules counting events up to k, then the error. */
function rules(f: Fault): Record<string, unknown> {
  const setState = Array.from({ length: f.k - 1 }, (_, i) => ({ event: f.event, state: i + 1, new_state: i + 2 }));
  const iotype = f.event === 'write_aio' ? 'write' : 'flush';
  return { 'set-state': setState, 'inject-error': [{ event: f.event, state: f.k, iotype, errno: f.errno, once: f.once }] };
}

function open(env: BlockEnv, file: string, f?: Fault): OpenedDrive {
  const image = { driver: 'file', filename: file };
  const file0 = f ? { driver: 'blkdebug', image, ...rules(f) } : image;
  const r = openBlockGraph(env, { blockdev: { driver: 'raw', file: file0 } });
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
}

/** Submit, check it did not complete inline, run the clock until it completes. */
function complete<T>(env: BlockEnv, submit: (cb: BlockCallback<T>) => void): { errno: string | null; message?: string; value?: T } {
  let res: { errno: string | null; message?: string; value?: T } | undefined;
  submit((err, value) => {
    res = { errno: err ? err.errno : null, message: err?.message, value: value instanceof Uint8Array ? (Uint8Array.from(value) as T) : value };
  });
  expect(res, 'completed inline').toBeUndefined();
  env.sim.run({ stop: () => res !== undefined });
  expect(res, 'never completed').toBeDefined();
  return res!;
}

describe('blkdebug: injected write and flush errors over raw over a host file', () => {
  it('reach the caller, hit exactly the targeted requests, and lose no data that was not failed', () => {
    fc.assert(
      fc.property(faultArb, fc.integer({ min: 1, max: 128 * 1024 }), fc.array(opArb, { minLength: 1, maxLength: 30 }), (fault, size, ops) => {
        const file = path.join(tmp, `d${seq++}.raw`);
        const made = createImage('raw', file, size);
        if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
        const env = newBlockEnv();
        const d = open(env, file, fault);
        const model = new Uint8Array(size);
        let events = 0;
        let dirty = false;
        const hit = (): boolean => (fault.once ? events === fault.k : events >= fault.k);
        const expectInjected = (r: { errno: string | null; message?: string }, what: string) => {
          expect(r.errno, what).toBe(ERRNOS[fault.errno]);
          expect(r.message, what).toMatch(/blkdebug/);
        };
        try {
          for (const o of ops) {
            if (o.op === 'flush') {
              if (dirty && fault.event === 'flush_to_disk') events++;
              const r = complete(env, (cb) => d.blk.flush(cb));
              const fails: boolean = dirty && fault.event === 'flush_to_disk' && hit();
              if (fails) expectInjected(r, `flush (flush_to_disk #${events})`);
              else expect(r.errno, 'flush').toBeNull();
              dirty &&= fails;
              continue;
            }
            const off = o.a % size;
            const len = 1 + (o.b % (size - off));
            if (o.op === 'read') {
              const r = complete<Uint8Array>(env, (cb) => d.blk.read(off, len, cb));
              expect(r.errno, `read ${off}+${len}`).toBeNull();
              expect(firstDiff(r.value!, model.subarray(off, off + len)), `read ${off}+${len}: first byte off the model`).toBe(-1);
              continue;
            }
            const data = fillPattern(new Uint8Array(len), o.seed);
            if (fault.event === 'write_aio') events++;
            const r = complete(env, (cb) => d.blk.write(off, data, {}, cb));
            dirty = true;
            if (fault.event === 'write_aio' && hit()) expectInjected(r, `write ${off}+${len} (write_aio #${events})`);
            else {
              expect(r.errno, `write ${off}+${len}`).toBeNull();
              model.set(data, off);
            }
          }
          const all = complete<Uint8Array>(env, (cb) => d.blk.read(0, size, cb));
          expect(all.errno).toBeNull();
          expect(firstDiff(all.value!, model), 'drive: first byte off the model').toBe(-1);
        } finally {
          d.graph.close();
        }
        // Closing wrote the host page cache back: the file holds every write that did not fail.
        expect(firstDiff(new Uint8Array(fs.readFileSync(file)), model), 'host file: first byte off the model').toBe(-1);
        fs.rmSync(file);
      }),
      { numRuns: runs(40) },
    );
  });
});
