/**
 * `iopath img` against the real qemu-img 7.2 on qcow2 images, by the method of
 * interop.test.ts: the same command line, run by both in twin directories that start
 * with the same files (made once by qemu-img and qemu-io, then copied byte for byte into
 * each), gives the same stdout, stderr and exit status, and leaves the same files.
 *
 * Masked, where a command writes the time: the date fields (date_sec, date_nsec) of
 * every snapshot table entry in the resulting files, after `snapshot -c`.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { peersAvailable } from '../../properties/peers/debian-peers.js';
import { argLines, dirFiles, runTool, runTwins, type Run } from './twins.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const root = mkdtempSync(join(tmpdir(), 'iopath-img-qcow2-'));
const tpl = join(root, 'tpl');
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const run = (tool: string, args: string[]): void => runTool(tpl, tool, args);

/** Patch `bytes` into the template `file` at `offset`. */
function patch(file: string, offset: number, bytes: number[]): void {
  const b = readFileSync(join(tpl, file));
  b.set(bytes, offset);
  writeFileSync(join(tpl, file), b);
}

const u64 = (b: Buffer, at: number): number => Number(b.readBigUInt64BE(at));

/** The templates: made by qemu-img and qemu-io, a few then damaged by hand. */
function makeTemplates(): void {
  mkdirSync(tpl);
  const raw = new Uint8Array(1310720);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + (i >> 12)) & 0xff;
  raw.fill(0, 400000, 900000);
  writeFileSync(join(tpl, 'f.raw'), raw);
  const img = (name: string, size: string, ...cmds: string[]): void => {
    run('qemu-img', ['create', '-q', '-f', 'qcow2', name, size]);
    if (cmds.length) run('qemu-io', [...cmds.flatMap((c) => ['-c', c]), name]);
  };
  img('a.qcow2', '2M', 'write -P 0x11 0 100k', 'write -P 0x22 1M 64k', 'write -z 1536k 64k');
  copyFileSync(join(tpl, 'a.qcow2'), join(tpl, 'b.qcow2'));
  run('qemu-io', ['-c', 'write -P 0x23 1050000 1', 'b.qcow2']);
  img('base.qcow2', '2M', 'write -P 0x33 0 128k');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2']);
  run('qemu-io', ['-c', 'write -P 0x44 64k 32k', '-c', 'write -P 0x45 1M 4k', 'top.qcow2']);
  img('other.qcow2', '2M', 'write -P 0x55 0 64k');
  run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', 'missing.qcow2', '-F', 'qcow2', 'nob.qcow2', '2M']);
  run('qemu-img', ['convert', '-c', '-O', 'qcow2', 'f.raw', 'c.qcow2']);
  copyFileSync(join(tpl, 'a.qcow2'), join(tpl, 'snaps.qcow2'));
  run('qemu-img', ['snapshot', '-c', 's1', 'snaps.qcow2']);
  run('qemu-io', ['-c', 'write -P 0x66 0 64k', 'snaps.qcow2']);
  run('qemu-img', ['snapshot', '-c', 's2', 'snaps.qcow2']);
  run('qemu-img', ['resize', '-q', 'snaps.qcow2', '3M']);
  run('qemu-io', ['-c', 'write -P 0x67 2M 64k', 'snaps.qcow2']);
  run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', 'v2.qcow2', '1M']);
  run('qemu-img', ['snapshot', '-c', 's1', 'v2.qcow2']);

  // The refcount block of a.qcow2's copies (16-bit entries), from the header's refcount table.
  const a = readFileSync(join(tpl, 'a.qcow2'));
  const refblock = u64(a, u64(a, 48));
  const clusters = Math.ceil(a.length / 65536);
  // One more cluster at the end of the file, counted but used by nothing: a leak.
  writeFileSync(join(tpl, 'leak.qcow2'), Buffer.concat([a, Buffer.alloc(65536)]));
  patch('leak.qcow2', refblock + 2 * clusters, [0, 1]);
  // A data cluster (the last one written) with refcount 0: a corruption.
  copyFileSync(join(tpl, 'a.qcow2'), join(tpl, 'bad.qcow2'));
  patch('bad.qcow2', refblock + 2 * (clusters - 1), [0, 0]);
  copyFileSync(join(tpl, 'a.qcow2'), join(tpl, 'corrupt.qcow2'));
  patch('corrupt.qcow2', 79, [a[79] | 2]);
  // Entry 0 of the snapshot table claims 2000 bytes of extra data: QEMU refuses to open it.
  copyFileSync(join(tpl, 'snaps.qcow2'), join(tpl, 'badsnap.qcow2'));
  const s = readFileSync(join(tpl, 'snaps.qcow2'));
  patch('badsnap.qcow2', u64(s, 64) + 36, [0, 0, 0x07, 0xd0]);
}

