import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diskName } from './disk-name.js';

describe('diskName (sd_format_disk_name / virtblk_name_format, base 26 without a zero digit)', () => {
  it('names a … z, aa … zz, aaa …', () => {
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702, 18277, 18278].map((i) => diskName('vd', i))).toEqual([
      'vda', 'vdb', 'vdz', 'vdaa', 'vdab', 'vdaz', 'vdba', 'vdzz', 'vdaaa', 'vdzzz', 'vdaaaa',
    ]);
  });

  it('puts the prefix first, whatever its length', () => {
    expect([diskName('sd', 27), diskName('mpath', 0), diskName('', 26)]).toEqual(['sdab', 'mpatha', 'aa']);
  });

  it('is a bijection onto prefix[a-z]+ (property)', () => {
    const decode = (name: string): number => [...name.slice(5)].reduce((n, ch) => n * 26 + (ch.charCodeAt(0) - 96), 0) - 1;
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), (i) => {
        const n = diskName('mpath', i);
        expect(n).toMatch(/^mpath[a-z]+$/);
        expect(decode(n)).toBe(i);
      }),
    );
  });
});
