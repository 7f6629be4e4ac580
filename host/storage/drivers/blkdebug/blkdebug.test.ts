import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage, type BlockError } from '../../errors.js';
import { BlockGraph } from '../../graph.js';
import type { BlockDriverState } from '../../node.js';
import { newBlockEnv } from '../../testing.js';
import { blkdebugEngine } from './blkdebug.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-blkdebug-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'ok');
const acct = () => ({ ns: 0 });
const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

/** raw over blkdebug over a 64 KiB memory node, with `opts` given to blkdebug as dotted keys. */
function open(opts: Record<string, unknown> = {}): { raw: BlockDriverState; dbg: BlockDriverState; graph: BlockGraph } {
  const graph = new BlockGraph(newBlockEnv());
  const spec: Record<string, unknown> = { driver: 'raw', 'file.driver': 'blkdebug', 'file.node-name': 'dbg', 'file.image.driver': 'memory', 'file.image.size': 65536 };
  for (const [k, v] of Object.entries(opts)) spec[`file.${k}`] = v;
  const r = graph.blockdevAdd(spec);
  if (E.isLeft(r)) throw new Error(message(r));
  return { raw: r.right, dbg: graph.node('dbg')!, graph };
}

function read(bs: BlockDriverState, off: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  const err = bs.preadv(off, b, acct());
  if (err) throw new Error(err.message);
  return b;
}

