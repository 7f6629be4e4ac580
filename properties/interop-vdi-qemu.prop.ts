/**
 * Interop with the real qemu-img / qemu-io on VDI images (dynamic and static=on):
 * - images qemu-img creates and qemu-io fills at unaligned offsets read back through
 *   iopath byte for byte as `qemu-img convert -O raw` exports them;
 * - images iopath creates and writes pass `qemu-img check`, and `qemu-img compare` finds
 *   them identical to a raw file of the same writes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { blockErrorMessage } from '../host/storage/errors.js';
import { createImage, openBlockGraph } from '../host/storage/open.js';
import { newBlockEnv } from '../host/storage/testing.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const dir = mkdtempSync(join(tmpdir(), 'iopath-vdi-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SIZE = 5 * (1 << 20) + 3 * 512;
let seq = 0;
const RUNS = process.env.IOPATH_DEEP === '1' ? 40 : 6;

/** The whole disk as iopath reads it (format probed). */
function readThroughIopath(image: string): Uint8Array {
  const d = openBlockGraph(newBlockEnv(), { drive: { file: image, readonly: true } });
  if (E.isLeft(d)) throw new Error(blockErrorMessage(d.left));
  const root = d.right.blk.root;
  expect(root.drv.formatName).toBe('vdi');
  const buf = new Uint8Array(root.getLength());
  expect(root.preadv(0, buf, { ns: 0 })).toBeNull();
  d.right.graph.close();
  return buf;
}

const writeArb = fc.record({ off: fc.integer({ min: 0, max: SIZE - 1 }), len: fc.integer({ min: 1, max: 1_500_000 }), fill: fc.integer({ min: 1, max: 255 }) });

describe.skipIf(!enabled)('vdi images against qemu-img and qemu-io', () => {
  it.each([['dynamic', []], ['static', ['-o', 'static=on']]] as const)('iopath reads a %s image qemu-io wrote as qemu-img exports it (property)', (_kind, opts) => {
    fc.assert(
      fc.property(fc.array(writeArb, { minLength: 1, maxLength: 5 }), (writes) => {
        const img = join(dir, `q${seq++}.vdi`);
        runPeer('qemu-img', ['create', '-q', '-f', 'vdi', ...opts, img, String(SIZE)]);
        const cmds = writes.flatMap((w) => ['-c', `write -P ${w.fill} ${w.off} ${Math.min(w.len, SIZE - w.off)}`]);
        runPeer('qemu-io', ['-f', 'vdi', ...cmds, img]);
        const raw = `${img}.raw`;
        runPeer('qemu-img', ['convert', '-f', 'vdi', '-O', 'raw', img, raw]);
        expect(Buffer.from(readThroughIopath(img)).equals(readFileSync(raw))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([['dynamic', false], ['static', true]] as const)('a %s image iopath writes passes qemu-img check and compares equal to raw (property)', (_kind, isStatic) => {
    fc.assert(
      fc.property(fc.array(writeArb, { minLength: 1, maxLength: 6 }), (writes) => {
        const img = join(dir, `w${seq++}.vdi`);
        const made = createImage('vdi', img, SIZE, { static: isStatic });
        if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
        const d = openBlockGraph(newBlockEnv(), { drive: { file: img, format: 'vdi' } });
        if (E.isLeft(d)) throw new Error(blockErrorMessage(d.left));
        const root = d.right.blk.root;
        const model = new Uint8Array(SIZE);
        for (const w of writes) {
          const data = new Uint8Array(Math.min(w.len, SIZE - w.off)).fill(w.fill);
          expect(root.pwritev(w.off, data, {}, { ns: 0 })).toBeNull();
          model.set(data, w.off);
        }
        d.right.graph.close();
        runPeer('qemu-img', ['check', '-f', 'vdi', img]);
        const ref = `${img}.ref`;
        writeFileSync(ref, model);
        runPeer('qemu-img', ['compare', '-f', 'vdi', '-F', 'raw', img, ref]);
        const last = writes[writes.length - 1];
        runPeer('qemu-io', ['-f', 'vdi', '-c', `read -P ${last.fill} ${last.off} ${Math.min(last.len, SIZE - last.off)}`, img]);
      }),
      { numRuns: RUNS },
    );
  });

  it('qemu-img info agrees on size and cluster size of an image iopath created', () => {
    const img = join(dir, 'info.vdi');
    const made = createImage('vdi', img, 3 << 20);
    if (E.isLeft(made)) throw new Error(blockErrorMessage(made.left));
    const info = JSON.parse(runPeer('qemu-img', ['info', '--output=json', img])) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'vdi', 'virtual-size': 3 << 20, 'cluster-size': 1 << 20 });
  });
});
