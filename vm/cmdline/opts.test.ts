import { describe, expect, it } from 'vitest';
import {
  escapeValue,
  formatQemuSize,
  isIdentifier,
  parseBool,
  parseOpts,
  parseQemuSize,
  parseUint,
  splitElements,
} from './opts.js';

describe('QemuOpts syntax', () => {
  it('splits on commas, with ,, as a literal comma', () => {
    expect(splitElements('a=1,b=x,,y,c')).toEqual(['a=1', 'b=x,y', 'c']);
    expect(splitElements('serial=,,,,')).toEqual(['serial=,,']);
    expect(splitElements('a=1,')).toEqual(['a=1']);
    expect(splitElements('')).toEqual(['']);
  });

  it('reads an implied first value and bare keys as on', () => {
    expect(parseOpts('virtio-blk-pci,drive=d0,event_idx', 'driver')).toEqual([
      { key: 'driver', value: 'virtio-blk-pci' },
      { key: 'drive', value: 'd0' },
      { key: 'event_idx', value: 'on' },
    ]);
    expect(parseOpts('readonly,file=x')).toEqual([
      { key: 'readonly', value: 'on' },
      { key: 'file', value: 'x' },
    ]);
  });

  it('escapes what it splits', () => {
    for (const v of ['a,b', ',,', 'plain', ',x,']) {
      expect(parseOpts(`k=${escapeValue(v)},z=1`)).toEqual([
        { key: 'k', value: v },
        { key: 'z', value: '1' },
      ]);
    }
  });
});

describe('values', () => {
  it('booleans as QEMU spells them', () => {
    for (const t of ['on', 'yes', 'true']) expect(parseBool(t)).toBe(true);
    for (const f of ['off', 'no', 'false']) expect(parseBool(f)).toBe(false);
    expect(parseBool('1')).toBeUndefined();
    expect(parseBool('maybe')).toBeUndefined();
  });

  it('unsigned integers in base 0, like strtoull', () => {
    expect(parseUint('16')).toBe(16);
    expect(parseUint('0x10')).toBe(16);
    expect(parseUint('010')).toBe(8);
    expect(parseUint('0')).toBe(0);
    expect(parseUint('abc')).toBeUndefined();
    expect(parseUint('-1')).toBeUndefined();
    expect(parseUint('12a')).toBeUndefined();
    expect(parseUint('99999999999999999999')).toBe(Infinity);
  });

  it('sizes with QEMU suffixes', () => {
    expect(parseQemuSize('4096')).toEqual({ ok: 4096 });
    expect(parseQemuSize('4k')).toEqual({ ok: 4096 });
    expect(parseQemuSize('512M')).toEqual({ ok: 512 * 2 ** 20 });
    expect(parseQemuSize('1.5G')).toEqual({ ok: 1.5 * 2 ** 30 });
    expect(parseQemuSize('1T')).toEqual({ ok: 2 ** 40 });
    expect(parseQemuSize('0x1000')).toEqual({ ok: 4096 });
    expect(parseQemuSize('512', 'm')).toEqual({ ok: 512 * 2 ** 20 });
    expect(parseQemuSize('12Q')).toEqual({ error: 'syntax' });
    expect(parseQemuSize('1.5')).toEqual({ error: 'syntax' });
    expect(parseQemuSize('-1')).toEqual({ error: 'syntax' });
    expect(parseQemuSize('16E')).toEqual({ error: 'range' });
  });

  it('prints sizes in the largest exact unit', () => {
    expect(formatQemuSize(4 * 2 ** 30)).toBe('4G');
    expect(formatQemuSize(1536 * 2 ** 20)).toBe('1536M');
    expect(formatQemuSize(8192)).toBe('8K');
    expect(formatQemuSize(100)).toBe('100B');
    for (const n of [8192, 2 ** 20, 3 * 2 ** 40, 5 * 8192]) expect(parseQemuSize(formatQemuSize(n))).toEqual({ ok: n });
  });

  it('identifiers as id_wellformed', () => {
    expect(isIdentifier('d0')).toBe(true);
    expect(isIdentifier('a.b-c_d')).toBe(true);
    expect(isIdentifier('0d')).toBe(false);
    expect(isIdentifier('a b')).toBe(false);
    expect(isIdentifier('')).toBe(false);
  });
});
