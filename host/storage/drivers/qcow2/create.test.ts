import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../../errors.js';
import { parseOptions } from '../../options.js';
import { planCreate, QCOW2_CREATE_OPTIONS } from './create.js';

const plan = (o: Record<string, unknown>): string => {
  const p = parseOptions(QCOW2_CREATE_OPTIONS, o);
  if (E.isLeft(p)) return blockErrorMessage(p.left);
  const r = planCreate(p.right);
  return E.isLeft(r) ? blockErrorMessage(r.left) : JSON.stringify(r.right);
};

describe('qcow2 create options', () => {
  it("defaults to qemu-img 7.2's: compat 1.1, 64 KiB clusters, 16-bit refcounts, zlib", () => {
    expect(JSON.parse(plan({}))).toEqual({ version: 3, clusterSize: 65536, refcountOrder: 4, prealloc: 'off', compressionType: 0 });
    expect(JSON.parse(plan({ compat: 'v2' })).version).toBe(2);
    expect(JSON.parse(plan({ data_file: 'd', data_file_raw: true })).prealloc).toBe('metadata');
  });

  it("refuses what qemu-img refuses, in its words (checked against qemu-img 7.2.22)", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ compat: 'foo' }, "Parameter 'version' does not accept value 'foo'"],
      [{ cluster_size: 1000 }, 'Cluster size must be a power of two between 512 and 2048k'],
      [{ cluster_size: '4M' }, 'Cluster size must be a power of two between 512 and 2048k'],
      [{ refcount_bits: 3 }, 'Refcount width must be a power of two and may not exceed 64 bits'],
      [{ compat: '0.10', refcount_bits: 8 }, 'Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)'],
      [{ compat: '0.10', lazy_refcounts: true }, 'Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)'],
      [{ compat: '0.10', extended_l2: true }, 'Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)'],
      [{ extended_l2: true, cluster_size: '4k' }, 'Extended L2 entries are only supported with cluster sizes of at least 16384 bytes'],
      [{ preallocation: 'foo' }, "Parameter 'preallocation' does not accept value 'foo'"],
      [{ compression_type: 'lz4' }, "Parameter 'compression-type' does not accept value 'lz4'"],
      [{ data_file_raw: true }, 'data-file-raw requires data-file'],
      [{ backing_fmt: 'raw' }, 'Backing format cannot be used without backing file'],
      [{ preallocation: 'metadata', backing_file: 'a', backing_fmt: 'qcow2' }, 'Backing file and preallocation can only be used at the same time if extended_l2 is on'],
      [{ compat: '0.10', data_file: 'x' }, 'External data files are only supported with compatibility level 1.1 and above (use version=v3 or greater)'],
    ];
    for (const [o, m] of cases) expect(plan(o)).toBe(m);
  });
});