/** Zero date_sec and date_nsec of every entry of a qcow2 file's snapshot table. */
function maskSnapshotDates(b: Buffer): Buffer {
  if (b.length < 72 || b.readUInt32BE(0) !== 0x514649fb) return b;
  const out = Buffer.from(b);
  let p = u64(b, 64);
  for (let i = 0; i < b.readUInt32BE(60) && p + 40 <= b.length; i++) {
    out.fill(0, p + 16, p + 24);
    p += 40 + b.readUInt32BE(p + 36) + b.readUInt16BE(p + 12) + b.readUInt16BE(p + 14);
    p = Math.ceil(p / 8) * 8;
  }
  return out;
}

let n = 0;
/** Run `args` with qemu-img and with iopath img, each in a fresh copy of the templates. */
function both(args: string[], maskDates = false): { theirs: Run; ours: Run } {
  // Copied by content, so both copies occupy the same host blocks (actual-size agrees).
  const fill = (d: string): void => {
    for (const f of readdirSync(tpl)) writeFileSync(join(d, f), readFileSync(join(tpl, f)));
  };
  return runTwins(join(root, String(n++)), args, fill, (d) => dirFiles(d, maskDates ? maskSnapshotDates : undefined));
}

/** Same output, status and files. */
function same(args: string[], maskDates = false): Run {
  const { theirs, ours } = both(args, maskDates);
  expect.soft({ args: args.join(' '), out: ours.out, err: ours.err, code: ours.code }).toEqual({ args: args.join(' '), out: theirs.out, err: theirs.err, code: theirs.code });
  expect(Object.keys(ours.files)).toEqual(Object.keys(theirs.files));
  for (const f of Object.keys(theirs.files)) expect.soft(ours.files[f].equals(theirs.files[f]), `${f} differs after: ${args.join(' ')}`).toBe(true);
  return ours;
}

const lines = argLines;

