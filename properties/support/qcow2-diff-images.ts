/**
 * The images of the qcow2-vs-raw differential property (qcow2-differential.prop.ts): a
 * qcow2 configuration drawn by fast-check, the files it stands for — an optional backing
 * chain (qcow2 → raw, or qcow2 → qcow2 → raw) whose base holds random data, the qcow2
 * image on top, and a raw image holding the same guest-visible bytes — and the pair of
 * nodes the commands drive, each in its own graph over host files (the `file` driver).
 *
 * The raw side's first content is computed from what was put into the chain (the base's
 * bytes, then the middle layer's writes), never read back from the qcow2 side.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { expect } from 'vitest';
import { blockErrorMessage, BlockGraph, createImage, type BlockDriverState, type BlockdevSpec, type BlockError } from '../../host/storage/index.js';
import { newBlockEnv } from '../../host/storage/testing.js';
import { within } from './driver-commands.js';
import { fillPattern, firstDiff } from './vm.js';

export type Chain = 'none' | 'qcow2 → raw' | 'qcow2 → qcow2 → raw';

/** One qcow2 configuration: the top image's create options and what lies under it. */
export interface DiffConfig {
  readonly clusterSize: number;
  readonly refcountBits: number;
  readonly compat: '0.10' | '1.1';
  readonly extendedL2: boolean;
  readonly lazyRefcounts: boolean;
  /** Guest size in bytes (a multiple of 512, not always of the cluster size). */
  readonly size: number;
  readonly chain: Chain;
  /** Size of the backing chain's images (≤ size: the guest reads zeroes past it). */
  readonly backingSize: number;
  /** Cluster size of the middle qcow2 layer. */
  readonly midClusterSize: number;
  /** Random-data ranges of the base (a, b, seed: placed by `within`); the rest is a hole. */
  readonly baseFills: ReadonlyArray<readonly [number, number, number]>;
  /** Writes (seed) or write-zeroes (zero) into the middle layer before the top is made. */
  readonly midWrites: ReadonlyArray<readonly [number, number, number, boolean]>;
}

export const CLUSTER_SIZES = [512, 4096, 65536, 2 << 20] as const;
/** Guest clusters at most, per cluster size: small disks, so 2 MiB clusters stay cheap. */
const MAX_CLUSTERS: Record<number, number> = { 512: 640, 4096: 160, 65536: 20, [2 << 20]: 2 };

const n = fc.nat();

/** Configurations as QEMU accepts them: v2 has 16-bit refcounts, no extended L2, no lazy refcounts; extended L2 needs clusters of 16 KiB or more. */
export const diffConfigArb: fc.Arbitrary<DiffConfig> = fc
  .record({
    clusterSize: fc.constantFrom(...CLUSTER_SIZES),
    refcountBits: fc.constantFrom(1, 2, 4, 8, 16, 32, 64),
    // v2 images take 16-bit refcounts only: draw them less often, so the widths get runs.
    compat: fc.constantFrom<DiffConfig['compat']>('1.1', '1.1', '1.1', '0.10'),
    extendedL2: fc.boolean(),
    lazyRefcounts: fc.boolean(),
    clusters: n,
    tail: fc.option(n, { freq: 2 }),
    chain: fc.constantFrom<Chain>('none', 'qcow2 → raw', 'qcow2 → qcow2 → raw'),
    shorter: fc.option(n, { freq: 2 }),
    midClusterSize: fc.constantFrom(512, 4096, 65536),
    baseFills: fc.array(fc.tuple(n, n, fc.nat(255)), { minLength: 1, maxLength: 4 }),
    midWrites: fc.array(fc.tuple(n, n, fc.nat(255), fc.boolean()), { maxLength: 3 }),
  })
  .map((d): DiffConfig => {
    const cs = d.clusterSize;
    const v2 = d.compat === '0.10';
    const size = (1 + (d.clusters % MAX_CLUSTERS[cs])) * cs + (d.tail === null ? 0 : (d.tail % (cs / 512)) * 512);
    const backingSize = d.chain === 'none' ? 0 : d.shorter === null ? size : size - (d.shorter % (size / 512)) * 512;
    return {
      clusterSize: cs,
      refcountBits: v2 ? 16 : d.refcountBits,
      compat: d.compat,
      extendedL2: !v2 && d.extendedL2 && cs >= 16384,
      lazyRefcounts: !v2 && d.lazyRefcounts,
      size,
      chain: d.chain,
      backingSize,
      midClusterSize: d.midClusterSize,
      baseFills: d.baseFills,
      midWrites: d.chain === 'qcow2 → qcow2 → raw' ? d.midWrites : [],
    };
  });

const acct = () => ({ ns: 0 });

function must<T>(r: E.Either<BlockError, T>, what: string): T {
  if (E.isLeft(r)) throw new Error(`${what}: ${blockErrorMessage(r.left)}`);
  return r.right;
}

/** Open `spec` in a new graph (discard=unmap, so discards and may-unmap reach the driver). */
export function openNode(spec: BlockdevSpec): { bs: BlockDriverState; graph: BlockGraph } {
  const graph = new BlockGraph(newBlockEnv());
  const bs = must(graph.blockdevAdd({ ...spec, discard: 'unmap' }), `open ${JSON.stringify(spec)}`);
  return { bs, graph };
}

const qcow2Spec = (filename: string, readOnly = false): BlockdevSpec => ({ driver: 'qcow2', 'read-only': readOnly, file: { driver: 'file', filename } });
const rawSpec = (filename: string): BlockdevSpec => ({ driver: 'raw', file: { driver: 'file', filename } });

