/**
 * `iopath img check` and `img info` against the real qemu-img 7.2 on qcow2 images with
 * persistent bitmaps, by the method of interop-qcow2.test.ts: the same command line, run by
 * both in twin directories that start with the same files, gives the same stdout, stderr
 * and exit status (and, where asked, leaves the same files).
 *
 * Covered: check (plain, --output=json, -r), info (human and JSON), resize.
 *
 * The templates: the image of issue 4 (bitmaps added by qemu-img between qemu-io writes), one
 * with a disabled and a merged bitmap, and copies of the first damaged by hand in each field
 * QEMU checks (directory, entries, tables, the autoclear bit).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { peersAvailable } from '../../properties/peers/debian-peers.js';
import { argLines, runTool, runTwins, type Run } from './twins.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const root = mkdtempSync(join(tmpdir(), 'iopath-img-bitmaps-'));
const tpl = join(root, 'tpl');
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const run = (tool: string, args: string[]): void => runTool(tpl, tool, args);

/** Where a.qcow2 keeps its bitmaps: the extension's fields, the first entry, its table. */
function layout(b: Buffer): { ext: number; nb: number; dir: number; table: number } {
  let p = b.readUInt32BE(100);
  for (;;) {
    const magic = b.readUInt32BE(p);
    if (magic === 0) throw new Error('no bitmaps extension');
    if (magic === 0x23852875) {
      const dir = Number(b.readBigUInt64BE(p + 24));
      return { ext: p + 8, nb: b.readUInt32BE(p + 8), dir, table: Number(b.readBigUInt64BE(dir)) };
    }
    p += 8 + Math.ceil(b.readUInt32BE(p + 4) / 8) * 8;
  }
}

/** A copy of a.qcow2 as `name`, changed by `edit`. */
function damaged(name: string, edit: (b: Buffer, l: ReturnType<typeof layout>) => void): void {
  const b = readFileSync(join(tpl, 'a.qcow2'));
  edit(b, layout(b));
  writeFileSync(join(tpl, name), b);
}

function makeTemplates(): void {
  mkdirSync(tpl);
  run('qemu-img', ['create', '-q', '-f', 'qcow2', 'a.qcow2', '64M']);
  run('qemu-io', ['-c', 'write -P 0x11 0 1M', 'a.qcow2']);
  run('qemu-img', ['bitmap', '--add', 'a.qcow2', 'b0']);
  run('qemu-io', ['-c', 'write -P 0x22 4M 1M', 'a.qcow2']);
  run('qemu-img', ['bitmap', '--add', '--granularity', '512k', 'a.qcow2', 'b1']);
  run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4k', 'd.qcow2', '8M']);
  run('qemu-img', ['bitmap', '--add', '-g', '512', '--disable', 'd.qcow2', 'x']);
  run('qemu-img', ['bitmap', '--add', 'd.qcow2', 'y']);
  run('qemu-io', ['-c', 'write 0 4k', '-c', 'write 6M 100k', 'd.qcow2']);
  run('qemu-img', ['bitmap', '--merge', 'y', 'd.qcow2', 'x']);
  run('qemu-img', ['bitmap', '--add', 'd.qcow2', 'gone']);
  run('qemu-img', ['bitmap', '--remove', 'd.qcow2', 'gone']);
  const or32 = (b: Buffer, at: number, bits: number): number => b.writeUInt32BE((b.readUInt32BE(at) | bits) >>> 0, at);
  damaged('gran.qcow2', (b, l) => void (b[l.dir + 17] = 40));
  damaged('inuse.qcow2', (b, l) => or32(b, l.dir + 12, 1));
  damaged('tblres.qcow2', (b, l) => or32(b, l.table + 4, 2));
  damaged('inuse-tblres.qcow2', (b, l) => {
    or32(b, l.dir + 12, 1);
    or32(b, l.table + 4, 2);
  });
  damaged('nbmore.qcow2', (b, l) => b.writeUInt32BE(l.nb + 1, l.ext));
  damaged('nbless.qcow2', (b, l) => b.writeUInt32BE(l.nb - 1, l.ext));
  damaged('diroff.qcow2', (b, l) => b.writeBigUInt64BE(BigInt(l.dir + 0x10000000), l.ext + 16));
  damaged('tsize.qcow2', (b, l) => b.writeUInt32BE(2, l.dir + 8));
  damaged('extra.qcow2', (b, l) => b.writeUInt32BE(8, l.dir + 20));
  damaged('flag4.qcow2', (b, l) => or32(b, l.dir + 12, 4));
  damaged('tbloff.qcow2', (b, l) => b.writeBigUInt64BE(BigInt(l.table + 0x10000000), l.dir));
  damaged('dataoff.qcow2', (b, l) => b.writeBigUInt64BE(0x10000000n, l.table));
  damaged('dataunal.qcow2', (b, l) => b.writeBigUInt64BE(b.readBigUInt64BE(l.table) + 512n, l.table));
  damaged('dup.qcow2', (b, l) => b.write('b0', l.dir + 32 + 24, 'latin1'));
  damaged('noauto.qcow2', (b) => void (b[95] &= ~1));
  copyFileSync(join(tpl, 'd.qcow2'), join(tpl, 'd-noauto.qcow2'));
  const d = readFileSync(join(tpl, 'd-noauto.qcow2'));
  d[95] &= ~1;
  writeFileSync(join(tpl, 'd-noauto.qcow2'), d);
}