describe.skipIf(!enabled)('iopath img = qemu-img 7.2 on qcow2 images', () => {
  beforeAll(makeTemplates);

  it('info: the same JSON and human output, snapshots, backing chains, a missing backing file', () => {
    for (const a of lines([
      'info a.qcow2', 'info --output=json a.qcow2', 'info --output=json snaps.qcow2', 'info snaps.qcow2', 'info --output=json c.qcow2',
      'info --backing-chain --output=json top.qcow2', 'info --backing-chain top.qcow2', 'info nob.qcow2', 'info --output=json nob.qcow2',
      'info corrupt.qcow2', 'info --output=json v2.qcow2', 'info badsnap.qcow2',
    ])) same(a);
  });

  it('map: the same extents, through backing files and compressed clusters', () => {
    for (const a of lines(['map --output=json a.qcow2', 'map a.qcow2', 'map --output=json top.qcow2', 'map top.qcow2', 'map --output=json c.qcow2', 'map --output=json snaps.qcow2', 'map nob.qcow2'])) same(a);
  });

  it('check: clean, leaky and corrupt images, -r leaks and -r all, exit codes 0/2/3', () => {
    const codes = new Map<string, number>();
    for (const a of lines([
      'check a.qcow2', 'check --output=json a.qcow2', 'check snaps.qcow2', 'check --output=json c.qcow2', 'check top.qcow2',
      'check leak.qcow2', 'check --output=json leak.qcow2', 'check -r leaks leak.qcow2', 'check -r all --output=json leak.qcow2',
      'check bad.qcow2', 'check --output=json bad.qcow2', 'check -r leaks bad.qcow2', 'check -r all bad.qcow2', 'check -r all --output=json bad.qcow2',
      'check corrupt.qcow2', 'check -r all corrupt.qcow2', 'check badsnap.qcow2', 'check -r all badsnap.qcow2',
    ])) codes.set(a.join(' '), same(a).code);
    expect([codes.get('check a.qcow2'), codes.get('check leak.qcow2'), codes.get('check bad.qcow2')]).toEqual([0, 3, 2]);
  });

  it('create: the same "Formatting" line and the same bytes', () => {
    for (const a of lines([
      'create -f qcow2 new.qcow2 1M', 'create -f qcow2 -o cluster_size=4k,lazy_refcounts=on new.qcow2 3M', 'create -f qcow2 -o compat=0.10 new.qcow2 1M',
      'create -f qcow2 -o extended_l2=on,cluster_size=128k new.qcow2 10M', 'create -f qcow2 -o refcount_bits=1 new.qcow2 1G', 'create -f qcow2 -b a.qcow2 -F qcow2 new.qcow2',
      'create -f qcow2 -o preallocation=metadata new.qcow2 1M', 'create -q -f qcow2 -o compression_type=zstd new.qcow2 64M',
    ])) same(a);
  });

  it('convert: to qcow2 (plain and compressed) and back to raw, from snapshots with -l', () => {
    for (const a of lines([
      'convert -O qcow2 f.raw out.qcow2', 'convert -c -O qcow2 f.raw out.qcow2', 'convert -O raw a.qcow2 out.raw', 'convert -O qcow2 a.qcow2 out.qcow2',
      'convert -O qcow2 top.qcow2 out.qcow2', 'convert -O raw c.qcow2 out.raw', 'convert -O qcow2 -o cluster_size=4k a.qcow2 out.qcow2',
      'convert -l snapshot.name=s1 -O raw snaps.qcow2 out.raw', 'convert -l s1 -O raw snaps.qcow2 out.raw', 'convert -l 2 -O qcow2 snaps.qcow2 out.qcow2',
      'convert -l snapshot.id=1 -O raw snaps.qcow2 out.raw', 'convert -l nope -O raw snaps.qcow2 out.raw', 'convert -l s1 -O raw snaps.qcow2 a.qcow2 out.raw',
      'convert -l snapshot.name=s1 -O raw snaps.qcow2 a.qcow2 out.raw', 'convert -l s1 -O raw f.raw out.raw', 'convert -l snapshot.foo=1 -O raw snaps.qcow2 out.raw',
      'convert -l snapshot.id=1,snapshot.name=s2 -O raw snaps.qcow2 out.raw', 'convert -l snapshot.id=2,snapshot.name=s2 -n -O raw snaps.qcow2 f.raw',
    ])) same(a);
  });

  it('compare: qcow2 against qcow2 and raw, through a backing file', () => {
    for (const a of lines(['compare a.qcow2 b.qcow2', 'compare a.qcow2 a.qcow2', 'compare a.qcow2 f.raw', 'compare top.qcow2 base.qcow2', 'compare -s top.qcow2 top.qcow2'])) same(a);
  });

  it('snapshot: -c, -l, -a and -d (by name only), dates masked', () => {
    for (const a of lines([
      'snapshot -l snaps.qcow2', 'snapshot -a s1 snaps.qcow2', 'snapshot -a 1 snaps.qcow2', 'snapshot -d s1 snaps.qcow2', 'snapshot -d 1 snaps.qcow2',
      'snapshot -d nope snaps.qcow2', 'snapshot -a nope snaps.qcow2', 'snapshot -l v2.qcow2',
    ])) same(a);
    for (const a of lines(['snapshot -c s3 a.qcow2', 'snapshot -c s1 snaps.qcow2', 'snapshot -c x v2.qcow2'])) same(a, true);
  });

  it('commit, rebase (safe and -u) and resize', () => {
    for (const a of lines([
      'commit top.qcow2', 'commit -d top.qcow2', 'commit -b base.qcow2 top.qcow2',
      'rebase -b other.qcow2 -F qcow2 top.qcow2', 'rebase -u -b other.qcow2 -F qcow2 top.qcow2', 'rebase -u -b gone.qcow2 -F qcow2 nob.qcow2',
      'resize a.qcow2 4M', 'resize a.qcow2 +1M', 'resize --shrink a.qcow2 1M', 'resize a.qcow2 1M', 'resize snaps.qcow2 4M', 'resize --shrink snaps.qcow2 2M',
      'resize v2.qcow2 4M', 'resize -f qcow2 --shrink a.qcow2 1536K',
    ])) same(a);
    same(['rebase', '-b', '', 'top.qcow2']);
  });
});
