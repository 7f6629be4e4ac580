/**
 * zstd-compressed qcow2 clusters against the real tools (qemu-utils 7.2, zstd):
 * - clusters iopath writes compressed into a compression_type=zstd image (text, fills,
 *   zeroes, and noise that falls back to a plain cluster) pass `qemu-img check`, and
 *   `qemu-img convert -O raw` gives exactly iopath's own reading of the image;
 * - images `qemu-img convert -c -o compression_type=zstd` makes read back through iopath
 *   byte for byte;
 * - `iopath img convert -c -o compression_type=zstd` makes the image qemu-img makes from
 *   the same command: same output, same extents and compressed clusters, clean check, same
 *   content; byte for byte where the two zstd releases (Debian's 1.5.4 behind qemu-img,
 *   iopath's newer WebAssembly build) write the same frames, which is not every input;
 * - frames the zstd CLI writes (levels 1 to 19, with and without checksum and content
 *   size) decode as a cluster; a corrupted checksum is refused.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { capture } from '../cli/test-support.js';
import { runImg } from '../cli/img/index.js';
import { COMPRESSION_ZSTD } from '../host/storage/drivers/qcow2/format/header.js';
import { decompressCluster } from '../host/storage/drivers/qcow2/compress.js';
import { blockErrorMessage, createImage } from '../host/storage/index.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';
import { openQcow2, qemuRaw, readAll } from './support/qcow2-io.js';
import { runs } from './support/vm.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const zstdCli = peersAvailable('zstd');
const dir = mkdtempSync(join(tmpdir(), 'iopath-qcow2-zstd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const acct = () => ({ ns: 0 });
const BDRV_BLOCK_OFFSET_VALID = 0x04;
let seq = 0;
const fresh = (name: string): string => join(dir, `${seq++}-${name}`);

type Kind = 'text' | 'fill' | 'zero' | 'noise';
const kindArb = fc.constantFrom<Kind>('text', 'text', 'fill', 'zero', 'noise');

/** `len` bytes of one kind of content; `v` varies it. */
function content(kind: Kind, len: number, v: number): Uint8Array {
  if (kind === 'zero') return new Uint8Array(len);
  if (kind === 'fill') return new Uint8Array(len).fill(v | 1);
  if (kind === 'text') return new Uint8Array(len).map((_, i) => ((i * 7 + v) % 53 < 40 ? 0x61 + ((i >> 3) % 26) : 0x20 + ((i * v) % 90)));
  let x = v * 2654435761 + 1;
  return new Uint8Array(len).map(() => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
}




function expectClean(img: string): Record<string, unknown> {
  const out = JSON.parse(runPeer('qemu-img', ['check', '--output=json', img])) as Record<string, unknown>;
  expect({ errors: out['check-errors'] ?? 0, corruptions: out.corruptions ?? 0, leaks: out.leaks ?? 0 }).toEqual({ errors: 0, corruptions: 0, leaks: 0 });
  return out;
}

/** The clusters qemu-img map shows as data without a host offset: compressed ones. */
function compressedInMap(img: string, cs: number): number[] {
  const map = JSON.parse(runPeer('qemu-img', ['map', '--output=json', img])) as Array<{ start: number; length: number; data: boolean; offset?: number }>;
  const out: number[] = [];
  for (const e of map) if (e.data && e.offset === undefined) for (let c = Math.floor(e.start / cs); c * cs < e.start + e.length; c++) out.push(c);
  return out;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

/** A guest disk of up to 8 pieces of 64 KiB (or of one cluster, when smaller) and a short tail, each piece of one kind. */
const diskArb = fc.record({
  cs: fc.constantFrom(512, 4096, 65536, 2 << 20),
  kinds: fc.array(fc.tuple(kindArb, fc.nat(255)), { minLength: 2, maxLength: 8 }),
  tail: fc.constantFrom(0, 512, 1536),
});

function disk(cs: number, kinds: ReadonlyArray<readonly [Kind, number]>, tail: number): Uint8Array {
  const out = new Uint8Array(Math.min(cs, 65536) * kinds.length + tail);
  kinds.forEach(([k, v], i) => out.set(content(k, Math.min(cs, 65536), v), i * Math.min(cs, 65536)));
  if (tail) out.set(content('text', tail, 3), out.length - tail);
  return out;
}

describe.skipIf(!enabled)('qcow2 zstd: iopath writes, qemu-img reads', () => {
  it('compressed clusters (noise falls back to plain ones) pass qemu-img check and convert to the same raw disk (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(512, 4096, 65536, 2 << 20),
        fc.array(fc.tuple(fc.nat(9), kindArb, fc.nat(255)), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(10 * 512 - 1), fc.integer({ min: 1, max: 3000 })), { maxLength: 3 }),
        (cs, writes, plain) => {
          const size = 10 * cs + 512;
          const img = fresh('w.qcow2');
          const r = createImage('qcow2', img, size, { cluster_size: cs, compression_type: 'zstd' });
          if (E.isLeft(r)) throw new Error(blockErrorMessage(r.left));
          const { bs, graph } = openQcow2(img);
          const model = new Uint8Array(size);
          const done = new Set<number>();
          const kindOf = new Map<number, Kind>();
          for (const [c, kind, v] of [...writes, [10, 'text', 9] as const]) {
            if (done.has(c)) continue;
            done.add(c);
            kindOf.set(c, kind);
            const data = content(kind, Math.min(cs, size - c * cs), v + c);
            expect(bs.writeCompressed(c * cs, data, acct())).toBeNull();
            model.set(data, c * cs);
          }
          // Plain writes after them: partial clusters over compressed ones are copied on write.
          for (const [off, len0] of plain) {
            const data = content('fill', Math.min(len0, size - off), off);
            expect(bs.pwritev(off, data, {}, acct())).toBeNull();
            model.set(data, off);
          }
          expect(same(readAll(bs), model)).toBe(true);
          // Which clusters iopath holds compressed: data without a host offset.
          const ours = [...done].filter((c) => (bs.blockStatus(c * cs, Math.min(cs, size - c * cs)).flags & BDRV_BLOCK_OFFSET_VALID) === 0).sort((a, b) => a - b);
          const rewritten = (c: number) => plain.some(([off, len]) => off < (c + 1) * cs && off + len > c * cs);
          if (cs >= 4096) expect(ours).toEqual([...done].filter((c) => kindOf.get(c) !== 'noise' && !rewritten(c)).sort((a, b) => a - b));
          expect(bs.writeCompressed(0, new Uint8Array(0), acct())).toBeNull();
          graph.close();
          const check = expectClean(img);
          expect(check['compressed-clusters'] ?? 0).toBe(ours.length);
          expect(compressedInMap(img, cs)).toEqual(ours);
          expect(same(qemuRaw(img), model)).toBe(true);
          const info = JSON.parse(runPeer('qemu-img', ['info', '--output=json', img])) as { 'format-specific': { data: Record<string, unknown> } };
          expect(info['format-specific'].data['compression-type']).toBe('zstd');
        },
      ),
      { numRuns: runs(6) },
    );
  });
});