let n = 0;
/** Run `args` with qemu-img and with iopath img, each in a fresh copy of the image it names. */
function both(args: string[]): { theirs: Run; ours: Run } {
  const image = args.find((a) => a.endsWith('.qcow2'))!;
  return runTwins(join(root, String(n++)), args, (d) => writeFileSync(join(d, image), readFileSync(join(tpl, image))));
}

/**
 * Same stdout, stderr (QEMU's warning about bitmaps a program without bitmap support
 * left, which iopath's block layer has no channel for, taken out) and status; with
 * `sameFiles`, the same files after.
 */
function same(args: string[], sameFiles: boolean): Run {
  const { theirs, ours } = both(args);
  const warning = /^qemu-img: warning: a program lacking bitmap support modified this file, so all bitmaps are now considered inconsistent\nSome clusters may be leaked, run 'qemu-img check -r' on the image file to fix\./;
  const err = theirs.err.replace(warning, '');
  expect.soft({ args: args.join(' '), out: ours.err + ours.out, code: ours.code }).toEqual({ args: args.join(' '), out: err + theirs.out, code: theirs.code });
  if (sameFiles) for (const f of Object.keys(theirs.files)) expect.soft(ours.files[f].equals(theirs.files[f]), `${f} differs after: ${args.join(' ')}`).toBe(true);
  return ours;
}

const lines = argLines;
const IMAGES = ['a', 'd', 'gran', 'inuse', 'tblres', 'inuse-tblres', 'nbmore', 'nbless', 'diroff', 'tsize', 'extra', 'flag4', 'tbloff', 'dataoff', 'dataunal', 'dup', 'noauto'];

describe.skipIf(!enabled)('iopath img = qemu-img 7.2 on qcow2 images with persistent bitmaps', () => {
  beforeAll(makeTemplates);

  it('check: sound bitmaps are referenced, damaged ones reported as qemu-img reports them', () => {
    for (const i of IMAGES) same(['check', `${i}.qcow2`], true);
    for (const i of ['a', 'inuse-tblres', 'noauto', 'tbloff']) same(['check', '--output=json', `${i}.qcow2`], true);
  });

  it('info: the bitmaps listed with their flags, name and granularity, human and JSON', () => {
    for (const i of IMAGES) same(['info', `${i}.qcow2`], true);
    for (const i of ['a', 'd', 'inuse', 'noauto']) same(['info', '--output=json', `${i}.qcow2`], true);
  });

  it('resize: the bitmaps follow the disk (the same bytes); a bitmap in use refuses it', () => {
    for (const a of lines(['resize a.qcow2 128M', 'resize --shrink a.qcow2 4456960', 'resize d.qcow2 +1M', 'resize inuse.qcow2 128M', 'resize noauto.qcow2 128M'])) same(a, true);
  });

  it('check -r: inconsistent bitmaps are freed (the same bytes), consistent ones kept', () => {
    for (const a of lines(['check -r leaks noauto.qcow2', 'check -r all d-noauto.qcow2'])) same(a, true);
    for (const a of lines(['check -r leaks a.qcow2', 'check -r all d.qcow2'])) {
      same(a, false);
      const after = spawnSync('qemu-img', ['check', a.find((w) => w.endsWith('.qcow2'))!], { cwd: join(root, String(n - 1), 'o'), encoding: 'utf8' });
      expect([after.status, after.stdout.split('\n')[0]]).toEqual([0, 'No errors were found on the image.']);
    }
  });
});
