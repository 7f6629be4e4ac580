import { describe, expect, it } from 'vitest';
import { parseFioBool, parseFioSize, parseFioTime } from './values.js';

describe('fio sizes (kb_base=1024, the default)', () => {
  it('k, m, g, t, p and their -b forms are powers of 1024, any case', () => {
    expect(parseFioSize('4096')).toBe(4096);
    expect(parseFioSize('4k')).toBe(4096);
    expect(parseFioSize('4K')).toBe(4096);
    expect(parseFioSize('4KB')).toBe(4096);
    expect(parseFioSize('1m')).toBe(2 ** 20);
    expect(parseFioSize('1M')).toBe(2 ** 20);
    expect(parseFioSize('10G')).toBe(10 * 2 ** 30);
    expect(parseFioSize('2t')).toBe(2 * 2 ** 40);
    expect(parseFioSize('0x1000')).toBe(4096);
    expect(parseFioSize('512b')).toBe(512);
  });

  it('kib, mib, gib are powers of 1000 in that mode, as fio documents', () => {
    expect(parseFioSize('4KiB')).toBe(4000);
    expect(parseFioSize('1MiB')).toBe(1e6);
    expect(parseFioSize('1gib')).toBe(1e9);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['x', '4q', '', '-1', '1.5k', '4 k k']) expect(parseFioSize(bad)).toBeUndefined();
  });
});

describe('fio times', () => {
  it('seconds by default, with units', () => {
    expect(parseFioTime('900')).toBe(900e9);
    expect(parseFioTime('10s')).toBe(10e9);
    expect(parseFioTime('250ms')).toBe(250e6);
    expect(parseFioTime('5us')).toBe(5e3);
    expect(parseFioTime('2m')).toBe(120e9);
    expect(parseFioTime('1h')).toBe(3600e9);
    expect(parseFioTime('x')).toBeUndefined();
  });
});

describe('fio booleans', () => {
  it('0 and 1, and the words', () => {
    expect(parseFioBool('1')).toBe(true);
    expect(parseFioBool('0')).toBe(false);
    expect(parseFioBool('true')).toBe(true);
    expect(parseFioBool('2')).toBeUndefined();
  });
});
