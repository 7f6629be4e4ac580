import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { openDrive } from './drive.js';
import { blockErrorMessage, type BlockError } from './errors.js';
import { BlockGraph } from './graph.js';
import { createImage } from './open.js';
import { newBlockEnv } from './testing.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iopath-drive-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'opened');
const right = <T>(r: E.Either<BlockError, T>): T => {
  if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
  return r.right;
};

function image(name: string, size = 1 << 20): string {
  const f = path.join(tmp, name);
  right(createImage('raw', f, size));
  return f;
}

describe('openDrive (-drive)', () => {
  it('file + format → a raw node over a file node, and a backend named by id', () => {
    const g = new BlockGraph(newBlockEnv());
    const file = image('a.img');
    const blk = right(openDrive(g, { file, format: 'raw', id: 'drive0', if: 'none' }));
    expect(blk.id).toBe('drive0');
    expect(blk.root.drv.formatName).toBe('raw');
    expect(blk.root.child('file')!.drv.formatName).toBe('file');
    expect(blk.length()).toBe(1 << 20);
    g.close();
  });

  it.each([
    ['writeback', true, false, false],
    ['none', true, true, false],
    ['writethrough', false, false, false],
    ['directsync', false, true, false],
    ['unsafe', true, false, true],
  ])('cache=%s: backend writeback=%s, nodes direct=%s no-flush=%s', (cache, writeback, direct, noFlush) => {
    const g = new BlockGraph(newBlockEnv());
    const blk = right(openDrive(g, { file: image(`c-${cache}.img`), format: 'raw', cache }));
    expect(blk.writeCacheEnabled).toBe(writeback);
    for (const bs of [blk.root, blk.root.child('file')!]) {
      expect(bs.flags.direct).toBe(direct);
      expect(bs.flags.noFlush).toBe(noFlush);
    }
    expect(blk.root.child('file')!.requestAlignment).toBe(direct ? 512 : 1);
    g.close();
  });

  it('takes per-switch cache options, aio and discard', () => {
    const g = new BlockGraph(newBlockEnv());
    const blk = right(openDrive(g, { file: image('sw.img'), format: 'raw', 'cache.writeback': 'off', 'cache.direct': 'on', aio: 'native', discard: 'unmap' }));
    expect(blk.writeCacheEnabled).toBe(false);
    expect(blk.root.child('file')!.flags).toMatchObject({ direct: true, unmap: true });
    g.close();
  });

  it("refuses aio=native without cache.direct=on, in QEMU's words", () => {
    const g = new BlockGraph(newBlockEnv());
    expect(message(openDrive(g, { file: image('n.img'), format: 'raw', aio: 'native' }))).toBe(
      'aio=native was specified, but it requires cache.direct=on, which was not specified.',
    );
  });

  it('names a missing file, an unknown format, an unknown protocol and a bad cache mode', () => {
    const g = new BlockGraph(newBlockEnv());
    const missing = path.join(tmp, 'missing.img');
    expect(message(openDrive(g, { file: missing, format: 'raw' }))).toBe(`Could not open '${missing}': No such file or directory`);
    expect(message(openDrive(g, { file: image('f.img'), format: 'qcow9' }))).toBe("Unknown driver 'qcow9'");
    expect(message(openDrive(g, { file: 'gopher://x/y', format: 'raw' }))).toBe("Unknown protocol 'gopher' (in filename 'gopher://x/y')");
    expect(message(openDrive(g, { file: image('g.img'), cache: 'fast' }))).toMatch(/^invalid cache option 'fast'/);
    expect(message(openDrive(g, { format: 'raw' }))).toBe("Parameter 'file' is missing");
  });

  it('probes the format when none is given (raw is the fallback), leaving nothing behind on failure', () => {
    const g = new BlockGraph(newBlockEnv());
    const blk = right(openDrive(g, { file: image('p.img'), 'node-name': 'top' }));
    expect(blk.root.nodeName).toBe('top');
    expect(blk.root.drv.formatName).toBe('raw');
    expect(message(openDrive(g, { file: image('q.img', 4096), offset: 8192 }))).toMatch(/^Offset \(8192\) cannot be greater/);
    expect(g.backends).toHaveLength(1);
    g.close();
  });

  it('passes other options to the format node and file.* ones to the protocol node', () => {
    const g = new BlockGraph(newBlockEnv());
    const blk = right(openDrive(g, { file: image('o.img', 65536), format: 'raw', offset: 4096, size: 8192, 'file.locking': 'off' }));
    expect(blk.length()).toBe(8192);
    expect(message(openDrive(g, { file: image('o2.img'), format: 'raw', 'file.colour': 'red' }))).toBe("Block protocol 'file' doesn't support the option 'colour'");
    g.close();
  });

  it('selects a protocol by filename prefix, or a protocol driver directly', () => {
    const g = new BlockGraph(newBlockEnv());
    const a = right(openDrive(g, { file: 'null-co://', format: 'raw' }));
    expect(a.root.child('file')!.drv.formatName).toBe('null-co');
    const b = right(openDrive(g, { driver: 'null-co', size: '64M', 'read-zeroes': 'on' }));
    expect(b.root.drv.formatName).toBe('null-co');
    expect(b.length()).toBe(64 << 20);
    expect(message(openDrive(g, { file: 'null-co://x', format: 'raw' }))).toBe("The only allowed filename for this driver is 'null-co://'");
    const c = right(openDrive(g, { file: `file:${image('pfx.img')}`, format: 'raw', readonly: 'on' }));
    expect(c.readOnly).toBe(true);
    g.close();
  });
});
