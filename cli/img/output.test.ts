import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { cFixed, formatG3, qdictOrder, sizeToStr, toJsonPretty } from './output.js';
import { cvtnum, strtosz } from './size.js';

describe('qemu_strtosz', () => {
  const ok: Array<[string, bigint]> = [
    ['1M', 1048576n], ['1.5k', 1536n], ['1000', 1000n], ['0x10', 16n], [' 10', 10n], ['1b', 1n], ['512B', 512n],
    ['1K', 1024n], ['0', 0n], ['1.k', 1024n], ['8E', 1n << 63n],
  ];
  for (const [s, v] of ok) it(`reads ${JSON.stringify(s)} as ${v}`, () => expect(strtosz(s)).toEqual(E.right(v)));
  for (const s of ['1x', '1.3', '0.5', '1.5b', '10kB', '-1', '', '0x1k', '1.5e3k', 'k']) {
    it(`refuses ${JSON.stringify(s)}`, () => expect(strtosz(s)).toEqual(E.left('invalid')));
  }
  it('reports sizes past 64 bits as out of range', () => expect(strtosz('16E')).toEqual(E.left('range')));
  it("cvtnum gives qemu-img's two messages", () => {
    expect(cvtnum('image size', '1x')).toEqual(E.left(['Invalid image size specified. You may use k, M, G, T, P or E suffixes for', 'kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.']));
    expect(cvtnum('image size', '9E')).toEqual(E.left(['Invalid image size specified. Must be between 0 and 9223372036854775807.']));
  });
});

describe('human numbers', () => {
  it('size_to_str as qemu-img info prints it', () => {
    // Observed with qemu-img 7.2 info on images of these sizes.
    expect(sizeToStr(1024)).toBe('1 KiB');
    expect(sizeToStr(1536)).toBe('1.5 KiB');
    expect(sizeToStr(1000448)).toBe('977 KiB');
    expect(sizeToStr(123457024)).toBe('118 MiB');
    expect(sizeToStr(5000000000000)).toBe('4.55 TiB');
    expect(sizeToStr(0)).toBe('0 B');
    expect(sizeToStr(1000)).toBe('0.977 KiB');
  });
  it('%.3g and %.2f as glibc prints them', () => {
    expect(formatG3(999.9)).toBe('1e+03');
    expect(formatG3(0.5)).toBe('0.5');
    expect(cFixed(3.125, 2)).toBe('3.12');
    expect(cFixed(3.135, 2)).toBe((3.135).toFixed(2));
    expect(cFixed(0.375, 2)).toBe('0.38');
  });
});

describe('QDict JSON', () => {
  it('orders keys as qemu-img 7.2 prints them', () => {
    expect(qdictOrder({ filename: 1, format: 1, 'dirty-flag': 1, 'actual-size': 1, 'virtual-size': 1 })).toEqual(['virtual-size', 'filename', 'format', 'actual-size', 'dirty-flag']);
    expect(qdictOrder({ filename: 1, format: 1, 'check-errors': 1, 'image-end-offset': 1, 'total-clusters': 1, 'allocated-clusters': 1 })).toEqual([
      'image-end-offset', 'total-clusters', 'check-errors', 'allocated-clusters', 'filename', 'format',
    ]);
    expect(qdictOrder({ compat: 1, 'lazy-refcounts': 1, 'refcount-bits': 1, corrupt: 1, 'extended-l2': 1, 'compression-type': 1 })).toEqual([
      'compat', 'compression-type', 'lazy-refcounts', 'refcount-bits', 'corrupt', 'extended-l2',
    ]);
  });
  it('pretty-prints with four-space indents and json-writer escapes', () => {
    expect(toJsonPretty({ a: [1, { b: true }], s: 'x\t\u00e9\u007f/' })).toBe('{\n    "s": "x\\t\\u00E9\\u007F/",\n    "a": [\n        1,\n        {\n            "b": true\n        }\n    ]\n}');
  });
  it('an empty list is "[", a newline and "]" at its indent (a bitmap without flags)', () => {
    expect(toJsonPretty({ flags: [] })).toBe('{\n    "flags": [\n    ]\n}');
  });
});
