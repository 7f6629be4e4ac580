import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { Recorder, type TraceEvent } from '../../sim/trace.js';
import type { BlockBackend } from './block-backend.js';
import type { BlockEnv } from './driver.js';
import { blockErrorMessage } from './errors.js';
import { gatherIoVec, type IoVec } from './iovec.js';
import { openBlockGraph } from './open.js';
import { drain, memoryDrive, newBlockEnv } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'iopath-iovec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Three pieces of different sizes and contents, as a merged request's guest buffers. */
function pieces(): IoVec {
  const parts = [4096, 512, 8192].map((n, i) => new Uint8Array(n).map((_, j) => (j * 7 + i * 31 + 1) & 0xff));
  return { parts, bytes: parts.reduce((a, p) => a + p.length, 0) };
}

function readBack(env: BlockEnv, blk: BlockBackend, offset: number, bytes: number): Uint8Array {
  let out: Uint8Array | undefined;
  blk.read(offset, bytes, (err, v) => {
    expect(err).toBeNull();
    out = v;
  });
  drain(env, blk);
  return out!;
}

function protocolWrites(events: TraceEvent[]): unknown[] {
  return events.filter((e) => e.kind === 'block' && e.op === 'write').map((e) => ({ ...e }));
}

describe('IoVec', () => {
  it('gathers its pieces in order', () => {
    const v = pieces();
    const g = gatherIoVec(v);
    expect(g.length).toBe(v.bytes);
    expect([...g.subarray(4096, 4096 + 512)]).toEqual([...v.parts[1]]);
    expect([...g.subarray(4608)]).toEqual([...v.parts[2]]);
    expect(gatherIoVec({ parts: [v.parts[0]], bytes: 4096 })).toBe(v.parts[0]);
  });

  it('writev over raw and memory stores what write of the gathered bytes stores, with the same trace and timing', () => {
    const run = (vectored: boolean): { bytes: Uint8Array; events: unknown[]; t: number } => {
      const env = newBlockEnv();
      const rec = new Recorder();
      env.trace.attach(rec.sink);
      const { blk } = memoryDrive(env, { size: 1 << 20 });
      const v = pieces();
      let t = -1;
      const cb = (err: unknown): void => {
        expect(err).toBeNull();
        t = env.sim.now;
      };
      if (vectored) blk.writev(8192, v, {}, cb);
      else blk.write(8192, gatherIoVec(v), {}, cb);
      drain(env, blk);
      return { bytes: readBack(env, blk, 0, 32768), events: protocolWrites(rec.events), t };
    };
    const a = run(true);
    const b = run(false);
    expect(a.bytes).toEqual(b.bytes);
    expect([...a.bytes.subarray(8192 + 4096, 8192 + 4608)]).toEqual([...pieces().parts[1]]);
    expect(a.events).toEqual(b.events);
    expect(a.events).toHaveLength(1);
    expect(a.t).toBe(b.t);
  });

  it('a driver that takes no pieces (file) gets them gathered', () => {
    const f = join(dir, 'disk.raw');
    writeFileSync(f, new Uint8Array(1 << 16));
    const env = newBlockEnv();
    const r = openBlockGraph(env, { drive: { format: 'raw', 'file.driver': 'file', 'file.filename': f, cache: 'writeback' } });
    if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
    const blk = r.right.blk;
    const v = pieces();
    blk.writev(1000, v, {}, (err) => expect(err).toBeNull());
    drain(env, blk);
    expect(readBack(env, blk, 1000, v.bytes)).toEqual(gatherIoVec(v));
  });

  it('checks the range as write does', () => {
    const env = newBlockEnv();
    const { blk } = memoryDrive(env, { size: 8192 });
    let errno: string | undefined;
    blk.writev(4096, pieces(), {}, (err) => (errno = err?.errno));
    drain(env, blk);
    expect(errno).toBe('EIO');
    expect([...readBack(env, blk, 0, 8192)].every((b) => b === 0)).toBe(true);
  });
});