describe('blkdebug', () => {
  it('fails exactly one request with once=on, and the failed write changes nothing', () => {
    const { raw } = open({ 'inject-error.0.event': 'write_aio', 'inject-error.0.errno': '28', 'inject-error.0.once': 'on' });
    const err = raw.pwritev(0, bytes(512, 1), {}, acct());
    expect(err?.errno).toBe('ENOSPC');
    expect(err?.message).toMatch(/^dbg: blkdebug: write of 512 bytes at offset 0: No space left on device \(injected after event 'write_aio'\)$/);
    expect(read(raw, 0, 512).every((b) => b === 0)).toBe(true);
    // write_aio comes again before every write, but the rule is gone.
    for (let i = 0; i < 3; i++) expect(raw.pwritev(i * 512, bytes(512, 2 + i), {}, acct())).toBeNull();
    expect([...read(raw, 0, 1536).filter((_, i) => i % 512 === 0)]).toEqual([2, 3, 4]);
  });

  it('without once, keeps failing matching requests; reads are a different I/O type when iotype says so', () => {
    const { raw } = open({ 'inject-error.0.event': 'write_aio', 'inject-error.0.iotype': 'write' });
    expect(raw.pwritev(0, bytes(8, 1), {}, acct())?.errno).toBe('EIO');
    expect(raw.pwritev(8, bytes(8, 1), {}, acct())?.errno).toBe('EIO');
    expect(raw.preadv(0, new Uint8Array(8), acct())).toBeNull();
  });

  it('fails only requests that cover the rule’s sector', () => {
    const { raw } = open({ 'inject-error.0.event': 'write_aio', 'inject-error.0.sector': 4 });
    expect(raw.pwritev(0, bytes(2048, 1), {}, acct())).toBeNull();
    expect(raw.pwritev(2048, bytes(1, 1), {}, acct())?.errno).toBe('EIO');
    expect(raw.pwritev(1024, bytes(1024, 1), {}, acct())).toBeNull();
    expect(raw.pwritev(2000, bytes(100, 1), {}, acct())?.errno).toBe('EIO');
  });

  it('splits at max-transfer: the pieces before the failing one are written', () => {
    const { raw, dbg } = open({ 'max-transfer': 4096, 'inject-error.0.event': 'write_aio', 'inject-error.0.sector': 16 });
    expect(raw.pwritev(0, bytes(12288, 7), {}, acct())?.errno).toBe('EIO');
    const back = read(dbg.child('image')!, 0, 12288);
    expect(back.subarray(0, 8192).every((b) => b === 7)).toBe(true);
    expect(back.subarray(8192).every((b) => b === 0)).toBe(true);
  });

  it('fails a flush at flush_to_disk, which the generic layer announces; the data stays', () => {
    const { raw } = open({ 'inject-error.0.event': 'flush_to_disk', 'inject-error.0.iotype': 'flush', 'inject-error.0.once': 'on' });
    expect(raw.pwritev(0, bytes(4, 9), {}, acct())).toBeNull();
    expect(raw.flush(acct())?.errno).toBe('EIO');
    expect(raw.flush(acct())).toBeNull();
    expect([...read(raw, 0, 4)]).toEqual([9, 9, 9, 9]);
  });

  it('moves between states: a rule for state 2 waits for the set-state that leads there', () => {
    const { raw, dbg } = open({
      'set-state.0.event': 'read_aio',
      'set-state.0.state': 1,
      'set-state.0.new_state': 2,
      'inject-error.0.event': 'write_aio',
      'inject-error.0.state': 2,
      'inject-error.0.once': 'on',
    });
    const engine = blkdebugEngine(dbg)!;
    expect(engine.state).toBe(1);
    expect(raw.pwritev(0, bytes(4, 1), {}, acct())).toBeNull();
    expect(engine.eventCount('write_aio')).toBe(1);
    read(raw, 0, 4);
    expect(engine.state).toBe(2);
    expect(raw.pwritev(0, bytes(4, 2), {}, acct())?.errno).toBe('EIO');
    expect(raw.pwritev(0, bytes(4, 3), {}, acct())).toBeNull();
    expect(engine.eventCount('read_aio')).toBe(1);
  });

  it('hears its own pwritev events, and the none event once at open', () => {
    const { raw, dbg } = open({ 'inject-error.0.event': 'none', 'inject-error.0.iotype': 'read', 'inject-error.0.once': 'on' });
    const engine = blkdebugEngine(dbg)!;
    expect(engine.eventCount('none')).toBe(1);
    expect(engine.armed).toHaveLength(1);
    expect(raw.preadv(0, new Uint8Array(1), acct())?.errno).toBe('EIO');
    expect(raw.pwritev(0, bytes(1, 1), {}, acct())).toBeNull();
    expect(raw.writeZeroes(0, 1, {}, acct())).toBeNull();
    expect([engine.eventCount('pwritev'), engine.eventCount('pwritev_zero'), engine.eventCount('pwritev_done')]).toEqual([1, 1, 2]);
  });

  it('takes FUA only where its image does: a FUA write over memory is followed by a flush of the blkdebug node', () => {
    const { raw } = open({ 'inject-error.0.event': 'none', 'inject-error.0.iotype': 'flush' });
    expect(raw.supportsFua).toBe(false);
    expect(raw.pwritev(0, bytes(4, 1), {}, acct())).toBeNull();
    expect(raw.pwritev(0, bytes(4, 2), { fua: true }, acct())?.errno).toBe('EIO');
    // The data went down before the flush failed, as with QEMU's emulated FUA.
    expect([...read(raw, 0, 4)]).toEqual([2, 2, 2, 2]);
  });

  it('adds the event-loop hop to a deferred error, not to an immediate one', () => {
    const later = open({ 'inject-error.0.event': 'write_aio' }).raw;
    const now = open({ 'inject-error.0.event': 'write_aio', 'inject-error.0.immediately': 'on' }).raw;
    const a = acct();
    const b = acct();
    expect(later.pwritev(0, bytes(1, 1), {}, a)?.errno).toBe('EIO');
    expect(now.pwritev(0, bytes(1, 1), {}, b)?.errno).toBe('EIO');
    expect(a.ns).toBeGreaterThan(0);
    expect(b.ns).toBe(0);
  });

  it('reads rules from a config file, and opens the image from a bare filename', () => {
    const conf = path.join(tmp, 'rules.conf');
    fs.writeFileSync(conf, '[inject-error]\nevent = "read_aio"\nerrno = "5"\nonce = "on"\n');
    const img = path.join(tmp, 'img.raw');
    fs.writeFileSync(img, Buffer.alloc(4096, 3));
    const graph = new BlockGraph(newBlockEnv());
    const r = graph.blockdevAdd({ driver: 'raw', 'file.driver': 'blkdebug', 'file.config': conf, 'file.image.filename': img });
    if (E.isLeft(r)) throw new Error(message(r));
    expect(r.right.preadv(0, new Uint8Array(16), acct())?.errno).toBe('EIO');
    expect([...read(r.right, 0, 2)]).toEqual([3, 3]);
    graph.close();
  });

  it.each([
    [{ config: '/nonexistent/bd.conf' }, 'Could not read blkdebug config file: No such file or directory'],
    [{ align: 3000 }, 'Cannot meet constraints with align 3000'],
    [{ align: 512, 'max-transfer': 1000 }, 'Cannot meet constraints with max-transfer 1000'],
    [{ 'opt-write-zero': 4096, 'max-write-zero': 6144 }, 'Cannot meet constraints with max-write-zero 6144'],
    [{ 'inject-error.1.event': 'none' }, /^Parameter 'inject-error' expects a list of objects/],
    [{ 'inject-error.0.event': 'bogus' }, /^inject-error\.0: Parameter 'event' expects a blkdebug event/],
    [{ 'take-child-perms.0': 'resize' }, "Block format 'blkdebug' does not support the option 'take-child-perms'"],
  ])('refuses %j', (opts, msg) => {
    const graph = new BlockGraph(newBlockEnv());
    const spec: Record<string, unknown> = { driver: 'raw', 'file.driver': 'blkdebug', 'file.image.driver': 'memory', 'file.image.size': 4096 };
    for (const [k, v] of Object.entries(opts)) spec[`file.${k}`] = v;
    expect(message(graph.blockdevAdd(spec))).toMatch(msg);
  });

  it('pads to its align with read-modify-write and passes write-zeroes and discard on in aligned pieces', () => {
    const { raw, dbg } = open({ align: 512, 'opt-write-zero': 4096, 'opt-discard': 4096, 'inject-error.0.event': 'none', 'inject-error.0.iotype': 'write-zeroes' });
    expect(raw.pwritev(100, bytes(10000, 5), {}, acct())).toBeNull();
    expect(read(raw, 99, 10002)[0]).toBe(0);
    // 1000..4096 is the unaligned head, written as zeroes; 4096..8192 is a write-zeroes request, which fails.
    expect(raw.writeZeroes(1000, 8000, {}, acct())?.errno).toBe('EIO');
    const back = read(dbg.child('image')!, 0, 10100);
    expect(back.subarray(1000, 4096).every((b) => b === 0)).toBe(true);
    expect(back.subarray(4096, 10100).every((b) => b === 5)).toBe(true);
  });
});
