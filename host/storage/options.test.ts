import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { blockErrorMessage } from './errors.js';
import { crumple, parseBool, parseOptions, parseSize, type OptionTable } from './options.js';

const msg = (e: E.Either<import('./errors.js').BlockError, unknown>) => (E.isLeft(e) ? blockErrorMessage(e.left) : 'ok');

describe('parseSize (qemu_strtosz)', () => {
  it.each([
    [4096, 4096],
    ['4096', 4096],
    ['1k', 1024],
    ['1.5K', 1536],
    ['64M', 64 << 20],
    ['1G', 2 ** 30],
    ['1T', 2 ** 40],
    ['512b', 512],
  ])('%s → %d', (v, n) => expect(parseSize('size', v)).toEqual(E.right(n)));

  it.each([-1, 1.5, '1.3b', 'abc', '16E', true])('refuses %s, naming the parameter', (v) => {
    expect(msg(parseSize('size', v))).toMatch(/^Parameter 'size' expects a non-negative number/);
  });
});

describe('parseBool', () => {
  it('takes JSON booleans and on/off/yes/no/true/false', () => {
    for (const v of [true, 'on', 'yes', 'true']) expect(parseBool('x', v)).toEqual(E.right(true));
    for (const v of [false, 'off', 'no', 'false']) expect(parseBool('x', v)).toEqual(E.right(false));
    expect(msg(parseBool('read-zeroes', 'maybe'))).toBe(`Parameter 'read-zeroes' expects 'on' or 'off', got "maybe"`);
  });
});

describe('parseOptions', () => {
  const table = {
    size: { type: 'size', required: true, help: '' },
    latency: { type: 'number', default: 0, help: '' },
    aio: { type: 'string', values: ['threads', 'native'], default: 'threads', help: '' },
    extra: { type: 'bool', help: '' },
  } as const satisfies OptionTable;

  it('fills defaults and leaves optional values undefined', () => {
    expect(parseOptions(table, { size: '1M' })).toEqual(E.right({ size: 1 << 20, latency: 0, aio: 'threads', extra: undefined }));
  });

  it('names a missing required option and a bad enum value', () => {
    expect(msg(parseOptions(table, {}))).toBe("Parameter 'size' is missing");
    expect(msg(parseOptions(table, { size: 1, aio: 'posix' }))).toBe(`Parameter 'aio' expects one of 'threads', 'native', got "posix"`);
    expect(msg(parseOptions(table, { size: 1, latency: '12x' }))).toBe(`Parameter 'latency' expects an integer, got "12x"`);
  });
});

describe('crumple (qdict_crumple)', () => {
  it('nests dotted keys, merging with nested objects', () => {
    expect(crumple({ driver: 'raw', 'file.driver': 'file', 'file.filename': 'x', 'cache.direct': 'on', file2: { 'a.b': 1 } })).toEqual({
      driver: 'raw',
      file: { driver: 'file', filename: 'x' },
      cache: { direct: 'on' },
      file2: { a: { b: 1 } },
    });
  });
});
