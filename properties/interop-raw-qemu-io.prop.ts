/**
 * Interop with the real qemu-img / qemu-io on raw images, through the whole guest path:
 * data qemu-io writes, the guest reads back byte for byte; data the guest writes (and
 * flushes), qemu-io verifies with `read -P`, and `qemu-img compare` finds the image
 * identical to the model of what was written.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../vm/cmdline/index.js';
import { startMachine } from '../vm/machine.js';
import { runJobs } from '../vm/run-jobs.js';
import type { JobIo } from '../workload/block-job.js';
import { DEFAULT_JOB } from '../workload/index.js';
import { peersAvailable, runPeer } from './peers/debian-peers.js';

const enabled = peersAvailable('qemu-img', 'qemu-io');
const dir = mkdtempSync(join(tmpdir(), 'iopath-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SIZE = 4 << 20;

function boot(image: string, seed: number) {
  const spec = parseQemuArgs(['-m', '256M', '-drive', `file=${image},format=raw,if=none,id=d0,cache=none`, '-device', 'virtio-blk-pci,drive=d0']);
  if (E.isLeft(spec)) throw new Error(JSON.stringify(spec.left));
  const m = startMachine(spec.right, { seed });
  if (E.isLeft(m)) throw new Error(JSON.stringify(m.left));
  return m.right;
}

describe.skipIf(!enabled)('raw images against qemu-io', () => {
  it('the guest reads what qemu-io wrote', () => {
    const img = join(dir, 'read.img');
    runPeer('qemu-img', ['create', '-f', 'raw', img, String(SIZE)]);
    runPeer('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 4096 8192', '-c', 'write -P 0x5c 1048064 1024', img]);
    const m = boot(img, 1);
    const seen = new Map<number, Uint8Array>();
    const ios: JobIo[] = [
      { op: 'read', offset: 4096, bytes: 8192 },
      { op: 'read', offset: 1048064, bytes: 1024 },
      { op: 'read', offset: 0, bytes: 4096 },
    ];
    const r = runJobs(m, [{ ...DEFAULT_JOB, iodepth: 2 }], {
      ios: () => ios[Symbol.iterator](),
      hooks: { completed: (io, status, buf) => status === 'ok' && seen.set(io.offset, m.mem.read(buf, io.bytes)) },
    });
    expect(E.isRight(r)).toBe(true);
    expect(seen.get(4096)!.every((b) => b === 0xab)).toBe(true);
    expect(seen.get(1048064)!.every((b) => b === 0x5c)).toBe(true);
    expect(seen.get(0)!.every((b) => b === 0)).toBe(true);
    m.host.drives.get('d0')!.graph.close();
  });

  it('qemu-io and qemu-img compare see exactly what the guest wrote and flushed (property)', () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ sector: fc.integer({ min: 0, max: SIZE / 512 - 128 }), sectors: fc.integer({ min: 1, max: 128 }), fill: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 8 }),
        (writes, iodepth) => {
          const img = join(dir, `w${run++}.img`);
          runPeer('qemu-img', ['create', '-f', 'raw', img, String(SIZE)]);
          const m = boot(img, run);
          // iodepth > 1 may reorder overlapping writes: the model applies them serially, so
          // issue each write at depth 1 when it overlaps another one.
          const overlaps = writes.some((a, i) => writes.some((b, j) => i !== j && a.sector < b.sector + b.sectors && b.sector < a.sector + a.sectors));
          const ios: JobIo[] = writes.map((w) => ({ op: 'write', offset: w.sector * 512, bytes: w.sectors * 512 }));
          ios.push({ op: 'flush', offset: 0, bytes: 0 });
          const fills = new Map(writes.map((w, i) => [ios[i], w.fill]));
          const r = runJobs(m, [{ ...DEFAULT_JOB, iodepth: overlaps ? 1 : iodepth, bs: 128 * 512 }], {
            ios: () => ios[Symbol.iterator](),
            hooks: { beforeWrite: (io, buf) => m.mem.fill(buf, io.bytes, fills.get(io)!) },
          });
          expect(E.isRight(r)).toBe(true);
          m.host.drives.get('d0')!.graph.close();
          const model = new Uint8Array(SIZE);
          for (const w of writes) model.fill(w.fill, w.sector * 512, (w.sector + w.sectors) * 512);
          const ref = join(dir, `ref${run}.img`);
          writeFileSync(ref, model);
          runPeer('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', img, ref]);
          const last = writes[writes.length - 1];
          runPeer('qemu-io', ['-f', 'raw', '-c', `read -P ${last.fill} ${last.sector * 512} ${last.sectors * 512}`, img]);
        },
      ),
      { numRuns: process.env.IOPATH_DEEP === '1' ? 60 : 8 },
    );
  });
});