describe.skipIf(!enabled)('qcow2 zstd: qemu-img writes, iopath reads', () => {
  it('images qemu-img convert -c -o compression_type=zstd makes read back byte for byte (property)', () => {
    fc.assert(
      fc.property(diskArb, ({ cs, kinds, tail }) => {
        const src = fresh('src.raw');
        const data = disk(cs, kinds, tail);
        writeFileSync(src, data);
        const img = fresh('q.qcow2');
        runPeer('qemu-img', ['convert', '-c', '-O', 'qcow2', '-o', `compression_type=zstd,cluster_size=${cs}`, src, img]);
        const { bs, graph } = openQcow2(img);
        const ours = readAll(bs);
        graph.close();
        expect(same(ours, data)).toBe(true);
      }),
      { numRuns: runs(6) },
    );
  });
});

/** Run `args` with qemu-img in `q` and with iopath img in `o`; both must succeed alike. */
function convertBoth(args: string[], q: string, o: string): void {
  const theirs = spawnSync('qemu-img', args, { cwd: q, encoding: 'utf8' });
  expect(theirs.status).toBe(0);
  const cwd = process.cwd();
  process.chdir(o);
  try {
    expect(capture(() => runImg(args))).toEqual({ code: 0, out: theirs.stdout, err: theirs.stderr });
  } finally {
    process.chdir(cwd);
  }
}

