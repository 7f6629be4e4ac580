import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHeaderCluster, type HeaderCluster } from './header.js';
import { parseImageHeader } from './image-header.js';

const CS = 65536;
/** A valid 1 GiB image's header cluster, as qemu-img lays it out, with `patch` applied to the fields. */
function image(patch: Partial<HeaderCluster['header']> = {}, more: Partial<HeaderCluster> = {}): Uint8Array {
  const enc = encodeHeaderCluster(
    {
      header: {
        version: 3, clusterBits: 16, size: 1 << 30, cryptMethod: 0, l1Size: 2, l1TableOffset: 3 * CS, refcountTableOffset: CS,
        refcountTableClusters: 1, nbSnapshots: 0, snapshotsOffset: 0, incompatibleFeatures: 0n, compatibleFeatures: 0n, autoclearFeatures: 0n,
        refcountOrder: 4, compressionType: 0, ...patch,
      },
      unknownHeaderFields: new Uint8Array(0),
      unknownExtensions: [],
      ...more,
    },
    2 ** (patch.clusterBits ?? 16),
  );
  if (E.isLeft(enc)) throw new Error(enc.left);
  return enc.right;
}

const parse = (c: Uint8Array, writable = true, fileLength = 4 * CS): string => {
  const r = parseImageHeader(c, { writable, fileLength });
  return E.isLeft(r) ? r.left : 'ok';
};
const poke = (c: Uint8Array, at: number, v: number, bytes = 4): Uint8Array => {
  const out = c.slice();
  const dv = new DataView(out.buffer);
  if (bytes === 4) dv.setUint32(at, v);
  else dv.setBigUint64(at, BigInt(v));
  return out;
};

describe('qcow2 header validation, in QEMU 7.2s words', () => {
  it('accepts what qemu-img makes', () => {
    expect(parse(image())).toBe('ok');
  });

  it('names each problem', () => {
    expect(parse(poke(image(), 0, 0x12345678))).toBe('Image is not in qcow2 format');
    expect(parse(poke(image(), 4, 4))).toBe('Unsupported qcow2 version 4');
    expect(parse(poke(image(), 20, 22))).toBe('Unsupported cluster size: 2^22');
    expect(parse(poke(image(), 20, 8))).toBe('Unsupported cluster size: 2^8');
    expect(parse(poke(image(), 100, 96))).toBe('qcow2 header too short');
    expect(parse(poke(image({ clusterBits: 9, l1Size: 4096, l1TableOffset: 1536, refcountTableOffset: 512 }), 100, 1024), true, 1 << 22)).toBe('qcow2 header exceeds cluster size');
    expect(parse(poke(image(), 8, CS + 8, 8))).toBe('Invalid backing file offset');
    expect(parse(image({ incompatibleFeatures: 1n << 31n }))).toBe('Unsupported qcow2 feature(s): Unknown incompatible feature: 80000000');
    expect(parse(image({ incompatibleFeatures: 2n }))).toBe('qcow2: Image is corrupt; cannot be opened read/write');
    expect(parse(image({ incompatibleFeatures: 2n }), false)).toBe('ok');
    expect(parse(image({ incompatibleFeatures: 16n, clusterBits: 13, l1Size: 32, l1TableOffset: 3 * 8192, refcountTableOffset: 8192 }))).toBe('Unsupported subcluster size: 256');
    expect(parse(image({ refcountOrder: 7 }))).toBe('Reference count entry width too large; may not exceed 64 bits');
    expect(parse(image({ compressionType: 1 }))).toBe('qcow2: Compression type incompatible feature bit must be set');
    expect(parse(image({ incompatibleFeatures: 8n }))).toBe('qcow2: Compression type incompatible feature bit must not be set');
    expect(parse(image({ compressionType: 7, incompatibleFeatures: 8n }))).toBe('qcow2: unknown compression type: 7');
    expect(parse(image({ cryptMethod: 9 }))).toBe('Unsupported encryption method 9');
    expect(parse(image({ refcountTableClusters: 0 }))).toBe('Image does not contain a reference count table');
    expect(parse(image({ refcountTableClusters: 129 }))).toBe('Reference count table too large');
    expect(parse(image({ refcountTableOffset: CS + 8 }))).toBe('Reference count table offset invalid');
    expect(parse(image({ l1Size: 4 * 1024 * 1024 + 1 }))).toBe('Active L1 table too large');
    expect(parse(image({ l1TableOffset: 3 * CS + 512 }))).toBe('Active L1 table offset invalid');
    expect(parse(image({ l1TableOffset: 0 }))).toBe('Active L1 table overlaps the image header (offset 0)');
    expect(parse(image({ l1TableOffset: 9 * CS }))).toBe(`Active L1 table is not inside the image file (offset ${9 * CS}, 16 bytes, file size ${4 * CS})`);
    expect(parse(image({ nbSnapshots: 65537 }))).toBe('Snapshot table too large');
    expect(parse(image({ l1Size: 1 }))).toBe('L1 table is too small');
    expect(parse(image({ size: 2 ** 60 }))).toBe('Image is too big');
    expect(parse(poke(image({}, { backingFile: 'x'.repeat(1024) }), 16, 1024))).toBe('Backing file name too long');
  });

  it('arbitrary bytes, or a valid header with random fields, never throw (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 112, maxLength: 2048 }), fc.boolean(), fc.nat(1 << 24), (bytes, w, len) => {
        parseImageHeader(bytes, { writable: w, fileLength: len });
      }),
      { numRuns: 300 },
    );
    const good = image();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(CS - 1), fc.nat(255)), { maxLength: 12 }), fc.nat(1 << 30), (edits, len) => {
        const c = good.slice();
        for (const [at, v] of edits) c[at % 512] = v;
        const r = parseImageHeader(c, { writable: true, fileLength: len });
        if (E.isRight(r)) expect(r.right.header.clusterBits).toBeGreaterThanOrEqual(9);
      }),
      { numRuns: 500 },
    );
  });
});
