/**
 * `iopath img` against the real qemu-img 7.2 on raw images: the same command line, run
 * by both in twin directories holding the same files, gives the same stdout, stderr and
 * exit status, and leaves the same files behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { peersAvailable } from '../../properties/peers/debian-peers.js';
import { argLines, runTwins, type Run } from './twins.js';

const enabled = peersAvailable('qemu-img');
const root = mkdtempSync(join(tmpdir(), 'iopath-img-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Deterministic bytes (an LCG), so both directories get the same files. */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const FULL = bytes(1310720, 1);
const CHANGED = FULL.slice();
CHANGED[1234567] ^= 0xff;
const SPARSE = new Uint8Array(1 << 20);
SPARSE.set(bytes(3, 7), 700000);

/** The files every case starts from: data, a copy with one byte changed, a shorter one, sparse zero images, an odd size. */
function setup(dir: string): void {
  writeFileSync(join(dir, 'f.raw'), FULL);
  writeFileSync(join(dir, 'g.raw'), CHANGED);
  writeFileSync(join(dir, 's.raw'), FULL.subarray(0, 1 << 20));
  writeFileSync(join(dir, 'z.raw'), SPARSE);
  writeFileSync(join(dir, 'z2.raw'), new Uint8Array(3 << 19));
  writeFileSync(join(dir, 'odd.raw'), bytes(1000, 3));
}

let n = 0;
/** Run `args` with qemu-img and with iopath img, each in a fresh copy of the files. */
function both(args: string[]): { theirs: Run; ours: Run } {
  return runTwins(join(root, String(n++)), args, setup);
}

/** Same output, status and files. */
function same(args: string[]): Run {
  const { theirs, ours } = both(args);
  expect({ out: ours.out, err: ours.err, code: ours.code }).toEqual({ out: theirs.out, err: theirs.err, code: theirs.code });
  expect(Object.keys(ours.files)).toEqual(Object.keys(theirs.files));
  for (const f of Object.keys(theirs.files)) expect(ours.files[f].equals(theirs.files[f]), `${f} differs after: ${args.join(' ')}`).toBe(true);
  return ours;
}

const lines = argLines;

describe.skipIf(!enabled)('iopath img = qemu-img 7.2 on raw images', () => {
  it('info, map and check: same JSON and human output', () => {
    for (const a of lines([
      'info f.raw', 'info --output=json f.raw', 'info --backing-chain --output=json odd.raw', 'info odd.raw', 'info -f raw null-co://',
      'map f.raw', 'map --output=json f.raw', 'map --output=json odd.raw', 'map --output=json null-co://', 'map odd.raw',
      'check f.raw', 'check --output=json f.raw', 'check -r leaks f.raw', 'check -r all -f raw f.raw',
    ])) same(a);
  });

  it('convert: byte-identical output, sources concatenated, -S, -n', () => {
    for (const a of lines([
      'convert f.raw out.raw', 'convert -O raw f.raw odd.raw z.raw out.raw', 'convert -O raw -S 0 z.raw out.raw', 'convert -S 16M -O raw z.raw s.raw out.raw',
      'convert -n -O raw s.raw z2.raw', 'convert -n f.raw s.raw', 'convert -c -O raw f.raw out.raw', 'convert -O raw -S 1000 f.raw out.raw',
    ])) same(a);
  });

  it('compare: identical, a mismatch at its sector, different sizes, strict mode, open errors', () => {
    const r = same(['compare', 'f.raw', 'g.raw']);
    expect(r.out).toBe('Content mismatch at offset 1234432!\n');
    for (const a of lines([
      'compare f.raw f.raw', 'compare f.raw s.raw', 'compare -s f.raw s.raw', 'compare z.raw z2.raw', 'compare z2.raw z.raw', 'compare s.raw z2.raw',
      'compare -q f.raw g.raw', 'compare odd.raw z.raw', 'compare f.raw nope.raw', 'compare -F foo f.raw g.raw',
    ])) same(a);
  });

  it('resize grows and shrinks as qemu-img does, and refuses a shrink without --shrink', () => {
    for (const a of lines(['resize f.raw 4M', 'resize -f raw f.raw +1M', 'resize -f raw f.raw -1M', 'resize --shrink -f raw f.raw 512K', 'resize -f raw odd.raw +10', 'resize -f raw f.raw 0', 'resize -f raw f.raw 1x'])) same(a);
    expect(same(['resize', '--shrink', '-f', 'raw', 'f.raw', '--', '-1M']).files['f.raw'].length).toBe(FULL.length - (1 << 20));
  });

  it('create makes the same image and says the same', () => {
    for (const a of lines(['create -f raw new.raw 1.5k', 'create new.raw 0', 'create -q -f raw new.raw 1M', 'create -f raw -o size=2M new.raw'])) {
      const { theirs, ours } = both(a);
      expect([ours.out, ours.err, ours.code]).toEqual([theirs.out, theirs.err, theirs.code]);
      // qemu-img allocates the first block of a new raw file; the content is the same.
      expect(ours.files['new.raw'].equals(theirs.files['new.raw'])).toBe(true);
    }
  });

  it('snapshot, commit and rebase fail on raw with qemu-img\'s messages', () => {
    for (const a of lines([
      'snapshot -l f.raw', 'snapshot -c s1 f.raw', 'snapshot -a s1 f.raw', 'snapshot -d s1 f.raw', 'snapshot f.raw',
      'commit f.raw', 'commit -f raw -b x f.raw', 'rebase -b nope f.raw', 'rebase -u -b x f.raw', 'rebase -b s.raw -F raw -f raw f.raw', 'rebase -F foo -b x -f raw f.raw',
    ])) same(a);
  });

  it('bad command lines: the same message and exit status', () => {
    for (const a of lines([
      '', 'foo', 'info', 'info f.raw g.raw', 'info -Z f.raw', 'info -qZ f.raw', 'info --o=json f.raw', 'info --output=xml f.raw', 'info --output',
      'info nope.raw', 'info -f foo f.raw', 'info foo:bar', 'check -r foo f.raw', 'map f.raw -f', 'create -f raw new.raw', 'create -f raw new.raw 1x',
      'create -f foo new.raw 1M', 'create -f raw -o foo=1 new.raw 1M', 'create -f raw -b f.raw new.raw', 'create -f raw new.raw 1M 2M', 'create -f raw new.raw 9E',
      'convert', 'convert f.raw', 'convert -O foo f.raw out.raw', 'convert -S x f.raw out.raw', 'convert -n -o preallocation=full f.raw s.raw',
      'compare f.raw', 'resize f.raw', 'resize nope.raw 1M', 'snapshot -l -c x f.raw', 'rebase f.raw',
    ])) same(a);
  });
});