/** qemu-img map's extents without host offsets (those move with every compressed size). */
function mapShape(img: string): unknown[] {
  const map = JSON.parse(runPeer('qemu-img', ['map', '--output=json', img])) as Array<Record<string, unknown>>;
  return map.map(({ offset, ...e }) => ({ ...e, compressed: e.data === true && offset === undefined }));
}

function twinDirs(data: Uint8Array): [string, string] {
  const base = fresh('cmp');
  const dirs: [string, string] = [join(base, 'q'), join(base, 'o')];
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'f.raw'), data);
  }
  return dirs;
}

describe.skipIf(!enabled)('qcow2 zstd: iopath img convert -c = qemu-img convert -c', () => {
  it('the same command makes the same image: output, check, extents, compressed clusters, content (property)', () => {
    fc.assert(
      fc.property(diskArb, ({ cs, kinds, tail }) => {
        const data = disk(cs, kinds, tail);
        const [q, o] = twinDirs(data);
        convertBoth(['convert', '-c', '-O', 'qcow2', '-o', `compression_type=zstd,cluster_size=${cs}`, 'f.raw', 'out.qcow2'], q, o);
        const [theirs, ours] = [join(q, 'out.qcow2'), join(o, 'out.qcow2')];
        expect(expectClean(ours)['compressed-clusters']).toBe(expectClean(theirs)['compressed-clusters']);
        expect(mapShape(ours)).toEqual(mapShape(theirs));
        expect(same(qemuRaw(ours), data)).toBe(true);
      }),
      { numRuns: runs(5) },
    );
  });

  it('byte for byte where both zstd libraries agree on level 3 (this disk: mostly text, a run of zeroes, some noise)', () => {
    // The compressed bytes depend on the zstd release (Debian 12 links QEMU against 1.5.4;
    // iopath's is newer) and differ for some inputs; for this one they agree, so the whole
    // image, metadata and packing included, must be the same file.
    const data = new Uint8Array(1310720).map((_, i) => (i * 7 + (i >> 12)) & 0xff);
    data.fill(0, 400000, 900000);
    data.set(content('noise', 100000, 77), 1000000);
    for (const cs of [4096, 65536]) {
      const [q, o] = twinDirs(data);
      convertBoth(['convert', '-c', '-O', 'qcow2', '-o', `compression_type=zstd,cluster_size=${cs}`, 'f.raw', 'out.qcow2'], q, o);
      expect([cs, same(readFileSync(join(o, 'out.qcow2')), readFileSync(join(q, 'out.qcow2')))]).toEqual([cs, true]);
    }
  });
});

describe.skipIf(!zstdCli)('qcow2 zstd: frames the zstd CLI writes', () => {
  const cluster = content('text', 65536, 5);
  const cli = (args: string[], input: Uint8Array): Uint8Array => {
    const r = spawnSync('zstd', [...args, '-q', '-c'], { input });
    if (r.status !== 0) throw new Error(`zstd ${args.join(' ')}: ${r.stderr}`);
    return new Uint8Array(r.stdout);
  };

  it('decode as one cluster whatever the level, checksum and content-size flags', () => {
    for (const args of [['-1'], ['-3'], ['-19'], ['-3', '--no-check'], ['-3', '--no-content-size'], ['-9', '--no-content-size', '--no-check']]) {
      const frame = cli(args, cluster);
      const stored = new Uint8Array(frame.length + 200);
      stored.set(frame);
      expect([args.join(' '), decompressCluster(COMPRESSION_ZSTD, stored, 65536) !== undefined]).toEqual([args.join(' '), true]);
      expect(same(decompressCluster(COMPRESSION_ZSTD, stored, 65536)!, cluster)).toBe(true);
    }
  });

  it('refuses a frame whose content checksum does not match', () => {
    const frame = cli(['-3', '--check'], cluster);
    expect(decompressCluster(COMPRESSION_ZSTD, frame, 65536)).toBeDefined();
    frame[frame.length - 1] ^= 0x40;
    expect(decompressCluster(COMPRESSION_ZSTD, frame, 65536)).toBeUndefined();
  });
});
