import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { Recorder, type TraceEvent } from '../../sim/trace.js';
import {
  BDRV_BLOCK_ALLOCATED,
  BDRV_BLOCK_DATA,
  BDRV_BLOCK_EOF,
  BDRV_BLOCK_OFFSET_VALID,
  BDRV_BLOCK_ZERO,
  type BlockEnv,
} from './driver.js';
import { blockErrorMessage, type BlockError } from './errors.js';
import { BlockGraph, type BlockdevSpec } from './graph.js';
import type { BlockDriverState } from './node.js';
import { createImage } from './open.js';
import { newBlockEnv } from './testing.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-node-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const right = <T>(r: E.Either<BlockError, T>): T => {
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
};

function node(spec: BlockdevSpec, env: BlockEnv = newBlockEnv()): { bs: BlockDriverState; events: TraceEvent[]; graph: BlockGraph } {
  const rec = new Recorder();
  env.trace.attach(rec.sink);
  const graph = new BlockGraph(env);
  return { bs: right(graph.blockdevAdd(spec)), events: rec.events, graph };
}

const io = (events: TraceEvent[]) => events.flatMap((e) => (e.kind === 'block' ? [[e.op, e.offset, e.bytes]] : []));
const acct = () => ({ ns: 0 });

describe('BlockDriverState (the generic layer)', () => {
  it('pads unaligned requests to the request alignment with read-modify-write', () => {
    const file = path.join(tmp, 'align.img');
    right(createImage('file', file, 4096));
    const { bs, events, graph } = node({ driver: 'raw', cache: { direct: true }, file: { driver: 'file', filename: file } });
    expect(bs.child('file')!.requestAlignment).toBe(512);
    expect(bs.pwritev(700, new Uint8Array(100).fill(3), {}, acct())).toBeNull();
    const back = new Uint8Array(102);
    expect(bs.preadv(699, back, acct())).toBeNull();
    expect(io(events)).toEqual([
      ['read', 512, 512],
      ['write', 512, 512],
      ['read', 512, 512],
    ]);
    expect(back[0]).toBe(0);
    expect(back.subarray(1, 101).every((b) => b === 3)).toBe(true);
    expect(back[101]).toBe(0);
    graph.close();
  });

  it('reads zeroes past the end; writes past it fail unless a parent may grow the node', () => {
    const { bs } = node({ driver: 'memory', size: 100 });
    const buf = new Uint8Array(10).fill(9);
    expect(bs.preadv(95, buf, acct())).toBeNull();
    expect([...buf]).toEqual(new Array(10).fill(0));
    expect(bs.pwritev(95, new Uint8Array(10), {}, acct())?.errno).toBe('EIO');
    bs.growable = true;
    expect(bs.pwritev(95, new Uint8Array(10).fill(1), {}, acct())).toBeNull();
    expect(bs.getLength()).toBe(105);
  });

  it('emulates FUA with a flush when the driver lacks it; passes it to a driver that has it', () => {
    const mem = node({ driver: 'memory', size: 4096 });
    mem.bs.pwritev(0, new Uint8Array(1), { fua: true }, acct());
    expect(io(mem.events)).toEqual([
      ['write', 0, 1],
      ['flush', 0, 0],
    ]);
    const nul = node({ driver: 'null-co', size: 4096 });
    nul.bs.pwritev(0, new Uint8Array(1), { fua: true }, acct());
    expect(io(nul.events)).toEqual([['write', 0, 1]]);
  });

  it('falls back to writing zero buffers when the driver has no write-zeroes', () => {
    const { bs, events } = node({ driver: 'null-co', size: 4 << 20 });
    expect(bs.writeZeroes(0, 3 << 20, {}, acct())).toBeNull();
    expect(io(events)).toEqual([
      ['write', 0, 1 << 20],
      ['write', 1 << 20, 1 << 20],
      ['write', 2 << 20, 1 << 20],
    ]);
  });

  it('follows raw block status into its file; adds ALLOCATED to DATA and ZERO; EOF past the end', () => {
    const { bs } = node({ driver: 'raw', offset: 4096, file: { driver: 'memory', size: 65536 } });
    bs.pwritev(8192, new Uint8Array(4096).fill(1), {}, acct());
    expect(bs.blockStatus(0, 65536 - 4096)).toEqual({ flags: BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED, pnum: 8192, map: 4096 });
    expect(bs.blockStatus(8192, 100_000)).toEqual({ flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED, pnum: 4096, map: 12288 });
    expect(bs.blockStatus(65536 - 4096, 1).flags).toBe(BDRV_BLOCK_EOF);
  });

  it('resizes through raw, and refuses what cannot be resized', () => {
    const g = new BlockGraph(newBlockEnv());
    const raw = right(g.blockdevAdd({ driver: 'raw', file: { driver: 'memory', size: 4096 } }));
    expect(raw.truncate(8192)).toBeNull();
    expect(raw.child('file')!.getLength()).toBe(8192);
    const fixed = right(g.blockdevAdd({ driver: 'raw', size: 512, file: { driver: 'memory', size: 4096 } }));
    expect(fixed.truncate(1024)).toEqual({ errno: 'ENOTSUP', message: 'Cannot resize fixed-size raw disks' });
    const nul = right(g.blockdevAdd({ driver: 'null-co', 'node-name': 'nul' }));
    expect(nul.truncate(1)?.message).toBe('nul: Image format driver does not support resize');
    const ro = right(g.blockdevAdd({ driver: 'memory', size: 1, 'read-only': true }));
    expect(ro.truncate(2)?.errno).toBe('EROFS');
    expect(ro.truncate(-1)?.errno).toBe('EINVAL');
  });

  it('with cache.no-flush, a flush reaches no disk', () => {
    const { bs, events } = node({ driver: 'raw', cache: { 'no-flush': true }, file: { driver: 'memory', size: 4096 } });
    bs.pwritev(0, new Uint8Array([1]), {}, acct());
    expect(bs.flush(acct())).toBeNull();
    expect(io(events)).toEqual([['write', 0, 1]]);
    bs.child('file')!.powerCut();
    const b = new Uint8Array(1);
    bs.preadv(0, b, acct());
    expect(b[0]).toBe(0);
  });
});
