import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage, type BlockError } from '../errors.js';
import { BlockGraph } from '../graph.js';
import { createImage } from '../open.js';
import { newBlockEnv } from '../testing.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-file-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'ok');
const right = <T>(r: E.Either<BlockError, T>): T => {
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
};
const acct = () => ({ ns: 0 });

describe('file driver', () => {
  it('creates a sparse image: a 1 TiB file that takes no blocks', () => {
    const f = path.join(tmp, 'big.img');
    right(createImage('raw', f, 2 ** 40));
    const st = fs.statSync(f);
    expect(st.size).toBe(2 ** 40);
    expect(st.blocks).toBeLessThan(64);
    const g = new BlockGraph(newBlockEnv());
    const bs = right(g.blockdevAdd({ driver: 'file', filename: f }));
    const b = new Uint8Array(4096).fill(1);
    expect(bs.preadv(2 ** 39, b, acct())).toBeNull();
    expect(b.every((x) => x === 0)).toBe(true);
    g.close();
  });

  it('refuses a missing file, a directory and an uncreatable path', () => {
    const g = new BlockGraph(newBlockEnv());
    const missing = path.join(tmp, 'nope.img');
    expect(message(g.blockdevAdd({ driver: 'file', filename: missing }))).toBe(`Could not open '${missing}': No such file or directory`);
    expect(message(g.blockdevAdd({ driver: 'file', filename: tmp, 'read-only': true }))).toBe(`'file' driver requires '${tmp}' to be a regular file`);
    expect(message(createImage('file', path.join(tmp, 'no', 'such', 'dir.img'), 1))).toMatch(/^Could not create '.*dir\.img': No such file or directory$/);
  });

  it('keeps unflushed writes out of the host file until flush; close writes them back', () => {
    const f = path.join(tmp, 'wb.img');
    right(createImage('file', f, 8192));
    const g = new BlockGraph(newBlockEnv());
    const bs = right(g.blockdevAdd({ driver: 'file', filename: f }));
    bs.pwritev(0, new Uint8Array(10).fill(4), {}, acct());
    expect(fs.readFileSync(f)[0]).toBe(0);
    bs.flush(acct());
    expect(fs.readFileSync(f)[0]).toBe(4);
    bs.pwritev(10, new Uint8Array(10).fill(5), {}, acct());
    g.close();
    expect(fs.readFileSync(f)[10]).toBe(5);
  });

  it('discarding up to the end of the file leaves a hole; the size stays', () => {
    const f = path.join(tmp, 'hole.img');
    right(createImage('file', f, 1 << 20));
    const g = new BlockGraph(newBlockEnv());
    const bs = right(g.blockdevAdd({ driver: 'file', filename: f, discard: 'unmap' }));
    bs.pwritev(0, new Uint8Array(1 << 20).fill(1), {}, acct());
    bs.flush(acct());
    const full = fs.statSync(f).blocks;
    expect(bs.discard(4096, (1 << 20) - 4096, acct())).toBeNull();
    expect(bs.discard(100, 200, acct())).toBeNull();
    bs.flush(acct());
    const st = fs.statSync(f);
    expect(st.size).toBe(1 << 20);
    expect(st.blocks).toBeLessThan(full / 4);
    const data = fs.readFileSync(f);
    expect(data[99]).toBe(1);
    expect(data.subarray(100, 300).every((x) => x === 0)).toBe(true);
    expect(data[300]).toBe(1);
    expect(data.subarray(4096).every((x) => x === 0)).toBe(true);
    g.close();
  });

  it('opens read-only images read-only', () => {
    const f = path.join(tmp, 'ro.img');
    right(createImage('file', f, 4096));
    fs.chmodSync(f, 0o444);
    const g = new BlockGraph(newBlockEnv());
    const bs = right(g.blockdevAdd({ driver: 'file', filename: f, 'read-only': 'on' }));
    expect(bs.pwritev(0, new Uint8Array(1), {}, acct())?.errno).toBe('EROFS');
    g.close();
  });
});