/** The qcow2 image and the raw image side by side; `reopen` closes both and opens them again from their files. */
export class ImagePair {
  qcow2!: BlockDriverState;
  raw!: BlockDriverState;
  private graphs: BlockGraph[] = [];

  constructor(readonly top: string, readonly rawFile: string) {
    this.open();
  }

  private open(): void {
    const q = openNode(qcow2Spec(this.top));
    const r = openNode(rawSpec(this.rawFile));
    this.qcow2 = q.bs;
    this.raw = r.bs;
    this.graphs = [q.graph, r.graph];
  }

  close(): void {
    for (const g of this.graphs) g.close();
    this.graphs = [];
  }

  /** Close both, check the qcow2 file (clean, no leaks), open both again. */
  reopen(): void {
    this.close();
    expectCleanCheck(this.top, 'check after close');
    this.open();
  }
}

/** Make the chain, the top image and the raw image for `cfg` in `dir` (a fresh directory). */
export function makeImages(cfg: DiffConfig, dir: string): ImagePair {
  mkdirSync(dir, { recursive: true });
  const guest = new Uint8Array(cfg.size);
  let backing: { file: string; fmt: string } | undefined;
  if (cfg.chain !== 'none') {
    const base = join(dir, 'base.raw');
    for (const [a, b, seed] of cfg.baseFills) {
      const [off, len] = within(cfg.backingSize, a, b);
      fillPattern(guest.subarray(off, off + len), seed);
    }
    writeFileSync(base, guest.subarray(0, cfg.backingSize));
    backing = { file: base, fmt: 'raw' };
  }
  if (cfg.chain === 'qcow2 → qcow2 → raw') {
    const mid = join(dir, 'mid.qcow2');
    must(createImage('qcow2', mid, cfg.backingSize, { cluster_size: cfg.midClusterSize, backing_file: 'base.raw', backing_fmt: 'raw' }), `create ${mid}`);
    const { bs, graph } = openNode(qcow2Spec(mid));
    for (const [a, b, seed, zero] of cfg.midWrites) {
      const [off, len] = within(cfg.backingSize, a, b);
      const part = guest.subarray(off, off + len);
      const err = zero ? bs.writeZeroes(off, len, {}, acct()) : bs.pwritev(off, fillPattern(part, seed), {}, acct());
      if (zero) part.fill(0);
      expect(err, `middle layer: ${zero ? 'write-zeroes' : 'write'} ${off}+${len}`).toBeNull();
    }
    graph.close();
    backing = { file: mid, fmt: 'qcow2' };
  }
  const top = join(dir, 'top.qcow2');
  const opts: Record<string, unknown> = {
    cluster_size: cfg.clusterSize,
    compat: cfg.compat,
    refcount_bits: cfg.refcountBits,
    extended_l2: cfg.extendedL2,
    lazy_refcounts: cfg.lazyRefcounts,
  };
  // Backing names as qemu-img records them: relative to the image's directory.
  if (backing) Object.assign(opts, { backing_file: basename(backing.file), backing_fmt: backing.fmt });
  must(createImage('qcow2', top, cfg.size, opts), `create ${top}`);
  const rawFile = join(dir, 'guest.raw');
  writeFileSync(rawFile, guest);
  return new ImagePair(top, rawFile);
}

/** The whole of a node. */
export function readAll(bs: BlockDriverState): Uint8Array {
  const buf = new Uint8Array(bs.getLength());
  expect(bs.preadv(0, buf, acct()), 'read the whole node').toBeNull();
  return buf;
}

/** Both sides read the same bytes at [off, off + len). */
export function expectSame(pair: ImagePair, off: number, len: number, what: string): void {
  const q = new Uint8Array(len);
  const r = new Uint8Array(len);
  expect(pair.qcow2.preadv(off, q, acct()), `${what}: qcow2 read ${off}+${len}`).toBeNull();
  expect(pair.raw.preadv(off, r, acct()), `${what}: raw read ${off}+${len}`).toBeNull();
  const at = firstDiff(q, r);
  expect(at < 0 ? -1 : off + at, `${what}: first guest byte where qcow2 and raw differ (reading ${off}+${len})`).toBe(-1);
}

/** iopath's own check of the closed image `file` (read-only): no corruption, no leak, no error. */
export function expectCleanCheck(file: string, what: string): void {
  const { bs, graph } = openNode(qcow2Spec(file, true));
  try {
    const r = must(bs.drv.check!(bs.opaque, { leaks: false, errors: false }, acct()), `${what}: check ${file}`);
    expect({ corruptions: r.corruptions, leaks: r.leaks, checkErrors: r.checkErrors, failed: r.failed, messages: r.messages }, what).toEqual({
      corruptions: 0,
      leaks: 0,
      checkErrors: 0,
      failed: undefined,
      messages: [],
    });
  } finally {
    graph.close();
  }
}

/** Read snapshot `name` of the closed image `file` (read-only, bdrv_snapshot_load_tmp). */
export function readSnapshot(file: string, name: string): Uint8Array {
  const { bs, graph } = openNode(qcow2Spec(file, true));
  try {
    expect(bs.drv.snapshots!.loadTmp(bs.opaque, name), `load snapshot ${name}`).toBeNull();
    return readAll(bs);
  } finally {
    graph.close();
  }
}

/** The snapshot names of the closed image `file`, in table order. */
export function snapshotNames(file: string): string[] {
  const { bs, graph } = openNode(qcow2Spec(file, true));
  try {
    return bs.drv.snapshots!.list(bs.opaque).map((s) => s.name);
  } finally {
    graph.close();
  }
}
