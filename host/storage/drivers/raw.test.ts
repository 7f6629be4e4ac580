import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { blockErrorMessage, type BlockError } from '../errors.js';
import { BlockGraph } from '../graph.js';
import { newBlockEnv } from '../testing.js';

const message = <T>(r: E.Either<BlockError, T>): string => (E.isLeft(r) ? blockErrorMessage(r.left) : 'ok');
const acct = () => ({ ns: 0 });

describe('raw driver', () => {
  it('is a window [offset, offset + size) of its file', () => {
    const g = new BlockGraph(newBlockEnv());
    const file = g.blockdevAdd({ driver: 'memory', 'node-name': 'f', size: 8192 });
    if (E.isLeft(file)) throw new Error(message(file));
    const r = g.blockdevAdd({ driver: 'raw', offset: 1024, size: 2048, file: 'f' });
    if (E.isLeft(r)) throw new Error(message(r));
    const raw = r.right;
    expect(raw.getLength()).toBe(2048);
    expect(raw.pwritev(0, new Uint8Array([1, 2]), {}, acct())).toBeNull();
    expect(raw.pwritev(2047, new Uint8Array([3, 4]), {}, acct())?.errno).toBe('EIO');
    const b = new Uint8Array(3);
    file.right.preadv(1023, b, acct());
    expect([...b]).toEqual([0, 1, 2]);
  });

  it("refuses windows that do not fit, in QEMU's words", () => {
    const g = new BlockGraph(newBlockEnv());
    const f = { driver: 'memory', size: 4096 };
    expect(message(g.blockdevAdd({ driver: 'raw', offset: 5000, file: f }))).toBe('Offset (5000) cannot be greater than size of the containing file (4096)');
    expect(message(g.blockdevAdd({ driver: 'raw', offset: 512, size: 4096, file: f }))).toBe(
      'The sum of offset (512) and size (4096) has to be smaller or equal to the actual size of the containing file (4096)',
    );
    expect(message(g.blockdevAdd({ driver: 'raw', size: 1000, file: f }))).toBe('Specified size is not multiple of 512');
  });
});
